#!/usr/bin/env bash
# Debian packages: protoc (go generate), qemu user emulation (arm64 tests).
set -euo pipefail
"$(dirname "$0")/../apt-install.sh" protobuf-compiler qemu-user-static
