#!/usr/bin/env bash
# Go tools for the review checks: staticcheck, and protoc-gen-go for go generate.
set -euo pipefail
export GOFLAGS=-mod=mod
go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
