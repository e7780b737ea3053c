// Package onnx converts between Bonsai's model IR and the ONNX format. The
// protobuf types live in onnx/onnxpb, generated from onnx/proto/onnx.proto.
package onnx
