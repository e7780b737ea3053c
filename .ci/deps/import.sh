#!/usr/bin/env bash
# Pretrained-model import checks: h5py writes the Keras HDF5 fixtures that come from
# ../shared/data (package pretrained), PyTorch and torchvision export the ResNet-18 ONNX fixture
# (onnx's acceptance test; the checked-in MobileNetV2 one needs neither).
set -euo pipefail
"$(dirname "$0")/../apt-install.sh" python3-h5py python3-numpy python3-torch python3-torchvision
