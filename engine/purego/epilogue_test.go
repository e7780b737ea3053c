package purego

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TestConvEpilogueMatchesSimpleGo runs convolutions followed by batch-norm inference, a
// residual addition and ReLU (float32 and float64; two row blocks and two column blocks of the
// matrix multiplication, so ranges finish in any order), one whose output is also read elsewhere
// (not merged), against SimpleGo.
func TestConvEpilogueMatchesSimpleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	x, k := randomTensor(rng, 2, 10, 9, 8), randomTensor(rng, 3, 3, 8, 136)
	scale, shift, res := randomTensor(rng, 1, 1, 1, 136), randomTensor(rng, 1, 1, 1, 136), randomTensor(rng, 2, 10, 9, 136)
	fn := func(in []*Node) []*Node {
		var outs []*Node
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			x, k, scale, shift, res := ConvertDType(in[0], dt), ConvertDType(in[1], dt), ConvertDType(in[2], dt),
				ConvertDType(in[3], dt), ConvertDType(in[4], dt)
			zero := ScalarZero(x.Graph(), dt)
			y := Convolve(x, k).StridePerAxis(1, 1).PadSame().Done()
			merged := Max(Add(Add(Mul(y, scale), shift), res), zero)
			shared := Convolve(x, k).StridePerAxis(1, 1).NoPadding().Done()
			notMerged := Max(Mul(shared, scale), zero)
			outs = append(outs, ConvertDType(merged, dtypes.Float64), ConvertDType(notMerged, dtypes.Float64),
				ConvertDType(ReduceSum(shared, 0, 1, 2), dtypes.Float64))
		}
		return outs
	}
	assertNearSimpleGo(t, "conv epilogue", 1e-5, fn, x, k, scale, shift, res)
}

// TestConvEpilogueMerges checks which convolutions take their element-wise cluster as an
// epilogue: one read only by a batch-norm + ReLU chain does; one whose output is also a result
// does not.
func TestConvEpilogueMerges(t *testing.T) {
	b := newBackend(t, "").Builder("epilogue").(*Builder)
	must := mustOp(t)
	x := must(b.Parameter("x", shapes.Make(dtypes.Float32, 4, 16, 16, 16), nil))
	k := must(b.Parameter("k", shapes.Make(dtypes.Float32, 3, 3, 16, 32), nil))
	scale := must(b.Parameter("scale", shapes.Make(dtypes.Float32, 1, 1, 1, 32), nil))
	zero := must(b.Constant([]float32{0}))
	axes := backends.ConvolveAxesConfig{InputBatch: 0, InputSpatial: []int{1, 2}, InputChannels: 3,
		KernelSpatial: []int{0, 1}, KernelInputChannels: 2, KernelOutputChannels: 3,
		OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3}
	conv := func() backends.Op {
		return must(b.ConvGeneral(x, k, axes, nil, [][2]int{{1, 1}, {1, 1}}, nil, nil, 1, 1))
	}
	bnRelu := must(b.Max(must(b.Add(must(b.Mul(conv(), scale)), scale)), zero))
	returned := conv()
	other := must(b.Max(must(b.Mul(returned, scale)), zero))
	names := customSteps(t, b, "Conv", bnRelu, returned, other)
	want := []string{"Conv+Fused(MulAdd,Max)", "Conv"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("convolution nodes %q, want %q", names, want)
	}
}

// TestKernelGradientEpilogue runs an SGD-like update of a kernel as the epilogue of its
// gradient's product (stored patches, read transposed) against the composed form.
func TestKernelGradientEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	x, k, r := randomTensor(rng, 2, 6, 6, 32), randomTensor(rng, 3, 3, 32, 40), randomTensor(rng, 2, 6, 6, 40)
	fn := func(in []*Node) []*Node {
		x, k, r := ConvertDType(in[0], dtypes.Float32), ConvertDType(in[1], dtypes.Float32), ConvertDType(in[2], dtypes.Float32)
		y := Convolve(x, k).StridePerAxis(1, 1).PadSame().Done()
		grad := Gradient(ReduceAllSum(Mul(y, r)), k)[0]
		updated := Sub(k, MulScalar(grad, 0.01))
		return []*Node{ConvertDType(updated, dtypes.Float64)}
	}
	want := run(t, newBackend(t, "kernels=off"), fn, x, k, r) // SimpleGo has no Reverse
	got := run(t, newBackend(t, ""), fn, x, k, r)
	testutil.AssertClose(t, "kernel update", got[0], want[0], 1e-5)
}
