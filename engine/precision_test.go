package engine

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// smallCNN is input [8,8,3] -> conv 3x3 (4, bias) -> BN -> relu -> max pool 2 -> conv 3x3 (4)
// -> BN -> relu -> dropout -> global average pool -> dense(3): every layer kind whose dtype
// mixed precision changes.
func smallCNN() *model.Graph {
	conv := func(name, in string, bias bool) *model.Layer {
		return &model.Layer{Name: name, Op: model.OpConv, Inputs: []string{in}, Filters: 4, Kernel: [2]int{3, 3},
			Strides: [2]int{1, 1}, Padding: model.PadSame, UseBias: bias, Block: -1}
	}
	return &model.Graph{Input: [3]int{3, 8, 8}, Output: "fc", Layers: []*model.Layer{
		inputLayer(),
		conv("conv1", "input", true),
		{Name: "bn1", Op: model.OpBatchNorm, Inputs: []string{"conv1"}, Block: -1},
		{Name: "relu1", Op: model.OpActivation, Activation: model.ActReLU, Inputs: []string{"bn1"}, Block: -1},
		{Name: "pool", Op: model.OpMaxPool, Inputs: []string{"relu1"}, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: model.PadValid, Block: -1},
		conv("conv2", "pool", false),
		{Name: "bn2", Op: model.OpBatchNorm, Inputs: []string{"conv2"}, Block: -1},
		{Name: "relu2", Op: model.OpActivation, Activation: model.ActReLU, Inputs: []string{"bn2"}, Block: -1},
		{Name: "drop", Op: model.OpDropout, Rate: 0.25, Inputs: []string{"relu2"}, Block: -1},
		{Name: "gap", Op: model.OpGlobalAvgPool, Inputs: []string{"drop"}, Block: -1},
		{Name: "fc", Op: model.OpDense, Inputs: []string{"gap"}, Units: 3, UseBias: true, Block: -1},
	}}
}

// randomBatch is n images in [-1, 1) and one-hot labels for classes classes, from seed.
func randomBatch(n, h, w, c, classes int, seed uint64) (*model.Tensor, *model.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := model.NewTensor(n, h, w, c)
	for i := range x.Data {
		x.Data[i] = rng.Float32()*2 - 1
	}
	y := model.NewTensor(n, classes)
	for i := range n {
		y.Data[i*classes+rng.IntN(classes)] = 1
	}
	return x, y
}

// stepGraphNodes builds (without compiling) the training step of tr on backend for a batch of n
// (per replica) and returns the graph and its outputs.
func stepGraphNodes(t *testing.T, be backends.Backend, tr *Trainer, n int) (*Graph, []*Node) {
	t.Helper()
	m := tr.m
	in := m.ir.Input
	g := NewGraph(be, "step")
	if tr.par != nil {
		if err := g.SetSPMD(tr.par.mesh); err != nil {
			t.Fatal(err)
		}
	}
	args := []*Node{
		Parameter(g, "x", shapes.Make(dtypes.Float32, n, in[1], in[2], in[0])),
		Parameter(g, "y", shapes.Make(dtypes.Float32, n, m.Classes())),
		Parameter(g, "lr", shapes.Make(dtypes.Float32)),
		Parameter(g, "rng", shapes.Make(dtypes.Uint64, 3)),
	}
	for i, v := range append(append([]*tensors.Tensor{}, m.values...), tr.slots...) {
		args = append(args, Parameter(g, "p"+string(rune('a'+i%26))+itoa(i), v.Shape()))
	}
	return g, tr.stepGraph(args)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestMixedPrecisionDTypePlan checks where bf16 training computes in bfloat16 and what stays
// float32: every convolution and matrix multiplication (forward and gradients) runs in bfloat16,
// batch norm is composed with float32 statistics, and every output (loss, accuracy, parameters,
// moving statistics, optimizer slots) is float32.
func TestMixedPrecisionDTypePlan(t *testing.T) {
	e := openTest(t)
	for _, prec := range []string{PrecisionFP32, PrecisionBF16} {
		m, err := e.NewModel(smallCNN(), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(TrainConfig{Optimizer: "adam", Precision: prec})
		if err != nil {
			t.Fatal(err)
		}
		g, outs := stepGraphNodes(t, e.Backend, tr, 4)
		want := computeDType(prec)
		counts := map[NodeType]int{}
		for _, n := range g.Nodes() {
			switch n.Type() {
			case NodeTypeConvGeneral, NodeTypeDotGeneral, NodeTypeDot:
				counts[n.Type()]++
				if n.DType() != want {
					t.Errorf("%s: %s node is %s, want %s", prec, n.Type(), n.DType(), want)
				}
			case NodeTypeBatchNormForTraining:
				counts[n.Type()]++
			}
		}
		// 2 convolutions x (forward, input gradient, kernel gradient), and the dense layer.
		if counts[NodeTypeConvGeneral] < 5 || counts[NodeTypeDotGeneral]+counts[NodeTypeDot] < 1 {
			t.Errorf("%s: found %v convolution/dot nodes, expected the forward and gradient ones", prec, counts)
		}
		if prec == PrecisionBF16 && counts[NodeTypeBatchNormForTraining] > 0 {
			t.Errorf("bf16: the fused batch norm op is used; its statistics must be float32 (composed)")
		}
		for i, o := range outs {
			if o.DType() != dtypes.Float32 {
				t.Errorf("%s: output %d is %s, want float32", prec, i, o.DType())
			}
		}
	}
}

// TestMixedPrecisionTracksFloat32 trains the same model from the same weights for two steps in
// fp32 and bf16: the losses agree to bfloat16 accuracy, the whole update points the same way
// (cosine > 0.99), so does each parameter's that matters (an update at least a tenth of the
// largest; batch norm cancels conv1's bias, whose update is noise), the moving statistics agree
// closely (they are computed in float32), and the state the trainer keeps is float32.
func TestMixedPrecisionTracksFloat32(t *testing.T) {
	e := openTest(t)
	x, y := randomBatch(8, 8, 8, 3, 3, 1)
	start := map[string]model.Weights{}
	after := map[string]model.Weights{}
	losses := map[string][]float32{}
	for _, prec := range []string{PrecisionFP32, PrecisionBF16} {
		m, err := e.NewModel(smallCNN(), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(TrainConfig{Optimizer: "sgd", Momentum: 0.9, Precision: prec, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if start[prec], err = m.Weights(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			loss, _, err := tr.Step(x, y, 0.1)
			if err != nil {
				t.Fatalf("%s: %v", prec, err)
			}
			losses[prec] = append(losses[prec], loss)
		}
		for i, v := range append(append([]*tensors.Tensor{}, m.values...), tr.slots...) {
			if v.DType() != dtypes.Float32 {
				t.Errorf("%s: trainer state %d is %s, want float32", prec, i, v.DType())
			}
		}
		if after[prec], err = m.Weights(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range losses[PrecisionFP32] {
		if !testutil.Near(float64(losses[PrecisionBF16][i]), float64(losses[PrecisionFP32][i]), 0.02) {
			t.Errorf("step %d: bf16 loss %v, fp32 %v", i+1, losses[PrecisionBF16][i], losses[PrecisionFP32][i])
		}
	}
	d32, d16 := map[string][]float64{}, map[string][]float64{}
	var all32, all16 []float64
	largest := 0.0
	for k, w0 := range start[PrecisionFP32] {
		d32[k], d16[k] = delta(after[PrecisionFP32][k].Data, w0.Data), delta(after[PrecisionBF16][k].Data, w0.Data)
		if !strings.Contains(k, "moving_") {
			all32, all16 = append(all32, d32[k]...), append(all16, d16[k]...)
			largest = max(largest, math.Sqrt(dot(d32[k], d32[k])))
		}
	}
	if c := cosine(all32, all16); c < 0.99 {
		t.Errorf("the whole bf16 update has cosine %.4f with the fp32 one", c)
	}
	for k := range d32 {
		c := cosine(d32[k], d16[k])
		switch {
		case strings.Contains(k, "moving_") && c < 0.999:
			t.Errorf("%s: the bf16 moving statistics' update has cosine %.5f with fp32's", k, c)
		case math.Sqrt(dot(d32[k], d32[k])) > largest/10 && c < 0.97:
			t.Errorf("%s: the bf16 update has cosine %.4f with the fp32 one", k, c)
		}
	}
}

func delta(a, b []float32) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = float64(a[i]) - float64(b[i])
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 && bb == 0 {
		return 1
	}
	return ab / math.Sqrt(aa*bb)
}

func TestPrecisionNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", PrecisionFP32}, {"FP32", PrecisionFP32}, {"float32", PrecisionFP32},
		{"bf16", PrecisionBF16}, {"BFloat16", PrecisionBF16}, {"amp", PrecisionBF16}, {"fp16", ""},
	} {
		got, err := normalisePrecision(c.in)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("normalisePrecision(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestBF16SafeAccumulatesInFloat32 runs the operations the bf16Safe wrapper replaces (bfloat16
// constants, max pooling and its gradient, sum pooling, reductions, argmax) in bfloat16 on the
// pure-Go backend, wrapped and unwrapped, against the same graph in float32. Wrapped, the results
// are within bfloat16 rounding of float32; unwrapped, SimpleGo's bfloat16 sums drift further.
func TestBF16SafeAccumulatesInFloat32(t *testing.T) {
	e := openTest(t)
	x, _ := randomBatch(2, 6, 6, 3, 2, 5)
	graph := func(dt dtypes.DType) func(in *Node) []*Node {
		return func(in *Node) []*Node {
			xb := ConvertDType(in, dt)
			mp := MaxPool(xb).Window(2).Done()
			sp := SumPool(xb).Window(3).Strides(1).Done()
			loss := Add(ReduceAllSum(MulScalar(mp, 0.75)), ReduceAllMax(sp))
			grad := Gradient(ConvertDType(loss, dtypes.Float32), in)[0]
			am := ConvertDType(ArgMax(xb, -1, dtypes.Int32), dtypes.Float32)
			return []*Node{ConvertDType(loss, dtypes.Float32), grad, ConvertDType(sp, dtypes.Float32), am}
		}
	}
	run := func(be backends.Backend, dt dtypes.DType) [][]float32 {
		exec, err := NewExec(be, graph(dt))
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x.Data, x.Shape...))
		if err != nil {
			t.Fatal(err)
		}
		var res [][]float32
		for _, o := range outs {
			v, err := fromTensor(o)
			if err != nil {
				t.Fatal(err)
			}
			res = append(res, v.Data)
		}
		return res
	}
	plain := e.Backend.(*bf16Safe).Backend
	ref, wrapped, unwrapped := run(plain, dtypes.Float32), run(e.Backend, dtypes.BFloat16), run(plain, dtypes.BFloat16)
	for i, name := range []string{"loss", "gradient", "sum pool", "argmax"} {
		want := make([]float64, len(ref[i]))
		for j, v := range ref[i] {
			want[j] = float64(v)
		}
		testutil.AssertClose(t, name, wrapped[i], want, 0.02) // bfloat16 keeps 8 mantissa bits: 1% per value, a little more after sums
	}
	if testutil.Near(float64(unwrapped[0][0]), float64(ref[0][0]), 0.01) {
		t.Logf("unwrapped bfloat16 loss %v is now within 1%% of float32's %v: SimpleGo may accumulate in float32", unwrapped[0][0], ref[0][0])
	}
	if wrapBF16Safe(e.Backend) != e.Backend {
		t.Error("wrapping twice nests the wrapper")
	}
}
