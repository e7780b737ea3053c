package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// This file holds small constructors and readers of ONNX protobuf messages, shared by the
// exporter, the INT8 rewrite and (later) an importer.

// Node returns a node of the default ONNX domain.
func Node(op, name string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String(name),
		Input: inputs, Output: outputs, Attribute: attrs,
	}
}

// AttrInt is an INT attribute.
func AttrInt(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int) *onnxpb.AttributeProto {
	ints := make([]int64, len(v))
	for i, x := range v {
		ints[i] = int64(x)
	}
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: ints}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// FloatTensor is a float32 initializer holding data (row-major) with the given dims; the data
// are stored as little-endian raw bytes.
func FloatTensor(name string, dims []int, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return rawTensor(name, onnxpb.TensorProto_FLOAT, dims, raw)
}

// Int64Tensor is an int64 initializer (shapes, pads, axes).
func Int64Tensor(name string, dims []int, data []int64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return rawTensor(name, onnxpb.TensorProto_INT64, dims, raw)
}

// Int8Tensor is an int8 initializer (quantized weights, zero points).
func Int8Tensor(name string, dims []int, data []int8) *onnxpb.TensorProto {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	return rawTensor(name, onnxpb.TensorProto_INT8, dims, raw)
}

func rawTensor(name string, dt onnxpb.TensorProto_DataType, dims []int, raw []byte) *onnxpb.TensorProto {
	d := make([]int64, len(dims))
	for i, x := range dims {
		d[i] = int64(x)
	}
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: d, RawData: raw}
}

// TensorDims returns a tensor's dims as ints.
func TensorDims(t *onnxpb.TensorProto) []int {
	out := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		out[i] = int(d)
	}
	return out
}

// FloatData returns the values of a float32 tensor, from raw_data or float_data.
func FloatData(t *onnxpb.TensorProto) ([]float32, error) {
	if onnxpb.TensorProto_DataType(t.GetDataType()) != onnxpb.TensorProto_FLOAT {
		return nil, fmt.Errorf("tensor %q has data type %d, not float", t.GetName(), t.GetDataType())
	}
	if len(t.GetRawData()) == 0 {
		return append([]float32(nil), t.GetFloatData()...), nil
	}
	raw := t.GetRawData()
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("tensor %q: %d raw bytes is not a whole number of float32", t.GetName(), len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Int8Data returns the values of an int8 tensor stored as raw_data.
func Int8Data(t *onnxpb.TensorProto) ([]int8, error) {
	if onnxpb.TensorProto_DataType(t.GetDataType()) != onnxpb.TensorProto_INT8 {
		return nil, fmt.Errorf("tensor %q has data type %d, not int8", t.GetName(), t.GetDataType())
	}
	out := make([]int8, len(t.GetRawData()))
	for i, b := range t.GetRawData() {
		out[i] = int8(b)
	}
	return out, nil
}

// TensorValueInfo describes a tensor of the given element type; a dim < 0 is written as the
// symbolic dimension named param (e.g. "N" for a dynamic batch).
func TensorValueInfo(name string, elem onnxpb.TensorProto_DataType, param string, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: param}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)), Shape: shape,
		}}},
	}
}

// ValueInfoDims returns the dims of a tensor value info; a symbolic dimension reads as -1.
func ValueInfoDims(v *onnxpb.ValueInfoProto) []int {
	var out []int
	for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
		if _, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			out = append(out, int(d.GetDimValue()))
		} else {
			out = append(out, -1)
		}
	}
	return out
}

// Metadata returns the model's metadata_props as a map.
func Metadata(m *onnxpb.ModelProto) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		out[p.GetKey()] = p.GetValue()
	}
	return out
}

// Opset is the model's version of the default ONNX domain (0 if it imports none).
func Opset(m *onnxpb.ModelProto) int {
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return int(o.GetVersion())
		}
	}
	return 0
}

// WriteFile serializes m to path atomically.
func WriteFile(path string, m *onnxpb.ModelProto) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding ONNX model for %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}

// ReadFile parses an ONNX model file.
func ReadFile(path string) (*onnxpb.ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ONNX model: %w", err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s is not an ONNX model: %w", path, err)
	}
	return m, nil
}

// NCHW returns a copy of images [N, H, W, C] (Bonsai's layout) in ONNX's [N, C, H, W].
func NCHW(x *model.Tensor) *model.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := model.NewTensor(n, c, h, w)
	for i := range n {
		for y := range h {
			for z := range w {
				src := x.Data[((i*h+y)*w+z)*c:]
				for k := range c {
					out.Data[((i*c+k)*h+y)*w+z] = src[k]
				}
			}
		}
	}
	return out
}
