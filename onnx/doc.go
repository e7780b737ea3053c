// Package onnx converts between Bonsai's model IR and the ONNX format. Export writes a model
// graph with its weights as an ONNX ModelProto (input input_1 NCHW, output predictions) and
// lists where each of its tensors comes from for INT8 calibration (package onnx/quant);
// PreprocessingMetadata describes the input in metadata_props. Import reads an ONNX model into
// the IR. proto.go holds the constructors and readers of ONNX messages both directions share.
// The protobuf types live in onnx/onnxpb, generated from onnx/proto/onnx.proto.
package onnx
