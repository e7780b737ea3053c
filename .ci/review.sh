#!/usr/bin/env bash
# What a reviewer would check: formatting, vet (both engine kernels), staticcheck, and that
# generated code is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt -l lists files that need formatting:"; echo "$unformatted"; exit 1
fi
go vet ./...
go vet -tags purego ./...
staticcheck ./...
go generate ./...
if ! git diff --exit-code --stat; then
	echo "go generate changed checked-in files: regenerate and commit them"; exit 1
fi
