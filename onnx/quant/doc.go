// Package quant owns INT8 post-training quantization of exported ONNX models, as TensorRT does
// it and without TensorRT: it runs calibration images through the Bonsai model, keeps a
// histogram of every ONNX tensor's absolute values, chooses each tensor's range (amax) by
// entropy (the KL-divergence search of TensorRT's legacy entropy calibrator over 2048 bins, as
// NVIDIA's pytorch-quantization reimplements it), percentile or maximum, and writes
//
//   - the TensorRT calibration cache (text: "TRT-<version>-EntropyCalibration2", then
//     "<tensor>: <hex float32 of amax/127>"), which DeepStream's int8-calib-file and trtexec's
//     --calib read with the FP32 ONNX model, and
//   - a QDQ ONNX model (explicit quantization: QuantizeLinear/DequantizeLinear pairs, int8, zero
//     point 0, per-tensor activations, per-channel weights on axis 0, opset 13 or later) that
//     ONNX Runtime and TensorRT run. It quantizes every tensor the cache lists, as TensorRT's
//     implicit INT8 mode would, so that ONNX Runtime fuses them into its int8 kernels.
package quant
