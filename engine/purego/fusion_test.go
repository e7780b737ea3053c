package purego

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestFusedChainsMatchSimpleGo checks chains of element-wise operations that the fused kernels
// compute (activations and their gradients, batch-norm inference, comparisons, Where, values
// exported from the middle of a chain, bool values read outside it, per-channel and per-example
// broadcasts, float32 and float64) against SimpleGo: bit for bit but for float32 logistic
// functions, which the vector kernel computes with a polynomial.
func TestFusedChainsMatchSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	x, y := randomTensor(rng, 4, 16, 12, 24), randomTensor(rng, 4, 16, 12, 24)
	scale, shift, se := randomTensor(rng, 1, 1, 1, 24), randomTensor(rng, 1, 1, 1, 24), randomTensor(rng, 4, 1, 1, 24)
	fn := func(in []*Node) []*Node {
		var outs []*Node
		for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			x, y, scale, shift, se := ConvertDType(MulScalar(in[0], 8), dt), ConvertDType(in[1], dt),
				ConvertDType(in[2], dt), ConvertDType(in[3], dt), ConvertDType(in[4], dt)
			g := x.Graph()
			zero, six := ScalarZero(g, dt), Scalar(g, dt, 6)
			inside := ConvertDType(LogicalAnd(GreaterThan(x, zero), LessThan(x, six)), dt)
			relu6 := Add(Mul(x, inside), MulScalar(ConvertDType(GreaterOrEqual(x, six), dt), 6))
			swish := Mul(x, Logistic(x))
			mish := Mul(x, Tanh(Softplus(x)))
			grads := Gradient(ReduceAllSum(Add(Mul(swish, y), Mul(mish, y))), x)
			bn := Max(Add(Mul(x, scale), shift), zero)
			leaky := Where(GreaterThan(x, zero), x, MulScalar(x, 0.1))
			mask := GreaterThan(x, y)
			picked := Where(mask, Mul(x, se), Sub(y, se))
			maskOutside := ConvertDType(Reshape(mask, -1), dt) // the bool mask read by a non-element-wise op
			misc := Add(Sqrt(Abs(x)), Div(Exp(Neg(Abs(y))), Add(Abs(x), Scalar(g, dt, 1))))
			bnY := Add(shift, Mul(scale, MulScalar(y, 3)))
			bnSwish := Mul(Logistic(bnY), bnY) // inference: multiply-add and swish passes
			for _, o := range []*Node{relu6, inside, swish, mish, grads[0], bn, leaky, picked, maskOutside, misc, Sign(x), bnSwish} {
				outs = append(outs, ConvertDType(o, dtypes.Float64))
			}
		}
		return outs
	}
	assertNearSimpleGo(t, "fused chains", 1e-6, fn, x, y, scale, shift, se)
}

// TestFusionClusters checks what the fusion pass does with a batch-norm + ReLU chain (a
// multiply-add pass and a max), a swish whose intermediate value is also an output (two
// passes) and one whose logistic is not (one), and a small chain (left to SimpleGo).
func TestFusionClusters(t *testing.T) {
	b := newBackend(t, "").Builder("fusion").(*Builder)
	must := mustOp(t)
	x := must(b.Parameter("x", shapes.Make(dtypes.Float32, 8, 16, 16, 32), nil))
	small := must(b.Parameter("small", shapes.Make(dtypes.Float32, 4, 8), nil))
	scale := must(b.Parameter("scale", shapes.Make(dtypes.Float32, 1, 1, 1, 32), nil))
	zero := must(b.Constant([]float32{0}))
	bnRelu := must(b.Max(must(b.Add(must(b.Mul(x, scale)), scale)), zero))
	sig := must(b.Logistic(x))
	swish := must(b.Mul(x, sig))
	smallOut := must(b.Add(must(b.Mul(small, small)), small))
	z := must(b.Sub(x, scale))
	bnSwish := must(b.Mul(z, must(b.Logistic(z))))
	fused := customSteps(t, b, "Fused", bnRelu, swish, sig, smallOut, bnSwish)
	want := []string{"Fused(MulAdd,Max)", "Fused(Logistic,Mul)", "Fused(Sub,Swish)"}
	if strings.Join(fused, " ") != strings.Join(want, " ") {
		t.Errorf("fused nodes %q, want %q", fused, want)
	}
}

// TestLogisticKernel checks the vector logistic against float64 math over the float32 range
// (below -87.3, where the result is subnormal, it gives the smallest normal float instead),
// tails and the lanes after the last full vector included.
func TestLogisticKernel(t *testing.T) {
	var x []float32
	for v := -120.0; v <= 120; v += 0.37 {
		x = append(x, float32(v))
	}
	x = append(x, 0, -0, 1e-30, -1e-30, 88.5, -88.5, 87.4, -87.4)
	got := make([]float32, len(x))
	execEW(ewLogistic, got, x, nil, nil)
	for i, v := range x {
		want := 1 / (1 + math.Exp(-float64(v)))
		if d := math.Abs(float64(got[i]) - want); d > 3e-7*want+1.2e-38 {
			t.Errorf("logistic(%g) = %g, want %g", v, got[i], want)
		}
	}
}

// TestFusedComparisonsMatchSimpleGo checks every comparison and logical operation of the fused
// kernels (vector loops and the scalar tails), NaN and equal operands included, and Min/Max with
// NaN, against SimpleGo bit for bit.
func TestFusedComparisonsMatchSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	x, y := randomTensor(rng, 5, 33, 31), randomTensor(rng, 5, 33, 31)
	xs, ys := x.Value().([][][]float64), y.Value().([][][]float64)
	for i := range 5 {
		xs[i][0][0], ys[i][1][1] = math.NaN(), math.NaN()
		ys[i][2] = xs[i][2] // equal rows
	}
	x, y = tensors.FromValue(xs), tensors.FromValue(ys)
	fn := func(in []*Node) []*Node {
		var outs []*Node
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			a, b := ConvertDType(in[0], dt), ConvertDType(in[1], dt)
			f := func(m *Node) *Node { return ConvertDType(m, dtypes.Float64) }
			gt, le := GreaterThan(a, b), LessOrEqual(a, b)
			outs = append(outs, f(gt), f(GreaterOrEqual(a, b)), f(LessThan(a, b)), f(le), f(Equal(a, b)), f(NotEqual(a, b)),
				f(LogicalAnd(gt, le)), f(LogicalOr(gt, le)), f(LogicalNot(gt)))
			for _, m := range []*Node{Min(a, b), Max(b, a), Div(a, b)} {
				nan := IsNaN(m) // NaN != NaN: compare where it is and the other values
				outs = append(outs, f(nan), f(Where(nan, ZerosLike(m), m)))
			}
		}
		return outs
	}
	assertMatchesSimpleGo(t, "comparisons", fn, x, y)
}
