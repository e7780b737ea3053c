#!/usr/bin/env bash
# Acceptance checks: long training runs that prove accuracy, too slow for the README's test
# command. Each is a Go test whose name contains "Acceptance" and which runs only with
# BONSAI_ACCEPTANCE=1; each package gets its own time limit. Needs ../shared/data (tests skip
# with a message without it).
#
# Usage: scripts/acceptance.sh [go test flags, e.g. -run FlowersAcceptance -v]
set -euo pipefail
cd "$(dirname "$0")/.."
export BONSAI_ACCEPTANCE=1
pkgs=$(grep -rl --include='*_test.go' -E '^func Test[A-Za-z0-9_]*Acceptance' . | xargs -n1 dirname | sort -u)
for p in $pkgs; do
	echo "== acceptance: $p"
	start=$SECONDS
	go test -timeout 30m -run 'Acceptance' "$@" "$p"
	echo "$p acceptance took $((SECONDS - start)) s"
done
