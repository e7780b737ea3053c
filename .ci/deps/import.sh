#!/usr/bin/env bash
# Pretrained-model import checks: h5py writes the Keras HDF5 fixtures that come from
# ../shared/data (package pretrained), PyTorch and torchvision export the ResNet-18 ONNX fixture
# (onnx's acceptance test; the checked-in MobileNetV2 one needs neither).
set -euo pipefail
pkgs=(python3-h5py python3-numpy python3-torch python3-torchvision)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
