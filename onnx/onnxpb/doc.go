// Package onnxpb holds the Go types generated from onnx/proto/onnx.proto, the
// ONNX model format (ModelProto, GraphProto, NodeProto, TensorProto, ...). Do
// not edit onnx.pb.go by hand; run `go generate ./onnx`. Use package onnx to
// write Bonsai models as ONNX.
package onnxpb
