package purego

import (
	"slices"
	"time"

	"fmt"
	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"math"
	"math/rand/v2"
	"testing"
)

// winogradCases are 3×3 stride-1 convolutions that winogradConv handles (with
// winogradMinChannels lowered to 1): padding 0, 1, asymmetric and larger than
// the kernel's reach, odd and even sizes, 1×1 and 2×2 maps, channel counts that
// are not multiples of 8, batch 1 and more.
var winogradCases = []convCase{
	{name: "pad 1 odd", batch: 2, channels: 5, outCh: 7, spatial: []int{6, 5}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "pad 0", batch: 1, channels: 9, outCh: 16, spatial: []int{7, 8}},
	{name: "asymmetric", batch: 3, channels: 13, outCh: 10, spatial: []int{5, 6}, paddings: [][2]int{{0, 2}, {1, 0}}},
	{name: "pad 2", batch: 2, channels: 8, outCh: 8, spatial: []int{5, 4}, paddings: [][2]int{{2, 2}, {2, 1}}},
	{name: "pad 3", batch: 1, channels: 4, outCh: 3, spatial: []int{4, 4}, paddings: [][2]int{{3, 2}, {2, 3}}, noGrad: true},
	{name: "1x1 map", batch: 2, channels: 17, outCh: 5, spatial: []int{1, 1}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "2x2 map", batch: 2, channels: 16, outCh: 17, spatial: []int{2, 2}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "3x3 map pad 0", batch: 4, channels: 3, outCh: 2, spatial: []int{3, 3}},
	{name: "wide channels", batch: 2, channels: 40, outCh: 37, spatial: []int{9, 10}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "many tiles", batch: 3, channels: 24, outCh: 32, spatial: []int{23, 17}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "few tiles, output channels split", batch: 2, channels: 12, outCh: 260, spatial: []int{4, 3}, paddings: [][2]int{{1, 1}, {1, 1}}},
	{name: "NCHW", layout: "NCHW", batch: 2, channels: 6, outCh: 9, spatial: []int{7, 6}, paddings: [][2]int{{1, 1}, {1, 1}}},
}

// TestWinogradMatchesDirect compares the Winograd convolution and its
// gradients (the input gradient is itself a 3×3 stride-1 convolution on the
// Winograd path) with SimpleGo's direct convolution in float64, and checks that
// the error is of the order of the direct float32 path's.
func TestWinogradMatchesDirect(t *testing.T) {
	lowered, direct := newBackend(t, ""), newBackend(t, "conv=direct")
	defer liftWinogradLimits()()
	for _, tile := range []int{2, 4} {
		winogradForceTile = tile
		for i, cc := range winogradCases {
			cc.kernel = []int{3, 3}
			t.Run(fmt.Sprintf("F(%dx%d,3x3) %s", tile, tile, cc.name), func(t *testing.T) {
				checkWinograd(t, lowered, direct, cc, uint64(i))
			})
		}
	}
}

// checkWinograd runs cc (a convolution and its gradients) on direct in float64
// and on lowered in float32 without and with Winograd, and checks the errors.
func checkWinograd(t *testing.T, lowered, direct backends.Backend, cc convCase, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 15))
	inDims, kDims, axes := cc.shapes()
	x, k := randomTensor(rng, inDims...), randomTensor(rng, kDims...)
	r := randomTensor(rng, outputDims(t, direct, cc, axes, x, k)...)
	want := run(t, direct, cc.graphFn(axes), x, k, r)
	f32 := cc
	f32.float32 = true
	winogradMinChannels = math.MaxInt
	plain := run(t, lowered, f32.graphFn(axes), x, k, r)
	winogradMinChannels = 1
	before, beforeGrad := winogradBuilds.Load(), winogradGradBuilds.Load()
	got := run(t, lowered, f32.graphFn(axes), x, k, r)
	// The forward convolution and the input gradient (padding 2-p).
	if n, want := winogradBuilds.Load()-before, 2-btoi(cc.noGrad); n != int64(want) {
		t.Fatalf("%d convolutions took the Winograd path, want %d", n, want)
	}
	// The kernel gradient (winogradGradConv), when its operands are NHWC.
	if n, want := winogradGradBuilds.Load()-beforeGrad, btoi(!cc.noGrad && cc.layout == ""); n != int64(want) {
		t.Fatalf("%d kernel gradients took the Winograd path, want %d", n, want)
	}
	tol := 1e-5 * math.Sqrt(float64(9*max(cc.channels, cc.outCh)))
	for j, name := range []string{"output", "grad input", "grad kernel"}[:len(want)] {
		errW, errD := relError(got[j], want[j]), relError(plain[j], want[j])
		t.Logf("%s: relative error Winograd %.2e, direct float32 %.2e (tol %.1e)", name, errW, errD, tol)
		if errW > tol {
			t.Errorf("%s: relative error %.2e > %.1e", name, errW, tol)
		}
		if errD > tol { // a 3×3 kernel covering a 3×3 input once was taken for a 1×1 convolution
			t.Errorf("%s: relative error of the direct float32 path %.2e > %.1e", name, errD, tol)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// liftWinogradLimits lets every convolution winogradConv can handle take the
// Winograd path, except for winogradMinChannels (the caller's choice); it
// returns the function restoring the limits.
func liftWinogradLimits() (restore func()) {
	c, t, r, f := winogradMinChannels, winogradMinTiles, winogradMaxMulRatio, winogradForceTile
	gt, gw := winogradGradMinTiles, winogradGradMinWork
	winogradMinTiles, winogradMaxMulRatio, winogradGradMinTiles, winogradGradMinWork = 1, math.Inf(1), 1, 0
	return func() {
		winogradMinChannels, winogradMinTiles, winogradMaxMulRatio, winogradForceTile = c, t, r, f
		winogradGradMinTiles, winogradGradMinWork = gt, gw
	}
}

// relError is max|got-want| / max|want|.
func relError(got, want []float64) float64 {
	var diff, scale float64
	for i := range got {
		diff = max(diff, math.Abs(got[i]-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	return diff / max(scale, 1e-30)
}

// TestWinogradTransformsMatchGo checks the build's input, output and kernel transforms
// (AVX2 assembly on amd64) against the portable ones, on channel counts with
// and without a remainder of 8.
func TestWinogradTransformsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []int{1, 8, 13, 64, 67} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			random := func(n int) []float32 {
				s := make([]float32, n)
				for i := range s {
					s[i] = 2*rng.Float32() - 1
				}
				return s
			}
			var in [16][]float32
			for j := range in {
				in[j] = random(c)
			}
			stride := c + 3
			got, want := random(16*stride), make([]float32, 16*stride)
			copy(want, got)
			winogradInput(&in, got, stride, c)
			winogradInputGo(&in, want, stride, 0, c)
			assertSame(t, "input transform", got, want)
			m := random(16 * stride)
			var outGot, outWant [4][]float32
			for j := range outGot {
				outGot[j], outWant[j] = make([]float32, c), make([]float32, c)
			}
			winogradOutput(m, stride, &outGot, c)
			winogradOutputGo(m, stride, &outWant, 0, c)
			for j := range outGot {
				assertSame(t, fmt.Sprintf("output transform %d", j), outGot[j], outWant[j])
			}
			// Kernel rows: element (kh, kw, j) at 3 + kh*s0 + kw*s1 + j.
			s1, s0 := c+5, 3*(c+5)+2
			w := random(3 + 3*s0)
			plane := 2*c + 1
			uGot, uWant := random(16*plane), make([]float32, 16*plane)
			copy(uWant, uGot)
			winogradKernelRow(w, 3, s0, s1, uGot, 1, plane, c)
			winogradKernelRowGo(w, 3, s0, s1, uWant, 1, plane, 0, c)
			assertSame(t, "kernel transform", uGot, uWant)
			// The kernel gradient's back transform: 16 planes in, 9 out.
			mm := random(16 * plane)
			backGot, backWant := random(9*plane), make([]float32, 9*plane)
			copy(backWant, backGot)
			winogradGradBack(mm, plane, backGot, plane, 1, c+1)
			winogradGradBackGo(mm, plane, backWant, plane, 1, c+1)
			assertSame(t, "gradient back transform", backGot, backWant)
		})
	}
}

// TestWinograd4TransformsMatchGo checks the build's F(4×4, 3×3) input,
// output and kernel transforms against the portable ones (to rounding: the assembly
// fuses multiply-adds).
func TestWinograd4TransformsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows := func(n, c int) [][]float32 {
		r := make([][]float32, n)
		for i := range r {
			r[i] = make([]float32, c)
			for j := range r[i] {
				r[i][j] = 2*rng.Float32() - 1
			}
		}
		return r
	}
	for _, c := range []int{1, 8, 13, 64, 67} {
		var in, vGot, vWant, m [36][]float32
		var oGot, oWant [16][]float32
		copy(in[:], rows(36, c))
		copy(m[:], rows(36, c))
		copy(vGot[:], rows(36, c))
		copy(vWant[:], rows(36, c))
		copy(oGot[:], rows(16, c))
		copy(oWant[:], rows(16, c))
		winograd4Input(&in, &vGot, c)
		winograd4InputGo(&in, &vWant, 0, c)
		winograd4Output(&m, &oGot, c)
		winograd4OutputGo(&m, &oWant, 0, c)
		for i := range vGot {
			assertNear(t, fmt.Sprintf("c=%d input transform %d", c, i), vGot[i], vWant[i], 1e-5)
		}
		for i := range oGot {
			assertNear(t, fmt.Sprintf("c=%d output transform %d", c, i), oGot[i], oWant[i], 1e-5)
		}
		s1, s0 := c+5, 3*(c+5)+2
		w := rows(1, 3+3*s0)[0]
		plane := 2*c + 1
		uGot, uWant := rows(1, 36*plane)[0], make([]float32, 36*plane)
		copy(uWant, uGot)
		winograd4KernelRow(w, 3, s0, s1, uGot, 1, plane, c)
		winograd4KernelRowGo(w, 3, s0, s1, uWant, 1, plane, 0, c)
		assertNear(t, fmt.Sprintf("c=%d kernel transform", c), uGot, uWant, 1e-6)
		var g [16][]float32
		copy(g[:], rows(16, c))
		yGot, yWant := rows(1, 36*plane)[0], make([]float32, 36*plane)
		copy(yWant, yGot)
		winograd4GradTile(&g, yGot[1:], plane, c)
		winograd4GradTileGo(&g, yWant[1:], plane, 0, c)
		assertNear(t, fmt.Sprintf("c=%d gradient tile transform", c), yGot, yWant, 1e-5)
		mm := rows(1, 36*plane)[0]
		backGot, backWant := rows(1, 9*plane)[0], make([]float32, 9*plane)
		copy(backWant, backGot)
		winograd4GradBack(mm, plane, backGot, plane, 1, c+1)
		winograd4GradBackGo(mm, plane, backWant, plane, 1, c+1)
		assertNear(t, fmt.Sprintf("c=%d gradient back transform", c), backGot, backWant, 1e-6)
	}
}

func assertNear(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func assertSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// BenchmarkWinograd measures 3×3 stride-1 same-padded float32 convolutions
// [n, hw, hw, c] -> co on the direct path (F0) and with F(2×2, 3×3) and
// F(4×4, 3×3), in direct-convolution GFLOP/s:
//
//	go test ./engine/purego -run '^$' -bench Winograd -benchtime 10x
func BenchmarkWinograd(b *testing.B) {
	backend := newBackend(b, "")
	defer liftWinogradLimits()()
	for _, s := range [][4]int{{16, 64, 3, 64}, {16, 32, 8, 8}, {16, 32, 8, 32}, {16, 32, 16, 16}, {16, 32, 32, 32}, {4, 32, 64, 64},
		{8, 56, 64, 64}, {8, 28, 128, 128}, {8, 14, 256, 256}, {8, 7, 512, 512}, {16, 4, 512, 512}, {16, 2, 1024, 1024}, {1, 2, 256, 256},
		{8, 4, 512, 512}, {4, 4, 512, 512}, {16, 3, 256, 256}, {16, 5, 256, 256}, {2, 8, 128, 128},
		{16, 64, 64, 64}, {16, 32, 128, 128}, {16, 16, 256, 256}, {16, 8, 512, 512}} {
		n, hw, c, co := s[0], s[1], s[2], s[3]
		rng := rand.New(rand.NewPCG(1, 2))
		x, k := float32Tensor(rng, n, hw, hw, c), float32Tensor(rng, 3, 3, c, co)
		for _, tile := range []int{0, 2, 4} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d-%d/F%d", n, hw, hw, c, co, tile), func(b *testing.B) {
				benchConvTile(b, backend, tile, n*hw*hw*c*co*9, func(x, k *Node) *Node { return Convolve(x, k).PadSame().Done() }, x, k)
			})
		}
	}
}

// benchConvTile times fn(x, y), a 3x3 convolution or kernel gradient of macs
// multiply-adds, on the direct path (tile 0) or forced to Winograd F(tile×tile,
// 3×3), in direct-count GFLOP per second and per CPU-second.
func benchConvTile(b *testing.B, backend backends.Backend, tile, macs int, fn func(x, y *Node) *Node, x, y *tensors.Tensor) {
	winogradMinChannels, winogradForceTile = math.MaxInt, tile
	if tile != 0 {
		winogradMinChannels = 1
	}
	exec := MustNewExec(backend, fn)
	defer exec.Finalize()
	exec.MustExec(x, y)[0].FinalizeAll()
	b.ResetTimer()
	start, cpu := time.Now(), cputime.Used()
	for range b.N {
		exec.MustExec(x, y)[0].FinalizeAll()
	}
	flops := 2.0 * float64(macs*b.N)
	b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/(cputime.Used()-cpu).Seconds()/1e9, "GFLOP/cpu-s")
}

// TestWinogradEpilogue runs Winograd convolutions followed by batch-norm
// inference and ReLU, merged into one node that runs them row of tiles by
// row of tiles (epilogue.go), against SimpleGo: F(2×2) and F(4×4), with the
// output channels split over the workers (few tiles, 260 channels) and not.
//
// TestConvEpilogueMerges checks the merging itself; TestWinogradEpilogueMerges
// checks it on a convolution that takes the Winograd path by default.
func TestWinogradEpilogue(t *testing.T) {
	defer liftWinogradLimits()()
	winogradMinChannels = 1
	for _, tile := range []int{2, 4} {
		for _, dims := range [][4]int{{2, 10, 9, 8}, {1, 5, 6, 260}} {
			winogradForceTile = tile
			rng := rand.New(rand.NewPCG(uint64(tile), uint64(dims[3])))
			n, h, w, co := dims[0], dims[1], dims[2], dims[3]
			x, k := randomTensor(rng, n, h, w, 6), randomTensor(rng, 3, 3, 6, co)
			scale, shift := randomTensor(rng, 1, 1, 1, co), randomTensor(rng, 1, 1, 1, co)
			fn := func(in []*Node) []*Node {
				x, k, scale, shift := ConvertDType(in[0], dtypes.Float32), ConvertDType(in[1], dtypes.Float32),
					ConvertDType(in[2], dtypes.Float32), ConvertDType(in[3], dtypes.Float32)
				y := Convolve(x, k).StridePerAxis(1, 1).PadSame().Done()
				y = Max(Add(Mul(y, scale), shift), ScalarZero(x.Graph(), dtypes.Float32))
				return []*Node{ConvertDType(y, dtypes.Float64)}
			}
			before := winogradBuilds.Load()
			assertNearSimpleGo(t, fmt.Sprintf("F(%d) %v", tile, dims), 1e-5*math.Sqrt(9*6), fn, x, k, scale, shift)
			if winogradBuilds.Load() == before {
				t.Errorf("F(%d) %v: the convolution did not take the Winograd path", tile, dims)
			}
		}
	}
}

// TestWinogradEpilogueMerges checks that a Winograd convolution (default
// limits) read only by a batch-norm + ReLU cluster takes it as its epilogue.
func TestWinogradEpilogueMerges(t *testing.T) {
	b := newBackend(t, "").Builder("epilogue").(*Builder)
	must := func(op backends.Op, err error) backends.Op {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	x := must(b.Parameter("x", shapes.Make(dtypes.Float32, 4, 16, 16, 64), nil))
	k := must(b.Parameter("k", shapes.Make(dtypes.Float32, 3, 3, 64, 64), nil))
	scale := must(b.Parameter("scale", shapes.Make(dtypes.Float32, 1, 1, 1, 64), nil))
	zero := must(b.Constant([]float32{0}))
	axes := backends.ConvolveAxesConfig{InputBatch: 0, InputSpatial: []int{1, 2}, InputChannels: 3,
		KernelSpatial: []int{0, 1}, KernelInputChannels: 2, KernelOutputChannels: 3,
		OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3}
	before := winogradBuilds.Load()
	conv := must(b.ConvGeneral(x, k, axes, nil, [][2]int{{1, 1}, {1, 1}}, nil, nil, 1, 1))
	if winogradBuilds.Load() == before {
		t.Fatal("the convolution did not take the Winograd path")
	}
	bnRelu := must(b.Max(must(b.Add(must(b.Mul(conv, scale)), scale)), zero))
	exec, err := b.Compile([]backends.Op{bnRelu}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	var names []string
	for _, st := range exec.(*Executable).steps {
		if st.custom != nil {
			names = append(names, st.custom.name)
		}
	}
	if !slices.Contains(names, "ConvWinograd4+Fused(MulAdd,Max)") {
		t.Errorf("nodes %q, want a ConvWinograd4+Fused(MulAdd,Max)", names)
	}
}
