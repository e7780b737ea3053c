#!/usr/bin/env bash
# ONNX export checks: ONNX Runtime (npm onnxruntime-node, from tools/onnxruntime's lockfile; its
# install script, which downloads CUDA add-ons, is skipped) and the ONNX checker (python3-onnx).
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
dpkg -s python3-onnx >/dev/null 2>&1 || missing+=(python3-onnx)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
if [ ! -f tools/onnxruntime/node_modules/onnxruntime-node/package.json ]; then
	(cd tools/onnxruntime && npm ci --ignore-scripts --no-audit --no-fund)
fi
