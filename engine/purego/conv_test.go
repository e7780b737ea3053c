package purego

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// convCase is one ConvGeneral configuration; layout "NHWC" or "NCHW".
type convCase struct {
	name                     string
	layout                   string
	batch, channels, outCh   int
	spatial, kernel          []int
	strides, inDil, kerDil   []int
	paddings                 [][2]int
	featureGroups, batchGrps int
	noGrad                   bool
	float32                  bool // compute in float32 (inputs and outputs stay float64)
}

var convCases = []convCase{
	{name: "3x3 same", batch: 2, channels: 3, outCh: 4, spatial: []int{6, 5}, kernel: []int{3, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 stride2", batch: 2, channels: 3, outCh: 4, spatial: []int{7, 6}, kernel: []int{3, 3}, strides: []int{2, 2}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "1x1 stride2", batch: 2, channels: 4, outCh: 3, spatial: []int{6, 6}, kernel: []int{1, 1}, strides: []int{2, 2}},
	{name: "7x7 stride2 pad3", batch: 1, channels: 2, outCh: 3, spatial: []int{11, 10}, kernel: []int{7, 7}, strides: []int{2, 2}, paddings: [][2]int{{3, 3}, {3, 3}}},
	{name: "asymmetric pad", batch: 2, channels: 2, outCh: 2, spatial: []int{6, 7}, kernel: []int{3, 3}, strides: []int{2, 1}, paddings: [][2]int{{0, 1}, {2, 1}}},
	{name: "kernel dilation", batch: 2, channels: 2, outCh: 3, spatial: []int{8, 7}, kernel: []int{3, 3}, kerDil: []int{2, 1}, paddings: [][2]int{{2, 2}, {1, 1}}},
	{name: "dilation and stride", batch: 1, channels: 2, outCh: 2, spatial: []int{9, 9}, kernel: []int{2, 3}, kerDil: []int{2, 2}, strides: []int{2, 3}, noGrad: true},
	{name: "valid no pad", batch: 3, channels: 2, outCh: 2, spatial: []int{5, 4}, kernel: []int{2, 2}},
	{name: "feature groups", batch: 2, channels: 4, outCh: 6, spatial: []int{5, 5}, kernel: []int{3, 3}, featureGroups: 2, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "depthwise", batch: 2, channels: 3, outCh: 3, spatial: []int{6, 5}, kernel: []int{3, 3}, featureGroups: 3, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "depthwise x2 stride2", batch: 2, channels: 3, outCh: 6, spatial: []int{7, 7}, kernel: []int{3, 3}, featureGroups: 3, strides: []int{2, 2}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "depthwise dilated input", batch: 2, channels: 4, outCh: 4, spatial: []int{4, 5}, kernel: []int{3, 3}, featureGroups: 4, inDil: []int{2, 2}, paddings: [][2]int{{2, 3}, {2, 2}}, noGrad: true},
	{name: "groups of 2 inputs, 1 output", batch: 2, channels: 6, outCh: 3, spatial: []int{5, 6}, kernel: []int{3, 3}, featureGroups: 3, inDil: []int{2, 1}, paddings: [][2]int{{2, 2}, {1, 1}}, noGrad: true},
	{name: "depthwise 44 channels stride 2", batch: 2, channels: 44, outCh: 44, spatial: []int{7, 6}, kernel: []int{3, 3}, featureGroups: 44, strides: []int{2, 2}, paddings: [][2]int{{1, 1}, {0, 1}}},
	{name: "depthwise 5x5 dilation 2", batch: 2, channels: 16, outCh: 16, spatial: []int{9, 8}, kernel: []int{5, 5}, featureGroups: 16, kerDil: []int{2, 2}, paddings: [][2]int{{4, 4}, {4, 4}}},
	{name: "input dilation", batch: 2, channels: 2, outCh: 3, spatial: []int{4, 5}, kernel: []int{3, 3}, inDil: []int{2, 3}, paddings: [][2]int{{1, 2}, {2, 1}}, noGrad: true},
	{name: "batch groups", batch: 4, channels: 3, outCh: 4, spatial: []int{5, 5}, kernel: []int{3, 3}, batchGrps: 2, noGrad: true},
	{name: "NCHW stride2", layout: "NCHW", batch: 2, channels: 3, outCh: 4, spatial: []int{7, 6}, kernel: []int{3, 3}, strides: []int{2, 2}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 many rows", batch: 4, channels: 3, outCh: 4, spatial: []int{20, 20}, kernel: []int{3, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 wide (column blocks, taps inside panels)", batch: 2, channels: 40, outCh: 20, spatial: []int{9, 7}, kernel: []int{3, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 tall (row blocks) stride 2", batch: 3, channels: 16, outCh: 100, spatial: []int{8, 9}, kernel: []int{3, 3}, strides: []int{2, 2}, paddings: [][2]int{{0, 1}, {1, 1}}},
	{name: "3x3 long depth (gathered kernel gradient)", batch: 4, channels: 16, outCh: 24, spatial: []int{12, 12}, kernel: []int{3, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 long depth, 20 channels, 100 outputs", batch: 4, channels: 20, outCh: 100, spatial: []int{14, 14}, kernel: []int{3, 3}, paddings: [][2]int{{1, 0}, {1, 1}}},
	{name: "7x7 stride2 first layer (gathered kernel gradient, taps in runs)", batch: 4, channels: 3, outCh: 8, spatial: []int{32, 30}, kernel: []int{7, 7}, strides: []int{2, 2}, paddings: [][2]int{{3, 3}, {3, 2}}},
	{name: "1x1 pointwise (x read in place)", batch: 2, channels: 24, outCh: 40, spatial: []int{8, 8}, kernel: []int{1, 1}},
	{name: "1x1 pointwise, short depth (stored patches are x)", batch: 1, channels: 32, outCh: 20, spatial: []int{4, 4}, kernel: []int{1, 1}},
	{name: "3x3 on a 2x2 map (kernel gradient by tap)", batch: 3, channels: 20, outCh: 12, spatial: []int{2, 2}, kernel: []int{3, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "5x5 on a 3x2 map, uneven padding (kernel gradient by tap)", batch: 2, channels: 6, outCh: 5, spatial: []int{3, 2}, kernel: []int{5, 5}, paddings: [][2]int{{2, 1}, {2, 2}}},
	{name: "1D", batch: 2, channels: 3, outCh: 2, spatial: []int{9}, kernel: []int{3}, strides: []int{2}, paddings: [][2]int{{1, 0}}},
}

// shapes returns the input and kernel dimensions and the axes configuration.
func (cc convCase) shapes() (inDims, kDims []int, axes backends.ConvolveAxesConfig) {
	nd := len(cc.spatial)
	spatialAxes := func(from int) []int {
		a := make([]int, nd)
		for i := range a {
			a[i] = from + i
		}
		return a
	}
	kIn := cc.channels / max(cc.featureGroups, 1)
	kDims = append(append([]int{}, cc.kernel...), kIn, cc.outCh)
	axes.KernelSpatial, axes.KernelInputChannels, axes.KernelOutputChannels = spatialAxes(0), nd, nd+1
	if cc.layout == "NCHW" {
		inDims = append([]int{cc.batch, cc.channels}, cc.spatial...)
		axes.InputBatch, axes.InputChannels, axes.InputSpatial = 0, 1, spatialAxes(2)
		axes.OutputBatch, axes.OutputChannels, axes.OutputSpatial = 0, 1, spatialAxes(2)
	} else {
		inDims = append(append([]int{cc.batch}, cc.spatial...), cc.channels)
		axes.InputBatch, axes.InputChannels, axes.InputSpatial = 0, nd+1, spatialAxes(1)
		axes.OutputBatch, axes.OutputChannels, axes.OutputSpatial = 0, nd+1, spatialAxes(1)
	}
	return
}

// graphFn returns conv(x, k) and, unless noGrad, the gradients of
// sum(conv * r) with respect to x and k, where r is a third input.
func (cc convCase) graphFn(axes backends.ConvolveAxesConfig) func(in []*Node) []*Node {
	return func(in []*Node) []*Node {
		x, k := in[0], in[1]
		if cc.float32 {
			x, k = ConvertDType(x, dtypes.Float32), ConvertDType(k, dtypes.Float32)
		}
		y := ConvGeneral(x, k, axes, cc.strides, cc.paddings, cc.inDil, cc.kerDil, cc.featureGroups, cc.batchGrps)
		outs := []*Node{y}
		if !cc.noGrad {
			r := ConvertDType(in[2], y.DType())
			loss := ReduceAllSum(Mul(y, r))
			outs = append(outs, Gradient(loss, x, k)...)
		}
		for i, o := range outs {
			outs[i] = ConvertDType(o, dtypes.Float64)
		}
		return outs
	}
}

// TestLoweredConvMatchesDirect compares the lowered convolution (and its two
// gradients) with SimpleGo's direct convolution on random inputs.
func TestLoweredConvMatchesDirect(t *testing.T) {
	lowered, composed, direct := newBackend(t, ""), newBackend(t, "kernels=off"), newBackend(t, "conv=direct")
	cases := convCases
	for _, cc := range convCases {
		cc.float32 = true
		cc.name += " float32"
		cases = append(cases, cc)
	}
	for i, cc := range cases {
		tol := 1e-9
		if cc.float32 {
			tol = 1e-4
		}
		t.Run(cc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			inDims, kDims, axes := cc.shapes()
			x, k := randomTensor(rng, inDims...), randomTensor(rng, kDims...)
			// Output shape from the direct path, for the cotangent r.
			want := run(t, direct, cc.noGradFn(axes), x, k)
			outShape := outputDims(t, direct, cc, axes, x, k)
			r := randomTensor(rng, outShape...)
			fn := cc.graphFn(axes)
			if !cc.noGrad {
				want = run(t, direct, fn, x, k, r)
			}
			for _, backend := range []backends.Backend{lowered, composed} {
				got := run(t, backend, fn, x, k, r)
				for j, name := range []string{"output", "grad input", "grad kernel"}[:len(want)] {
					testutil.AssertClose(t, fmt.Sprintf("%s %s (%s)", cc.name, name, backend.(*Backend).config()), got[j], want[j], tol)
				}
			}
		})
	}
}

func (cc convCase) noGradFn(axes backends.ConvolveAxesConfig) func(in []*Node) []*Node {
	c := cc
	c.noGrad = true
	return c.graphFn(axes)
}

func outputDims(t *testing.T, backend backends.Backend, cc convCase, axes backends.ConvolveAxesConfig, inputs ...any) []int {
	t.Helper()
	exec, err := NewExec(backend, cc.noGradFn(axes))
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	for i, in := range inputs {
		inputs[i] = mustClone(in.(*tensors.Tensor))
	}
	outs, err := exec.Exec(inputs...)
	if err != nil {
		t.Fatal(err)
	}
	return outs[0].Shape().Dimensions
}

// TestDepthwiseKernelGradForm checks the kernel gradient of a depthwise convolution written in
// XLA's form (batch groups, one per channel, the input's batch and channel axes exchanged; the
// form the engine's depthwise gradient uses) against GoMLX's gradient of the grouped convolution
// (one ordinary convolution per channel), on the direct kernel and on the composed lowering.
// SimpleGo's direct convolution is no reference here: it assigns output channel o to batch group
// o/groups instead of XLA's o/(outputs per group).
func TestDepthwiseKernelGradForm(t *testing.T) {
	lowered, composed := newBackend(t, ""), newBackend(t, "kernels=off")
	cases := []struct {
		name                      string
		batch, h, w, c, m, kh, kw int
		stride, dil               int
		pads                      [2]int // SAME-style padding before and after, both axes
		float32                   bool
	}{
		{name: "3x3 stride 1", batch: 2, h: 6, w: 5, c: 3, m: 1, kh: 3, kw: 3, stride: 1, dil: 1, pads: [2]int{1, 1}},
		{name: "3x3 stride 2", batch: 3, h: 8, w: 8, c: 16, m: 1, kh: 3, kw: 3, stride: 2, dil: 1, pads: [2]int{0, 1}, float32: true},
		{name: "5x5 stride 2 multiplier 2", batch: 2, h: 9, w: 9, c: 3, m: 2, kh: 5, kw: 5, stride: 2, dil: 1, pads: [2]int{2, 2}},
		{name: "valid stride 2 (negative high padding)", batch: 2, h: 8, w: 8, c: 8, m: 1, kh: 3, kw: 3, stride: 2, dil: 1, float32: true},
		{name: "dilation 2", batch: 2, h: 8, w: 7, c: 4, m: 1, kh: 3, kw: 3, stride: 1, dil: 2, pads: [2]int{2, 2}},
	}
	for i, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			ext := (cc.kh-1)*cc.dil + 1
			ho := (cc.h+cc.pads[0]+cc.pads[1]-ext)/cc.stride + 1
			wo := (cc.w+cc.pads[0]+cc.pads[1]-((cc.kw-1)*cc.dil+1))/cc.stride + 1
			x, k := randomTensor(rng, cc.batch, cc.h, cc.w, cc.c), randomTensor(rng, cc.kh, cc.kw, 1, cc.c*cc.m)
			r := randomTensor(rng, cc.batch, ho, wo, cc.c*cc.m)
			pads := [][2]int{{cc.pads[0], cc.pads[1]}, {cc.pads[0], cc.pads[1]}}
			// JAX's padding for the kernel gradient: low as the forward's, high so the output has the kernel's size.
			rhsPads := [][2]int{
				{cc.pads[0], (ho-1)*cc.stride + 1 - cc.h + ext - cc.pads[0] - 1},
				{cc.pads[0], (wo-1)*cc.stride + 1 - cc.w + (cc.kw-1)*cc.dil + 1 - cc.pads[0] - 1}}
			nhwc := backends.ConvolveAxesConfig{InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
				KernelInputChannels: 2, KernelOutputChannels: 3, KernelSpatial: []int{0, 1},
				OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2}}
			swapped := backends.ConvolveAxesConfig{InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
				KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
				OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1}}
			fn := func(in []*Node) []*Node {
				x, k, r := in[0], in[1], in[2]
				if cc.float32 {
					x, k, r = ConvertDType(x, dtypes.Float32), ConvertDType(k, dtypes.Float32), ConvertDType(r, dtypes.Float32)
				}
				strides, dil := []int{cc.stride, cc.stride}, []int{cc.dil, cc.dil}
				y := ConvGeneral(x, k, nhwc, strides, pads, nil, dil, cc.c, 1)
				want := Gradient(ReduceAllSum(Mul(y, r)), k)[0]
				got := ConvGeneral(x, r, swapped, dil, rhsPads, nil, strides, 1, cc.c)
				return []*Node{ConvertDType(want, dtypes.Float64), ConvertDType(got, dtypes.Float64)}
			}
			tol := 1e-9
			if cc.float32 {
				tol = 1e-4
			}
			for _, backend := range []backends.Backend{lowered, composed} {
				outs := run(t, backend, fn, x, k, r)
				testutil.AssertClose(t, fmt.Sprintf("%s (%s)", cc.name, backend.(*Backend).config()), outs[1], outs[0], tol)
			}
		})
	}
}

// The kernel gradient by tap hands every value of the gradient to the
// epilogue (the optimizer's update) exactly once, final; on a 1x1 map 8 of the
// 9 taps read only padding.
func TestKernelGradByTapEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n, c, co = 3, 7, 20
	for _, hw := range []int{1, 2} {
		p, err := newConvParams(2, backends.ConvolveAxesConfig{}, nil, [][2]int{{1, 1}, {1, 1}}, nil, nil, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		table := patchTable([]int{hw, hw}, []int{hw, hw}, []int{3, 3}, p)
		if !mostlyPadding(table) {
			t.Fatalf("%dx%d map: not mostly padding", hw, hw)
		}
		x, dy := normalFloat32s(rng, n*hw*hw*c), normalFloat32s(rng, n*hw*hw*co)
		run := weightGradByTapRun[float32](table, hw*hw, hw*hw, 9, c, n, co)
		want := make([]float32, 9*c*co)
		run([]any{x, dy}, want, nil)
		// Tap 4 (the centre) of channel 0, output channel 0, against a plain sum.
		var sum float32
		for i := range n * hw * hw {
			sum += x[i*c] * dy[i*co]
		}
		if d := want[4*c*co] - sum; d > 1e-4 || d < -1e-4 {
			t.Fatalf("%dx%d map: centre tap %v, want %v", hw, hw, want[4*c*co], sum)
		}
		got, seen := make([]float32, len(want)), make([]int, len(want))
		var mu sync.Mutex
		run([]any{x, dy}, got, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			for i := lo; i < hi; i++ {
				seen[i]++
				if got[i] != want[i] {
					t.Errorf("%dx%d map: out[%d] = %v when handed to the epilogue, want %v", hw, hw, i, got[i], want[i])
				}
			}
		})
		for i, k := range seen {
			if k != 1 {
				t.Fatalf("%dx%d map: out[%d] handed to the epilogue %d times", hw, hw, i, k)
			}
		}
	}
}
