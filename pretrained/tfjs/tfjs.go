// Package tfjs reads TensorFlow.js layers models (model.json with its binary weight shards,
// as tensorflowjs_converter and tf.LayersModel.save write them) into Bonsai's model graph. The
// topology is a Keras model config, converted by package keras; the weights are read from the
// shards in manifest order, float32 or quantized (uint8, uint16, float16).
package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/pretrained/keras"
)

// manifest is model.json.
type manifest struct {
	Format          string          `json:"format"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string      `json:"paths"`
		Weights []weightEntry `json:"weights"`
	} `json:"weightsManifest"`
}

type weightEntry struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	DType        string `json:"dtype"`
	Quantization *struct {
		DType string  `json:"dtype"`
		Scale float64 `json:"scale"`
		Min   float64 `json:"min"`
	} `json:"quantization"`
}

// Model is a TF.js model read from disk.
type Model struct {
	Conversion *keras.Conversion
	// Tensors are the weights keyed "layer/param" with Keras names.
	Tensors map[string]*model.Tensor
}

// Read reads model.json at path and its weight shards (named relative to it).
func Read(path string, opts keras.Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s is not a TensorFlow.js model.json: %w", path, err)
	}
	if len(m.ModelTopology) == 0 {
		return nil, fmt.Errorf("%s has no modelTopology: is it a TensorFlow.js graph model? Only layers models are supported", path)
	}
	if m.Format == "graph-model" {
		return nil, fmt.Errorf("%s is a TensorFlow.js graph model; only layers models (Keras topology) are supported", path)
	}
	conv, err := keras.ParseConfig(topology(m.ModelTopology), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tensors, err := readWeights(filepath.Dir(path), &m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Model{Conversion: conv, Tensors: tensors}, nil
}

// topology returns the model config: modelTopology itself, or its "model_config" member
// (files converted from Keras HDF5 keep that wrapper).
func topology(raw json.RawMessage) []byte {
	var wrapped struct {
		ModelConfig json.RawMessage `json:"model_config"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.ModelConfig) > 0 {
		return wrapped.ModelConfig
	}
	return raw
}

// readWeights reads every weight group's shards and splits them into tensors.
func readWeights(dir string, m *manifest) (map[string]*model.Tensor, error) {
	out := map[string]*model.Tensor{}
	for gi, group := range m.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			if strings.Contains(p, "..") || filepath.IsAbs(p) {
				return nil, fmt.Errorf("weight shard path %q leaves the model's folder", p)
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				return nil, fmt.Errorf("weight shard: %w", err)
			}
			buf = append(buf, b...)
		}
		for _, w := range group.Weights {
			t, n, err := decode(w, buf)
			if err != nil {
				return nil, fmt.Errorf("weight group %d, %s: %w", gi+1, w.Name, err)
			}
			buf = buf[n:]
			layer, param := keras.SplitWeightName(w.Name, w.Name)
			out[layer+"/"+param] = t
		}
	}
	return out, nil
}

// decode reads one tensor from the front of buf and returns it with the bytes it used.
func decode(w weightEntry, buf []byte) (*model.Tensor, int, error) {
	n := 1
	for _, d := range w.Shape {
		if d < 0 {
			return nil, 0, fmt.Errorf("shape %v", w.Shape)
		}
		n *= d
	}
	shape := w.Shape
	if len(shape) == 0 {
		shape = []int{1}
	}
	t := &model.Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
	dtype := w.DType
	if w.Quantization != nil {
		dtype = w.Quantization.DType
	}
	size := map[string]int{"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2}[dtype]
	if size == 0 {
		return nil, 0, fmt.Errorf("dtype %q is not supported (float32, int32, or quantized uint8, uint16, float16)", dtype)
	}
	if len(buf) < n*size {
		return nil, 0, fmt.Errorf("the shards end %d bytes short", n*size-len(buf))
	}
	for i := range n {
		b := buf[i*size:]
		var v float64
		switch dtype {
		case "float32":
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		case "int32":
			v = float64(int32(binary.LittleEndian.Uint32(b)))
		case "uint8":
			v = float64(b[0])
		case "uint16":
			v = float64(binary.LittleEndian.Uint16(b))
		case "float16":
			v = float64(halfToFloat32(binary.LittleEndian.Uint16(b)))
		}
		if q := w.Quantization; q != nil && dtype != "float16" {
			v = v*q.Scale + q.Min
		}
		t.Data[i] = float32(v)
	}
	return t, n * size, nil
}

// halfToFloat32 converts IEEE binary16 bits to float32 through float64 arithmetic.
func halfToFloat32(h uint16) float32 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return float32(sign * math.Ldexp(mant/1024, -14))
	case 0x1f:
		if mant != 0 {
			return float32(math.NaN())
		}
		return float32(sign * math.Inf(1))
	}
	return float32(sign * math.Ldexp(1+mant/1024, exp-15))
}
