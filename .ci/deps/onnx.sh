#!/usr/bin/env bash
# ONNX export checks: ONNX Runtime (npm onnxruntime-node, from tools/onnxruntime's lockfile; its
# install script, which downloads CUDA add-ons, is skipped) and the ONNX checker (python3-onnx).
set -euo pipefail
cd "$(dirname "$0")/../.."
.ci/apt-install.sh python3-onnx
command -v node >/dev/null || .ci/apt-install.sh nodejs
command -v npm >/dev/null || .ci/apt-install.sh npm
if [ ! -f tools/onnxruntime/node_modules/onnxruntime-node/package.json ]; then
	(cd tools/onnxruntime && npm ci --ignore-scripts --no-audit --no-fund)
fi
