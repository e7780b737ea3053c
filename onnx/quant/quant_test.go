package quant

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
)

// TestQuantizePerChannel checks int8 weights and scales computed by hand: channel 0 has max 1
// (scale 1/127: 0.3 -> 38.1 -> 38, -0.25 -> -31.75 -> -32), channel 1 is all zeros (scale 1),
// channel 2 has max 2 (scale 2/127: 1 -> 63.5 -> 64 by float32 rounding of 2/127, 0.01 -> 0.635 -> 1).
func TestQuantizePerChannel(t *testing.T) {
	q, s := quantizePerChannel([]float32{1, 0.3, -0.25, 0, 0, 0, -2, 1, 0.01}, 3)
	if want := []int8{127, 38, -32, 0, 0, 0, -127, 64, 1}; !slices.Equal(q, want) {
		t.Errorf("quantized %v, want %v", q, want)
	}
	if want := []float32{1.0 / 127, 1, 2.0 / 127}; !slices.Equal(s, want) {
		t.Errorf("scales %v, want %v", s, want)
	}
}

// TestCalibrateAndQDQRunInOnnxRuntime calibrates two random-weight models on real pictures,
// writes their QDQ models and runs them in ONNX Runtime: the int8 model's top-1 must agree with
// the FP32 model's on most pictures, and its structure must be what TensorRT takes.
func TestCalibrateAndQDQRunInOnnxRuntime(t *testing.T) {
	rt := onnxtools.Require(t)
	eng := exporttest.OpenEngine(t)
	x := exporttest.FashionImages(t, 32, 3, 32, 32)
	dir := t.TempDir()
	for i, name := range []string{"resnet", "cspdarknet_tiny"} {
		t.Run(name, func(t *testing.T) {
			g, err := arch.Build(arch.Config{Arch: name, NLayers: map[string]int{"resnet": 10}[name], InputSize: [3]int{3, 32, 32}, NumClasses: 5, UseBatchNorm: true})
			if err != nil {
				t.Fatal(err)
			}
			w := exporttest.RandomWeights(t, eng, g, int64(i+3))
			want := exporttest.ReferenceProbs(t, eng, g, w, x)
			ex, err := onnx.Export(g, w, onnx.Options{Opset: 13})
			if err != nil {
				t.Fatal(err)
			}
			m, err := eng.NewModel(g, w, 0)
			if err != nil {
				t.Fatal(err)
			}
			amax, err := Calibrate(m, ex.Tensors, batchesOf(x, 16), Options{Chunk: 16})
			if err != nil {
				t.Fatal(err)
			}
			if a := amax[onnx.InputName]; a <= 0.5 || a > 1 {
				t.Errorf("input amax %v: pictures in [-1, 1] should give at most 1", a)
			}
			q, err := QDQ(ex.Model, amax)
			if err != nil {
				t.Fatal(err)
			}
			checkQDQ(t, q, amax)
			path := filepath.Join(dir, name+"_qdq.onnx")
			if err := onnx.WriteFile(path, q); err != nil {
				t.Fatal(err)
			}
			if onnxtools.FindChecker() == nil {
				if err := onnxtools.Check(path); err != nil {
					t.Error(err)
				}
			}
			res, err := rt.Run(path, onnx.NCHW(x), onnxtools.Options{})
			if err != nil {
				t.Fatal(err)
			}
			agree := 0
			for r := range 32 {
				if evaluate.Argmax(res.Output.Data[r*5:r*5+5]) == evaluate.Argmax(want.Data[r*5:r*5+5]) {
					agree++
				}
			}
			t.Logf("%s: int8 top-1 agrees with fp32 on %d/32 pictures; max |p_int8 - p_fp32| %.3f", name, agree, exporttest.MaxAbsDiff(res.Output.Data, want.Data))
			if agree < 28 {
				t.Errorf("int8 top-1 agrees with fp32 on only %d/32 pictures", agree)
			}
		})
	}
}

// batchesOf yields x in batches of n.
func batchesOf(x *model.Tensor, n int) Source {
	return func(yield func(*model.Tensor) error) error {
		row := x.Size() / x.Shape[0]
		for s := 0; s < x.Shape[0]; s += n {
			k := min(n, x.Shape[0]-s)
			b := &model.Tensor{Shape: append([]int{k}, x.Shape[1:]...), Data: x.Data[s*row : (s+k)*row]}
			if err := yield(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkQDQ checks what TensorRT's explicit quantization requires: opset >= 13, int8 zero points
// equal to 0, positive scales, per-channel weight scales on axis 0, and one Q/DQ pair per
// calibrated activation.
func checkQDQ(t *testing.T, m *onnxpb.ModelProto, amax map[string]float64) {
	t.Helper()
	if onnx.Opset(m) < 13 {
		t.Errorf("opset %d", onnx.Opset(m))
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, x := range m.GetGraph().GetInitializer() {
		inits[x.GetName()] = x
	}
	producer := map[string]*onnxpb.NodeProto{}
	quantized := 0
	for _, n := range m.GetGraph().GetNode() {
		for _, o := range n.GetOutput() {
			producer[o] = n
		}
		switch n.GetOpType() {
		case "QuantizeLinear":
			quantized++
			fallthrough
		case "DequantizeLinear":
			checkScaleAndZero(t, n, inits)
		case "Conv", "Gemm":
			dq := producer[n.GetInput()[1]]
			if dq == nil || dq.GetOpType() != "DequantizeLinear" || len(dq.GetAttribute()) != 1 ||
				dq.GetAttribute()[0].GetName() != "axis" || dq.GetAttribute()[0].GetI() != 0 {
				t.Errorf("%s %s: weight not dequantized per channel on axis 0", n.GetOpType(), n.GetName())
			}
			if x := producer[n.GetInput()[0]]; x == nil || x.GetOpType() != "DequantizeLinear" {
				t.Errorf("%s %s: input not quantized", n.GetOpType(), n.GetName())
			}
		}
	}
	if want := len(amax) - 1; quantized != want { // all but the output
		t.Errorf("%d QuantizeLinear nodes for %d calibrated activations", quantized, want)
	}
}

func checkScaleAndZero(t *testing.T, n *onnxpb.NodeProto, inits map[string]*onnxpb.TensorProto) {
	t.Helper()
	scale, err := onnx.FloatData(inits[n.GetInput()[1]])
	if err != nil {
		t.Fatal(err)
	}
	zero, err := onnx.Int8Data(inits[n.GetInput()[2]])
	if err != nil {
		t.Fatal(err)
	}
	for i := range scale {
		if scale[i] <= 0 || zero[i] != 0 {
			t.Fatalf("%s: scale %v zero point %v", n.GetName(), scale[i], zero[i])
		}
	}
	if len(scale) != len(zero) {
		t.Errorf("%s: %d scales, %d zero points", n.GetName(), len(scale), len(zero))
	}
}
