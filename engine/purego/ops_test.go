package purego

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// gradCase is a differentiable function of some inputs whose gradients are
// checked against central finite differences of sum(f(inputs) * r).
type gradCase struct {
	name   string
	inputs [][]int // dimensions of each input
	fn     func(in []*Node) *Node
}

var gradCases = []gradCase{
	{"max pool 3x3/2 pad 1", [][]int{{2, 5, 6, 2}}, func(in []*Node) *Node {
		return MaxPool(in[0]).Window(3).Strides(2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
	}},
	{"max pool 2x2/2", [][]int{{1, 4, 6, 3}}, func(in []*Node) *Node {
		return MaxPool(in[0]).Window(2).Done()
	}},
	{"min pool 3x2/1", [][]int{{1, 5, 4, 2}}, func(in []*Node) *Node {
		return MinPool(in[0]).WindowPerAxis(3, 2).Strides(1).Done()
	}},
	{"mean pool 3x3/2 same", [][]int{{2, 5, 5, 2}}, func(in []*Node) *Node {
		return MeanPool(in[0]).Window(3).Strides(2).PadSame().Done()
	}},
	{"batch norm training NHWC", [][]int{{3, 2, 3, 4}, {4}, {4}}, func(in []*Node) *Node {
		y, _, _ := InternalBatchNormForTraining(in[0], in[1], in[2], 1e-3, 3)
		return y
	}},
	{"batch norm training NCHW", [][]int{{2, 3, 2, 2}, {3}, {3}}, func(in []*Node) *Node {
		y, _, _ := InternalBatchNormForTraining(in[0], in[1], in[2], 1e-3, 1)
		return y
	}},
	{"conv 3x3/2 pad 1", [][]int{{2, 5, 5, 3}, {3, 3, 3, 2}}, func(in []*Node) *Node {
		return Convolve(in[0], in[1]).StridePerAxis(2, 2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
	}},
	{"depthwise conv 3x3", [][]int{{1, 4, 4, 2}, {3, 3, 1, 2}}, func(in []*Node) *Node {
		return Convolve(in[0], in[1]).ChannelGroupCount(2).PadSame().Done()
	}},
	{"conv dilated", [][]int{{1, 6, 5, 2}, {2, 2, 2, 2}}, func(in []*Node) *Node {
		return Convolve(in[0], in[1]).DilationPerAxis(2, 2).Done()
	}},
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, config := range []string{"", "kernels=off"} {
		t.Run(config, func(t *testing.T) { testGradients(t, newBackend(t, config)) })
	}
}

func testGradients(t *testing.T, backend backends.Backend) {
	for i, gc := range gradCases {
		t.Run(gc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			inputs := make([]*tensors.Tensor, len(gc.inputs))
			for j, dims := range gc.inputs {
				inputs[j] = randomTensor(rng, dims...)
			}
			outDims := run1Shape(t, backend, gc.fn, inputs)
			r := randomTensor(rng, outDims...)
			all := append(append([]*tensors.Tensor{}, inputs...), r)
			n := len(inputs)
			loss := func(in []*Node) *Node { return ReduceAllSum(Mul(gc.fn(in[:n]), in[n])) }
			analytic := run(t, backend, func(in []*Node) []*Node { return Gradient(loss(in), in[:n]...) }, all...)
			lossExec := MustNewExec(backend, loss)
			defer lossExec.Finalize()
			for j := range inputs {
				numeric := finiteDifferences(lossExec, all, j)
				testutil.AssertClose(t, gc.name+" gradient of input "+string(rune('0'+j)), analytic[j], numeric, 1e-5)
			}
		})
	}
}

// finiteDifferences returns d loss / d inputs[j] by central differences.
func finiteDifferences(lossExec *Exec, inputs []*tensors.Tensor, j int) []float64 {
	const h = 1e-6
	base := tensors.MustCopyFlatData[float64](inputs[j])
	dims := inputs[j].Shape().Dimensions
	grad := make([]float64, len(base))
	eval := func(flat []float64) float64 {
		args := make([]any, len(inputs))
		for i, in := range inputs {
			args[i] = mustClone(in)
		}
		args[j] = tensors.FromFlatDataAndDimensions(flat, dims...)
		out := lossExec.MustExec(args...)[0]
		return tensors.MustCopyFlatData[float64](out)[0]
	}
	for k := range base {
		plus, minus := append([]float64{}, base...), append([]float64{}, base...)
		plus[k] += h
		minus[k] -= h
		grad[k] = (eval(plus) - eval(minus)) / (2 * h)
	}
	return grad
}

func run1Shape(t *testing.T, backend backends.Backend, fn func(in []*Node) *Node, inputs []*tensors.Tensor) []int {
	t.Helper()
	exec := MustNewExec(backend, fn)
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = mustClone(in)
	}
	return exec.MustExec(args...)[0].Shape().Dimensions
}

// TestPadMatchesReference checks Pad (ends, negative ends, interior) against a
// direct index computation.
func TestPadMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randomTensor(rng, 3, 4)
	cfg := []backends.PadAxis{{Start: 2, End: -1, Interior: 1}, {Start: -1, End: 2, Interior: 2}}
	got := run(t, newBackend(t, ""), func(in []*Node) []*Node {
		return []*Node{Pad(in[0], Const(in[0].Graph(), 7.0), cfg...)}
	}, x)[0]
	xs := tensors.MustCopyFlatData[float64](x)
	// Axis 0: 3 -> 2 + 5 - 1 = 6; axis 1: 4 -> -1 + 10 + 2 = 11.
	rows, cols := 6, 11
	if len(got) != rows*cols {
		t.Fatalf("Pad output has %d elements, want %d", len(got), rows*cols)
	}
	for r := range rows {
		for c := range cols {
			want := 7.0
			// Invert: dilated index = r - start; original if divisible by interior+1.
			dr, dc := r-2, c+1
			if dr >= 0 && dr%2 == 0 && dr/2 < 3 && dc >= 0 && dc%3 == 0 && dc/3 < 4 {
				want = xs[(dr/2)*4+dc/3]
			}
			if got[r*cols+c] != want {
				t.Fatalf("Pad[%d,%d] = %g, want %g", r, c, got[r*cols+c], want)
			}
		}
	}
}

func TestReverseMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randomTensor(rng, 2, 3, 4)
	got := run(t, newBackend(t, ""), func(in []*Node) []*Node { return []*Node{Reverse(in[0], 0, 2)} }, x)[0]
	xs := tensors.MustCopyFlatData[float64](x)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				want := xs[(1-i)*12+j*4+(3-k)]
				if g := got[i*12+j*4+k]; g != want {
					t.Fatalf("Reverse[%d,%d,%d] = %g, want %g", i, j, k, g, want)
				}
			}
		}
	}
}

// TestBatchNormMatchesReference checks the forward BatchNorm ops against plain Go.
func TestBatchNormMatchesReference(t *testing.T) {
	for _, config := range []string{"", "kernels=off"} {
		checkBatchNorm(t, newBackend(t, config))
	}
}

func checkBatchNorm(t *testing.T, backend backends.Backend) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, f, eps = 6, 3, 1e-3
	x, scale, offset := randomTensor(rng, n, f), randomTensor(rng, f), randomTensor(rng, f)
	mean, variance := randomTensor(rng, f), tensors.FromFlatDataAndDimensions([]float64{0.5, 1.5, 2}, f)
	outs := run(t, backend, func(in []*Node) []*Node {
		y, m, v := InternalBatchNormForTraining(in[0], in[1], in[2], eps, 1)
		yi := InternalBatchNormForInference(in[0], in[1], in[2], in[3], in[4], eps, 1)
		return []*Node{y, m, v, yi}
	}, x, scale, offset, mean, variance)
	xs, sc, off := tensors.MustCopyFlatData[float64](x), tensors.MustCopyFlatData[float64](scale), tensors.MustCopyFlatData[float64](offset)
	ms, vs := tensors.MustCopyFlatData[float64](mean), tensors.MustCopyFlatData[float64](variance)
	for c := range f {
		var sum, sq float64
		for i := range n {
			sum += xs[i*f+c]
		}
		m := sum / n
		for i := range n {
			sq += (xs[i*f+c] - m) * (xs[i*f+c] - m)
		}
		v := sq / n
		testutil.AssertClose(t, "batch mean", outs[1][c:c+1], []float64{m}, 1e-12)
		testutil.AssertClose(t, "batch variance", outs[2][c:c+1], []float64{v}, 1e-12)
		for i := range n {
			wantTrain := (xs[i*f+c]-m)/math.Sqrt(v+eps)*sc[c] + off[c]
			wantInfer := (xs[i*f+c]-ms[c])/math.Sqrt(vs[c]+eps)*sc[c] + off[c]
			testutil.AssertClose(t, "training output", outs[0][i*f+c:i*f+c+1], []float64{wantTrain}, 1e-9)
			testutil.AssertClose(t, "inference output", outs[3][i*f+c:i*f+c+1], []float64{wantInfer}, 1e-9)
		}
	}
}

// TestBatchNormFloat32Kernels checks the float32 batch-norm kernels (vector loops for channels
// last, with a tail of channels after the last full vector) and their gradient against the
// composed form (kernels=off): training output, batch statistics, inference output and the
// gradients with respect to x, scale and offset.
func TestBatchNormFloat32Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const c = 20
	x, scale, offset, r := randomTensor(rng, 3, 5, 4, c), randomTensor(rng, c), randomTensor(rng, c), randomTensor(rng, 3, 5, 4, c)
	mean, variance := randomTensor(rng, c), randomTensor(rng, c)
	fn := func(in []*Node) []*Node {
		f32 := func(n *Node) *Node { return ConvertDType(n, dtypes.Float32) }
		x, scale, offset, r := f32(MulScalar(in[0], 3)), f32(in[1]), f32(in[2]), f32(in[3])
		variance := f32(AddScalar(Abs(in[5]), 0.5))
		y, m, v := InternalBatchNormForTraining(x, scale, offset, 1e-3, -1)
		yi := InternalBatchNormForInference(x, scale, offset, f32(in[4]), variance, 1e-3, -1)
		grads := Gradient(ReduceAllSum(Mul(y, r)), x, scale, offset)
		outs := append([]*Node{y, m, v, yi}, grads...)
		for i, o := range outs {
			outs[i] = ConvertDType(o, dtypes.Float64)
		}
		return outs
	}
	want := run(t, newBackend(t, "kernels=off"), fn, x, scale, offset, r, mean, variance)
	got := run(t, newBackend(t, ""), fn, x, scale, offset, r, mean, variance)
	for i, what := range []string{"training output", "batch mean", "batch variance", "inference output", "grad x", "grad scale", "grad offset"} {
		testutil.AssertClose(t, what, got[i], want[i], 1e-4)
	}
}

// TestReduceWindowMatchesSimpleGo compares the composed pooling with SimpleGo's
// own ReduceWindow on the plain SimpleGo backend.
func TestReduceWindowMatchesSimpleGo(t *testing.T) {
	reference, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	x := randomTensor(rng, 2, 7, 6, 3)
	pools := map[string]func(x *Node) *Node{
		"max 3x3/2 pad 1": func(x *Node) *Node {
			return MaxPool(x).Window(3).Strides(2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
		},
		"min 2x3/1": func(x *Node) *Node { return MinPool(x).WindowPerAxis(2, 3).Strides(1).Done() },
		"sum 3x3/2 same": func(x *Node) *Node {
			return BackendReduceWindow(x, backends.ReduceOpSum, []int{1, 3, 3, 1}, []int{1, 2, 2, 1}, nil, nil,
				[][2]int{{0, 0}, {1, 1}, {1, 1}, {0, 0}})
		},
		"mean 2x2": func(x *Node) *Node { return MeanPool(x).Window(2).Done() },
	}
	for name, pool := range pools {
		fn := func(in []*Node) []*Node { return []*Node{pool(in[0])} }
		want := run(t, reference, fn, x)[0]
		for _, config := range []string{"", "kernels=off"} {
			got := run(t, newBackend(t, config), fn, x)[0]
			testutil.AssertClose(t, name+" "+config, got, want, 1e-12)
		}
	}
}

// TestPoolingRowsMatchSimpleGo checks the pooling kernels on float32 rows long
// enough for the vector loops (19 channels: two vectors and a tail), with ties
// and a NaN, and the max-pool gradient (select and scatter), against SimpleGo.
func TestPoolingRowsMatchSimpleGo(t *testing.T) {
	reference, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomTensor(rng, 2, 6, 5, 19)
	flat := tensors.MustCopyFlatData[float64](x)
	for i := range flat {
		flat[i] = math.Round(flat[i] * 4) // many ties
	}
	flat[7] = math.NaN()
	x = tensors.FromFlatDataAndDimensions(flat, 2, 6, 5, 19)
	maxPool := func(x *Node) *Node {
		return MaxPool(x).Window(3).Strides(2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
	}
	minPool := func(x *Node) *Node { return MinPool(x).WindowPerAxis(2, 3).Strides(1).Done() }
	float64s := func(outs ...*Node) []*Node {
		for i, o := range outs {
			outs[i] = ConvertDType(o, dtypes.Float64)
		}
		return outs
	}
	pools := func(in []*Node) []*Node {
		x32 := ConvertDType(in[0], dtypes.Float32)
		sum := BackendReduceWindow(x32, backends.ReduceOpSum, []int{1, 3, 3, 1}, []int{1, 1, 1, 1}, nil, nil,
			[][2]int{{0, 0}, {2, 1}, {1, 1}, {0, 0}})
		return float64s(maxPool(x32), minPool(x32), sum)
	}
	grads := func(in []*Node) []*Node {
		x32 := ConvertDType(in[0], dtypes.Float32)
		finite := Where(IsNaN(x32), ZerosLike(x32), x32)
		return float64s(
			Gradient(ReduceAllSum(Mul(maxPool(finite), OnePlus(maxPool(finite)))), finite)[0],
			Gradient(ReduceAllSum(minPool(finite)), finite)[0])
	}
	fast := newBackend(t, "")
	got := append(run(t, fast, pools, x), run(t, fast, grads, x)...)
	// SimpleGo has no SelectAndScatter: the gradients' reference is this
	// backend's composed form (strided slices and comparisons).
	want := append(run(t, reference, pools, x), run(t, newBackend(t, "kernels=off"), grads, x)...)
	for i, what := range []string{"max pool", "min pool", "sum window"} { // the windows of x's NaN
		nans := 0
		for j := range got[i] {
			if math.IsNaN(got[i][j]) != math.IsNaN(want[i][j]) {
				t.Errorf("%s[%d] = %v, want %v", what, j, got[i][j], want[i][j])
			}
			if math.IsNaN(want[i][j]) {
				got[i][j], want[i][j] = 0, 0
				nans++
			}
		}
		if nans == 0 {
			t.Errorf("%s: the NaN of x reached no output", what)
		}
	}
	for i, what := range []string{"max pool", "min pool", "sum window", "max pool gradient", "min pool gradient"} {
		testutil.AssertClose(t, what, got[i], want[i], 1e-6)
	}
}

// TestTransposeMatchesSimpleGo checks the permute kernel, and Reverse on both
// its paths (kernel for floats, slices for integers).
func TestTransposeMatchesSimpleGo(t *testing.T) {
	reference, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x := randomTensor(rng, 2, 3, 4, 5)
	kernel := randomTensor(rng, 3, 2, 20, 37) // tiled planes, 8-row bands and a tail
	fn := func(in []*Node) []*Node {
		k32 := ConvertDType(in[1], dtypes.Float32)
		return []*Node{
			TransposeAllAxes(in[0], 3, 1, 0, 2),
			ConvertDType(TransposeAllAxes(ConvertDType(in[0], dtypes.Float32), 2, 3, 1, 0), dtypes.Float64),
			ConvertDType(TransposeAllAxes(ConvertDType(MulScalar(in[0], 100), dtypes.Int32), 1, 0, 3, 2), dtypes.Float64),
			ConvertDType(TransposeAllAxes(k32, 0, 1, 3, 2), dtypes.Float64),
		}
	}
	want := run(t, reference, fn, x, kernel)
	got := run(t, newBackend(t, ""), fn, x, kernel)
	// An input gradient's kernel: reversed taps, channels swapped (SimpleGo has no Reverse).
	reversed := func(in []*Node) []*Node {
		return []*Node{ConvertDType(TransposeAllAxes(Reverse(ConvertDType(in[0], dtypes.Float32), 0, 1), 0, 1, 3, 2), dtypes.Float64)}
	}
	want = append(want, run(t, newBackend(t, "kernels=off"), reversed, kernel)...)
	got = append(got, run(t, newBackend(t, ""), reversed, kernel)...)
	for i := range want {
		testutil.AssertClose(t, "transpose", got[i], want[i], 1e-6)
	}
	rev := func(in []*Node) []*Node {
		asInt := ConvertDType(MulScalar(in[0], 100), dtypes.Int32)
		return []*Node{
			ConvertDType(ConvertDType(Reverse(asInt, 1, 3), dtypes.Float64), dtypes.Int32),
			ConvertDType(Reverse(ConvertDType(asInt, dtypes.Float64), 1, 3), dtypes.Int32),
		}
	}
	exec := MustNewExec(newBackend(t, ""), rev)
	outs := exec.MustExec(mustClone(x))
	a, b := tensors.MustCopyFlatData[int32](outs[0]), tensors.MustCopyFlatData[int32](outs[1])
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("Reverse int32 element %d = %d, float path gives %d", i, a[i], b[i])
		}
	}
}

// TestFusedPermutes checks chains of Reverse and Transpose (fused into one
// copy) against the composed versions.
func TestFusedPermutes(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := randomTensor(rng, 3, 9, 2, 40)
	fn := func(in []*Node) []*Node {
		a := TransposeAllAxes(Reverse(in[0], 0, 1), 1, 0, 3, 2)
		b := Reverse(TransposeAllAxes(in[0], 2, 3, 0, 1), 1, 2)
		c := TransposeAllAxes(Reverse(TransposeAllAxes(a, 3, 2, 1, 0), 0), 0, 2, 1, 3)
		return []*Node{a, b, c}
	}
	want := run(t, newBackend(t, "kernels=off"), fn, x)
	got := run(t, newBackend(t, ""), fn, x)
	for i := range want {
		testutil.AssertClose(t, "fused permutes", got[i], want[i], 0)
	}
}

// TestElementwiseKernelsMatchSimpleGo checks the parallel binary kernels
// (large operands) against SimpleGo.
func TestElementwiseKernelsMatchSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	x, y := randomTensor(rng, 300, 200), randomTensor(rng, 300, 200)
	fn := func(in []*Node) []*Node {
		a, b := in[0], in[1]
		a32, b32 := ConvertDType(a, dtypes.Float32), ConvertDType(b, dtypes.Float32)
		half := Scalar(a.Graph(), dtypes.Float64, 0.5)
		zeroed := Mul(a, Sign(Max(b, ZerosLike(b)))) // has exact zeros
		outs := []*Node{Add(a, b), Sub(a, b), Mul(a, b), Max(a, b), Min(a, b),
			Sub(a, half), Sub(half, a), Mul(half, a), Max(a, half), Sign(a), Sign(zeroed),
			Add(a, half), Add(half, a), Mul(a, half), Min(half, a)}
		for _, o := range []*Node{Add(a32, b32), Sub(a32, b32), Mul(a32, b32), Max(a32, b32), Min(a32, b32), Sign(a32)} {
			outs = append(outs, ConvertDType(o, dtypes.Float64))
		}
		return outs
	}
	assertMatchesSimpleGo(t, "elementwise", fn, x, y)
}

// TestRowBroadcastKernelsMatchSimpleGo checks the row-broadcast kernels (a per-channel vector
// [1,1,1,C] or a per-example one [B,1,1,C] against [B,H,W,C], on either side) against SimpleGo.
func TestRowBroadcastKernelsMatchSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := randomTensor(rng, 4, 32, 20, 16)
	v, pb := randomTensor(rng, 1, 1, 1, 16), randomTensor(rng, 4, 1, 1, 16)
	narrow, nv := randomTensor(rng, 4, 32, 80, 4), randomTensor(rng, 1, 1, 1, 4) // rows too short: SimpleGo's path
	fn := func(in []*Node) []*Node {
		x, v, pb, narrow, nv := in[0], in[1], in[2], in[3], in[4]
		outs := []*Node{Add(x, v), Sub(x, v), Sub(v, x), Mul(v, x), Max(x, pb), Min(pb, x), Sub(pb, x), Mul(x, pb), Add(narrow, nv)}
		x32, v32, pb32 := ConvertDType(x, dtypes.Float32), ConvertDType(v, dtypes.Float32), ConvertDType(pb, dtypes.Float32)
		for _, o := range []*Node{Mul(x32, v32), Add(v32, x32), Sub(x32, pb32), Sub(pb32, x32)} {
			outs = append(outs, ConvertDType(o, dtypes.Float64))
		}
		return outs
	}
	assertMatchesSimpleGo(t, "row broadcast", fn, x, v, pb, narrow, nv)
}

// TestSliceMatchesSimpleGo checks the strided-view Slice, alone and fused with a Transpose or
// another Slice that produced its operand, against SimpleGo.
func TestSliceMatchesSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	x := randomTensor(rng, 3, 9, 8, 5)
	fn := func(in []*Node) []*Node {
		x := in[0]
		tap := Slice(x, AxisRange(), AxisRange(1, 8).Stride(2), AxisRange(2, 8).Stride(3), AxisRange())
		outs := []*Node{
			tap,
			Slice(x, AxisRange(1, 3), AxisRange(0, 9), AxisElem(7), AxisRange(1, 4)),
			Slice(Transpose(x, 0, 3), AxisRange(), AxisRange(2, 5), AxisRange(1, 7).Stride(2)),
			Slice(tap, AxisRange(0, 2), AxisRange(1, 4).Stride(2), AxisRange(), AxisRange(0, 5).Stride(4)),
			Slice(x, AxisRange(), AxisRange(3, 3), AxisRange(), AxisRange()), // empty
			ConvertDType(Slice(ConvertDType(x, dtypes.Float32), AxisRange(), AxisRange(0, 9).Stride(4)), dtypes.Float64),
			ConvertDType(Slice(ConvertDType(x, dtypes.Int32), AxisRange(1, 2)), dtypes.Float64), // SimpleGo's path
		}
		return outs
	}
	assertMatchesSimpleGo(t, "slice", fn, x)
}

// TestBroadcastInDimMatchesSimpleGo checks the strided-copy BroadcastInDim against SimpleGo.
func TestBroadcastInDimMatchesSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	row, col, vec := randomTensor(rng, 1, 600), randomTensor(rng, 64, 1), randomTensor(rng, 1, 1, 1, 16)
	fn := func(in []*Node) []*Node {
		row, col, vec := in[0], in[1], in[2]
		return []*Node{
			BroadcastToDims(row, 64, 600),
			BroadcastToDims(col, 64, 600),
			BroadcastToDims(vec, 4, 32, 20, 16),
			BroadcastToDims(Scalar(row.Graph(), dtypes.Float64, 1.5), 64, 600),
			ExpandAndBroadcast(Reshape(row, 600), []int{80, 600}, []int{0}),
			ConvertDType(BroadcastToDims(ConvertDType(col, dtypes.Float32), 64, 600), dtypes.Float64),
			BroadcastToDims(col, 64, 6), // small: SimpleGo's path
		}
	}
	assertMatchesSimpleGo(t, "broadcast", fn, row, col, vec)
}

// assertMatchesSimpleGo runs fn on SimpleGo and on this backend and requires equal outputs.
func assertMatchesSimpleGo(t *testing.T, what string, fn func(in []*Node) []*Node, inputs ...*tensors.Tensor) {
	t.Helper()
	assertNearSimpleGo(t, what, 0, fn, inputs...)
}

// assertNearSimpleGo is assertMatchesSimpleGo within tol (see testutil.AssertClose).
func assertNearSimpleGo(t *testing.T, what string, tol float64, fn func(in []*Node) []*Node, inputs ...*tensors.Tensor) {
	t.Helper()
	reference, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	want := run(t, reference, fn, inputs...)
	got := run(t, newBackend(t, ""), fn, inputs...)
	for i := range want {
		testutil.AssertClose(t, what+" "+strconv.Itoa(i), got[i], want[i], tol)
	}
}

// TestReduceSumMatchesSimpleGo checks the row-summing ReduceSum (contiguous axes) against
// SimpleGo, bit for bit.
func TestReduceSumMatchesSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	x := randomTensor(rng, 4, 32, 20, 16)
	fn := func(in []*Node) []*Node {
		x := in[0]
		x32 := ConvertDType(x, dtypes.Float32)
		outs := []*Node{
			ReduceSum(x, 0, 1, 2), ReduceSum(x, 1, 2), ReduceSum(x, 3), ReduceSum(x, 0), ReduceSum(x, 1),
			ReduceSum(x, 2, 3), ReduceSum(x, 0, 2), // not contiguous: SimpleGo's path
			ReduceAllSum(x), ReduceMean(x, 1, 2),
			ReduceSum(Slice(x, AxisRange(0, 1), AxisRange(0, 2)), 0, 1), // small: SimpleGo's path
		}
		for _, o := range []*Node{ReduceSum(x32, 0, 1, 2), ReduceSum(x32, 1, 2), ReduceSum(x32, 3)} {
			outs = append(outs, ConvertDType(o, dtypes.Float64))
		}
		return outs
	}
	assertMatchesSimpleGo(t, "reduce sum", fn, x)
}
