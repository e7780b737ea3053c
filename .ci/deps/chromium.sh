#!/usr/bin/env bash
# Debian's chromium, run headless by the report tests (report.html must render its pictures and
# tables without console errors: internal/testutil/chromium.go).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
