package onnx

// The Go code in onnxpb is generated from proto/onnx.proto and checked in, so
// building Bonsai needs neither protoc nor protoc-gen-go. proto/onnx.proto is
// an unmodified copy of the file Debian's python3-onnx 1.12 ships
// (/usr/lib/python3/dist-packages/onnx/onnx.proto, Apache-2.0); it has no
// go_package option, so the import path is given with an M flag. To regenerate
// (protoc 3.21+, protoc-gen-go v1.36.12):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx

//go:generate protoc --proto_path=proto --go_out=onnxpb --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/bonsai-ml/bonsai/onnx/onnxpb onnx.proto
