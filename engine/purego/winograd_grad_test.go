package purego

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWinogradGradTransformsSingleTile checks Gᵀ[(A g Aᵀ) ⊙ (Bᵀ d B)]G, on
// the portable transforms, against the direct correlation of one 4×4 input
// tile with one 2×2 gradient tile, with each tile a unit impulse in turn (so
// that every coefficient of every transform is exercised on its own) and
// random.
func TestWinogradGradTransformsSingleTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type tiles struct {
		d [16]float32
		g [4]float32
	}
	var cases []tiles
	for i := range 16 {
		for j := range 4 {
			var tc tiles
			tc.d[i], tc.g[j] = 1, 1
			cases = append(cases, tc)
		}
	}
	for range 5 {
		var tc tiles
		for i := range tc.d {
			tc.d[i] = float32(rng.NormFloat64())
		}
		for i := range tc.g {
			tc.g[i] = float32(rng.NormFloat64())
		}
		cases = append(cases, tc)
	}
	for n, tc := range cases {
		var in [16][]float32
		for i := range in {
			in[i] = []float32{tc.d[i]}
		}
		var g [4][]float32
		for i := range g {
			g[i] = []float32{tc.g[i]}
		}
		v, y, m := make([]float32, 16), make([]float32, 16), make([]float32, 16)
		winogradInputGo(&in, v, 1, 0, 1)
		winogradGradTileGo(&g, y, 1, 1)
		for i := range m {
			m[i] = v[i] * y[i]
		}
		got := make([]float32, 9)
		winogradGradBackGo(m, 1, got, 1, 1, 0, 1)
		want := make([]float32, 9)
		for kh := range 3 {
			for kw := range 3 {
				for r := range 2 {
					for c := range 2 {
						want[kh*3+kw] += tc.d[(r+kh)*4+c+kw] * tc.g[r*2+c]
					}
				}
			}
		}
		assertNear(t, fmt.Sprintf("case %d", n), got, want, 1e-5)
	}
}

// TestWinogradGradChunks runs TestWinogradMatchesDirect's cases with the
// kernel gradient computed by chunks of tiles (gradChunks) instead of whole.
func TestWinogradGradChunks(t *testing.T) {
	lowered, direct := newBackend(t, ""), newBackend(t, "conv=direct")
	defer liftWinogradLimits()()
	whole := winogradGradWholeBytes
	defer func() { winogradGradWholeBytes = whole }()
	winogradGradWholeBytes, winogradForceTile = 0, 2
	for i, cc := range winogradCases {
		cc.kernel = []int{3, 3}
		t.Run(cc.name, func(t *testing.T) { checkWinograd(t, lowered, direct, cc, uint64(i)) })
	}
}
