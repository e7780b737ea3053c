#!/usr/bin/env bash
# Debian packages for the TensorBoard read-back tests (tensorboard/tbtest/read_events.py runs
# under /usr/bin/python3 with python3-protobuf and python3-crc32c).
set -euo pipefail
pkgs=(python3 python3-protobuf python3-crc32c)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
