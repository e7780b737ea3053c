#!/usr/bin/env bash
# Debian packages for the TensorBoard read-back tests (tensorboard/tbtest/read_events.py runs
# under /usr/bin/python3 with python3-protobuf and python3-crc32c).
set -euo pipefail
"$(dirname "$0")/../apt-install.sh" python3 python3-protobuf python3-crc32c
