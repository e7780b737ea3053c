package purego

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"math/rand/v2"
	"testing"
)

// TestWinogradGradTransformsSingleTile checks Gᵀ[(A g Aᵀ) ⊙ (Bᵀ d B)]G, on
// the portable transforms of F(2×2, 3×3) and F(4×4, 3×3), against the direct
// correlation of one input tile (4×4, 6×6) with one gradient tile (2×2,
// 4×4), with each tile a unit impulse in turn (so that every coefficient of
// every transform is exercised on its own) and random.
func TestWinogradGradTransformsSingleTile(t *testing.T) {
	grad2 := func(d, g []float32) []float32 {
		var in [16][]float32
		var gg [4][]float32
		for i := range in {
			in[i] = d[i : i+1]
		}
		for i := range gg {
			gg[i] = g[i : i+1]
		}
		v, y := make([]float32, 16), make([]float32, 16)
		winogradInputGo(&in, v, 1, 0, 1)
		winogradGradTile(&gg, []float32{0}, y, 1, 1)
		for i := range v {
			v[i] *= y[i]
		}
		got := make([]float32, 9)
		winogradGradBackGo(v, 1, got, 1, 0, 1)
		return got
	}
	grad4 := func(d, g []float32) []float32 {
		var in, vp [36][]float32
		var gg [16][]float32
		v, y := make([]float32, 36), make([]float32, 36)
		for i := range in {
			in[i], vp[i] = d[i:i+1], v[i:i+1]
		}
		for i := range gg {
			gg[i] = g[i : i+1]
		}
		winograd4InputGo(&in, &vp, 0, 1)
		winograd4GradTileGo(&gg, y, 1, 0, 1)
		for i := range v {
			v[i] *= y[i]
		}
		got := make([]float32, 9)
		winograd4GradBackGo(v, 1, got, 1, 0, 1)
		return got
	}
	for _, f := range []struct {
		m    int
		grad func(d, g []float32) []float32
		tol  float64
	}{{2, grad2, 1e-5}, {4, grad4, 1e-4}} {
		alpha := f.m + 2
		rng := rand.New(rand.NewPCG(3, uint64(f.m)))
		type tiles struct{ d, g []float32 }
		var cases []tiles
		for i := range alpha * alpha {
			for j := range f.m * f.m {
				tc := tiles{make([]float32, alpha*alpha), make([]float32, f.m*f.m)}
				tc.d[i], tc.g[j] = 1, 1
				cases = append(cases, tc)
			}
		}
		for range 5 {
			tc := tiles{make([]float32, alpha*alpha), make([]float32, f.m*f.m)}
			for i := range tc.d {
				tc.d[i] = float32(rng.NormFloat64())
			}
			for i := range tc.g {
				tc.g[i] = float32(rng.NormFloat64())
			}
			cases = append(cases, tc)
		}
		for n, tc := range cases {
			want := make([]float32, 9)
			for kh := range 3 {
				for kw := range 3 {
					for r := range f.m {
						for c := range f.m {
							want[kh*3+kw] += tc.d[(r+kh)*alpha+c+kw] * tc.g[r*f.m+c]
						}
					}
				}
			}
			assertNear(t, fmt.Sprintf("F(%d) case %d", f.m, n), f.grad(tc.d, tc.g), want, f.tol)
		}
	}
}

// TestWinogradGradChunks runs TestWinogradMatchesDirect's cases with the
// kernel gradient computed by chunks of tiles (gradChunks) instead of whole,
// by F(2×2) and F(4×4).
func TestWinogradGradChunks(t *testing.T) {
	lowered, direct := newBackend(t, ""), newBackend(t, "conv=direct")
	defer liftWinogradLimits()()
	whole := winogradGradWholeBytes
	defer func() { winogradGradWholeBytes = whole }()
	winogradGradWholeBytes = 0
	for _, tile := range []int{2, 4} {
		winogradForceTile = tile
		for i, cc := range winogradCases {
			cc.kernel = []int{3, 3}
			t.Run(fmt.Sprintf("F(%dx%d,3x3) %s", tile, tile, cc.name), func(t *testing.T) { checkWinograd(t, lowered, direct, cc, uint64(i)) })
		}
	}
}

// BenchmarkWinogradGrad measures kernel gradients of 3×3 stride-1
// same-padded float32 convolutions [n, hw, hw, c] -> co, expressed as GoMLX
// does (the input and the output gradient, batch and channel axes swapped),
// on the direct path (F0) and by Winograd F(2×2, 3×3) and F(4×4, 3×3), in
// direct GFLOP/s:
//
//	go test ./engine/purego -run '^$' -bench WinogradGrad -benchtime 5x
func BenchmarkWinogradGrad(b *testing.B) {
	backend := newBackend(b, "")
	defer liftWinogradLimits()()
	axes := backends.ConvolveAxesConfig{InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
		KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
		OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1}}
	for _, s := range [][4]int{{16, 64, 64, 64}, {16, 32, 128, 128}, {16, 16, 256, 256}, {16, 8, 512, 512}, {16, 4, 512, 512},
		{16, 2, 512, 512}, {16, 32, 32, 32}, {16, 16, 64, 64}, {16, 8, 128, 128}, {16, 4, 256, 256}, {8, 56, 64, 64}, {8, 28, 128, 128}, {8, 14, 256, 256}, {8, 7, 512, 512}} {
		n, hw, c, co := s[0], s[1], s[2], s[3]
		rng := rand.New(rand.NewPCG(1, 2))
		x, dy := float32Tensor(rng, n, hw, hw, c), float32Tensor(rng, n, hw, hw, co)
		for _, tile := range []int{0, 2, 4} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d-%d/F%d", n, hw, hw, c, co, tile), func(b *testing.B) {
				benchConvTile(b, backend, tile, n*hw*hw*c*co*9, func(x, dy *Node) *Node {
					return ConvGeneral(x, dy, axes, nil, [][2]int{{1, 1}, {1, 1}}, nil, nil, 1, 1)
				}, x, dy)
			})
		}
	}
}

// TestWinogradGradEpilogue checks runGrad, F(2×2) and F(4×4), by chunks and
// whole (all tiles' products at once, spread over the workers by blocks),
// against the kernel gradient summed directly, and its epilogue hook (the
// optimizer's update, merged by fuseConvEpilogues as bench --op_times shows
// on VGG-16: KernelGradWinograd2+Fused(Mul,Mul,Sub,Add)): every value of the
// gradient is in exactly one range, final when its range is handed over.
func TestWinogradGradEpilogue(t *testing.T) {
	whole, chunkMaxM := winogradGradWholeBytes, winogradGradChunkMaxM
	defer func() { winogradGradWholeBytes, winogradGradChunkMaxM = whole, chunkMaxM }()
	rng := rand.New(rand.NewPCG(23, 23))
	const n, h, w, c, co = 3, 9, 8, 12, 20
	x, dy := normalFloat32s(rng, n*h*w*c), normalFloat32s(rng, n*h*w*co)
	direct := make([]float32, 9*c*co) // [kh][kw][c][co], padding 1
	for b := range n {
		for y := range h {
			for xx := range w {
				for k := range 9 {
					sy, sx := y+k/3-1, xx+k%3-1
					if sy < 0 || sy >= h || sx < 0 || sx >= w {
						continue
					}
					for ci := range c {
						xv := x[((b*h+sy)*w+sx)*c+ci]
						for o := range co {
							direct[(k*c+ci)*co+o] += xv * dy[((b*h+y)*w+xx)*co+o]
						}
					}
				}
			}
		}
	}
	p := convParams{paddings: [][2]int{{1, 1}, {1, 1}}}
	for _, m := range []int{2, 4} {
		for _, wholePath := range []bool{false, true} {
			name := fmt.Sprintf("F(%d) whole %v", m, wholePath)
			winogradGradWholeBytes, winogradGradChunkMaxM = 0, chunkMaxM
			if wholePath {
				winogradGradWholeBytes, winogradGradChunkMaxM = whole, 0
			}
			pl := newWinogradPlan(m, n, []int{h, w}, []int{h, w}, c, co, p)
			want := make([]float32, 9*c*co)
			pl.runGrad(x, dy, want, nil)
			assertNear(t, name+" against the direct sum", want, direct, 1e-4)
			got, seen := make([]float32, len(want)), make([]int, len(want))
			var mu sync.Mutex
			pl.runGrad(x, dy, got, func(lo, hi int) {
				mu.Lock()
				defer mu.Unlock()
				for i := lo; i < hi; i++ {
					seen[i]++
					if got[i] != want[i] {
						t.Errorf("%s: out[%d] = %v when handed to the epilogue, want %v", name, i, got[i], want[i])
					}
				}
			})
			for i, k := range seen {
				if k != 1 {
					t.Fatalf("%s: out[%d] handed to the epilogue %d times", name, i, k)
				}
			}
		}
	}
}

// TestWinogradGradNode checks which node a kernel gradient written as GoMLX
// writes it (x and dy [n, hw, hw, 32], batch and channel axes swapped)
// becomes under the default limits: KernelGradWinograd2 from 256 tiles and
// 32K tiles × channels, the direct path below.
func TestWinogradGradNode(t *testing.T) {
	axes := backends.ConvolveAxesConfig{InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
		KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
		OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1}}
	for _, tc := range []struct {
		n, hw int
		want  string
	}{
		{4, 32, "KernelGradWinograd4"}, // 1024 2x2 tiles, 256 4x4 tiles
		{4, 16, "Im2col MatMulTransA"}, // 256 tiles, 8K tiles × channels
		{2, 8, "Im2col MatMulTransA"},  // 32 tiles
	} {
		b := newBackend(t, "").Builder("kernel gradient").(*Builder)
		must := mustOp(t)
		x := must(b.Parameter("x", shapes.Make(dtypes.Float32, tc.n, tc.hw, tc.hw, 32), nil))
		dy := must(b.Parameter("dy", shapes.Make(dtypes.Float32, tc.n, tc.hw, tc.hw, 32), nil))
		dw := must(b.ConvGeneral(x, dy, axes, nil, [][2]int{{1, 1}, {1, 1}}, nil, nil, 1, 1))
		if names := strings.Join(customSteps(t, b, "", dw), " "); names != tc.want {
			t.Errorf("[%d, %d, %d, 32]: nodes %q, want %q", tc.n, tc.hw, tc.hw, names, tc.want)
		}
	}
}

// TestWinogradGradChunksDeterministic checks that the kernel gradient by
// chunks gives the same bits on every run with more workers than cores: which
// worker sums which chunk must not depend on scheduling (it did, and training
// runs with the same seed differed by rounding).
func TestWinogradGradChunksDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(6))
	whole := winogradGradWholeBytes
	defer func() { winogradGradWholeBytes = whole }()
	winogradGradWholeBytes = 0
	rng := rand.New(rand.NewPCG(5, 5))
	const n, h, w, c, co = 4, 16, 16, 16, 24
	x, dy := normalFloat32s(rng, n*h*w*c), normalFloat32s(rng, n*h*w*co)
	p := convParams{paddings: [][2]int{{1, 1}, {1, 1}}}
	for _, m := range []int{2, 4} {
		pl := newWinogradPlan(m, n, []int{h, w}, []int{h, w}, c, co, p)
		first := make([]float32, 9*c*co)
		pl.runGrad(x, dy, first, nil)
		got := make([]float32, len(first))
		for run := range 40 {
			pl.runGrad(x, dy, got, nil)
			for i := range got {
				if got[i] != first[i] {
					t.Fatalf("F(%d) run %d: out[%d] = %v, first run gave %v", m, run, i, got[i], first[i])
				}
			}
		}
	}
}
