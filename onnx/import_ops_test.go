package onnx

import (
	"path/filepath"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// opsGraph is an ONNX classifier on [N, 3, 8, 8] using the operators the torchvision fixtures
// do not: BatchNormalization, Pad, AveragePool counting its padding, MaxPool padded as SAME,
// LeakyRelu, Sigmoid * x (swish), a per-channel Mul (squeeze-and-excitation), Concat, Reshape
// of a 3x3 map (rows in C, H, W order), MatMul + Add, Dropout, Identity and a final Softmax.
func opsGraph() *onnxpb.ModelProto {
	rng := testutil.Rand(9)
	rand := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((rng() - 0.5) * scale)
		}
		return v
	}
	positive := func(n int) []float32 {
		v := rand(n, 1)
		for i := range v {
			v[i] += 1
		}
		return v
	}
	var inits []*onnxpb.TensorProto
	init := func(name string, dims []int, v []float32) string {
		inits = append(inits, FloatTensor(name, dims, v))
		return name
	}
	pads := Int64Tensor("pads", []int{8}, []int64{0, 0, 1, 2, 0, 0, 1, 0})
	shape := Int64Tensor("shape", []int{2}, []int64{0, -1})
	inits = append(inits, pads, shape)
	nodes := []*onnxpb.NodeProto{
		Node("Conv", "conv", []string{"x", init("w1", []int{4, 3, 3, 3}, rand(108, 1)), init("b1", []int{4}, rand(4, 1))}, []string{"c1"},
			AttrInts("pads", 1, 1, 1, 1)),
		Node("BatchNormalization", "bn", []string{"c1", init("g", []int{4}, positive(4)), init("be", []int{4}, rand(4, 1)),
			init("mu", []int{4}, rand(4, 1)), init("var", []int{4}, positive(4))}, []string{"b"}, AttrFloat("epsilon", 1e-3)),
		// (ONNX Runtime's pad fusion would merge a Pad right before the pool beyond the kernel.)
		Node("Pad", "pad", []string{"b", "pads"}, []string{"p"}),
		Node("LeakyRelu", "leaky", []string{"p"}, []string{"l"}, AttrFloat("alpha", 0.2)),
		Node("AveragePool", "avg", []string{"l"}, []string{"a"}, AttrInts("kernel_shape", 3, 3), AttrInts("strides", 2, 2),
			AttrInts("pads", 1, 1, 1, 1), AttrInt("count_include_pad", 1)),
		Node("Sigmoid", "sig", []string{"a"}, []string{"s"}),
		Node("Mul", "swish", []string{"a", "s"}, []string{"sw"}),
		Node("GlobalAveragePool", "gap", []string{"sw"}, []string{"se"}),
		Node("Conv", "se_conv", []string{"se", init("w2", []int{4, 4, 1, 1}, rand(16, 1))}, []string{"se2"}),
		Node("Sigmoid", "se_sig", []string{"se2"}, []string{"se3"}),
		Node("Mul", "excite", []string{"sw", "se3"}, []string{"e"}),
		Node("Conv", "dw", []string{"e", init("w3", []int{8, 1, 3, 3}, rand(72, 1))}, []string{"d"}, AttrInt("group", 4),
			AttrInts("pads", 1, 1, 1, 1)),
		Node("Concat", "cat", []string{"d", "e"}, []string{"cc"}, AttrInt("axis", 1)),
		Node("MaxPool", "max", []string{"cc"}, []string{"m"}, AttrInts("kernel_shape", 2, 2), AttrInts("strides", 2, 2),
			AttrInts("pads", 0, 0, 1, 1)),
		Node("Dropout", "drop", []string{"m"}, []string{"dr"}),
		Node("Reshape", "flat", []string{"dr", "shape"}, []string{"f"}),
		Node("MatMul", "fc", []string{"f", init("w4", []int{108, 5}, rand(540, 0.5))}, []string{"fc"}),
		Node("Add", "fc_bias", []string{"fc", init("b4", []int{5}, rand(5, 1))}, []string{"y0"}),
		Node("Identity", "id", []string{"y0"}, []string{"y1"}),
		Node("Softmax", "softmax", []string{"y1"}, []string{"y"}, AttrInt("axis", 1)),
	}
	g := &onnxpb.GraphProto{Name: proto.String("ops"), Node: nodes, Initializer: inits,
		Input:  []*onnxpb.ValueInfoProto{TensorValueInfo("x", onnxpb.TensorProto_FLOAT, BatchParam, -1, 3, 8, 8)},
		Output: []*onnxpb.ValueInfoProto{TensorValueInfo("y", onnxpb.TensorProto_FLOAT, BatchParam, -1, 5)}}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(IRVersion(13)), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}

// predict returns Bonsai's probabilities.
func predict(t *testing.T, g *model.Graph, w model.Weights, x *model.Tensor) *model.Tensor {
	t.Helper()
	m, err := exporttest.OpenEngine(t).NewModel(g, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportOpsMatchOnnxRuntime imports opsGraph and compares Bonsai's probabilities with ONNX
// Runtime's on real pictures.
func TestImportOpsMatchOnnxRuntime(t *testing.T) {
	m := opsGraph()
	im, err := Import(m, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idx := im.Graph.Index()
	for name, op := range map[string]model.Op{"swish": model.OpActivation, "excite": model.OpMultiply, "dw": model.OpDepthwiseConv,
		"pad": model.OpZeroPad, "fc": model.OpDense, "bn": model.OpBatchNorm} {
		if l := idx[name]; l == nil || l.Op != op {
			t.Errorf("layer %s: %+v, want %s", name, l, op)
		}
	}
	if idx["fc"] == nil || !idx["fc"].UseBias || im.Graph.Output != "fc" {
		t.Errorf("MatMul + Add is not one dense layer with a bias ending the graph (output %q)", im.Graph.Output)
	}
	rt := onnxtools.Require(t)
	path := filepath.Join(t.TempDir(), "ops.onnx")
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	x := exporttest.FashionImages(t, 3, 3, 8, 8)
	res, err := rt.Run(path, NCHW(x), onnxtools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := predict(t, im.Graph, im.Weights, x)
	if d := exporttest.MaxAbsDiff(got.Data, res.Output.Data); d > 1e-5 {
		t.Errorf("probabilities differ from ONNX Runtime's by %.3g", d)
	}
}
