package purego

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Kernel gradient of a 3×3 stride-1 convolution by Winograd F(2×2, 3×3) or
// F(4×4, 3×3) (below for F(2×2); F(4×4) is the same with 6×6 input tiles, 4×4
// gradient tiles, 36 planes and winograd4.go's matrices).
//
// The gradient dW[kh][kw] = Σ_{n,y,x} x[n][y+kh][x+kw] · dY[n][y][x] (padded x)
// sums, over 2×2 tiles of output-gradient positions, the correlation of a 4×4
// input tile d with a 2×2 gradient tile g. F(2×2, 3×3) computes the
// correlation of d with a 3×3 kernel w as the bilinear form
// y = Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A, so Σ g⊙y = Σ w ⊙ Gᵀ[(A g Aᵀ) ⊙ (Bᵀ d B)]G
// for every w, that is
//
//	dW = Gᵀ [ Σ_tiles (A g Aᵀ) ⊙ (Bᵀ d B) ] G
//
// with the forward pass's matrices (winograd.go): the input is transformed as
// in the forward pass, the gradient tile expands with A = (Aᵀ)ᵀ (4×2) and the
// sum comes back through Gᵀ (3×4). With the 16 positions ξ of the transformed
// tile as the outer index, the sum over tiles (and images) is 16 matrix
// products M[ξ] = V[ξ]ᵀ·Y[ξ], V[ξ] [tiles × C] and Y[ξ] [tiles × Co], whose
// depth is the number of tiles.
//
//	A  = [1 0; 1 1; 1 -1; 0 -1]
//	Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]

// winogradGradBuilds counts the kernel gradients lowered to winogradGradConv
// (for tests).
var winogradGradBuilds atomic.Int64

// winogradGradF4MinTiles: F(4×4) from 64 4×4 tiles (BenchmarkWinogradGrad,
// 02:00 UTC, load about 1, GFLOP per CPU-second F(2×2) -> F(4×4)): 1.3-1.6x
// from 256 tiles ([16, 16, 16, 64] 90 -> 112, [16, 16, 16, 256] 129 -> 203),
// 1.1-1.35x at 64 ([16, 8, 8, 128], [16, 8, 8, 512]), 0.75-0.8x at 16-32.
//
// winogradGradMinTiles is the fewest 2×2 tiles (over all images) for which
// the kernel gradient runs on Winograd: the products' depth is the number of
// tiles, and M (16 C×Co matrices) is written and transformed back whatever
// it is. winogradGradMinWork bounds tiles × min(C, Co) (the transforms cost
// per tile and channel). Measured (BenchmarkWinogradGrad, GFLOP per
// CPU-second against the direct path, 2 threads, load 2.5-3): 1.5x-2.4x from
// 1024 tiles (32 to 256 channels), 1.75x at 392 tiles of 256 channels, 1.65x
// at 256 of 512, 1.4x-1.6x at 256 of 128, 0.9x-1.07x at 128 of 512, 0.9x-1.0x
// at 64 tiles (256 and 512 channels), 0.5x at 16. With the back transforms in
// AVX2 (02:30 UTC, wall GFLOP/s, two runs): 1.3x-1.4x at 128 tiles of 512
// ([8, 7, 7, 512]), 1.6x at 64 of 256, 1.25x-1.4x at 64 of 512.
var (
	winogradGradMinTiles   = 64
	winogradGradMinWork    = 16 << 10
	winogradGradF4MinTiles = 64
)

// winogradGradTileSize returns the tile size m of F(m×m, 3×3) for the kernel
// gradient described as weightGradientConv's convolution (x' [images, H, W,
// C], w' = dY [images, Ho, Wo, Co], output [3, 3, C, Co]), or 0 when it does
// not run on Winograd. It runs there for float32, two spatial axes, a 3×3
// result, stride and dilations 1, non-negative padding, and where it pays:
// the forward pass's limits on channels and multiplications
// (winogradMinChannels, winogradMaxMulRatio), winogradGradMinTiles and
// winogradGradMinWork. F(4×4) takes over from winogradGradF4MinTiles 4×4
// tiles when its multiplications are under winogradF4Ratio of F(2×2)'s
// (winogradForceTile overrides the choice).
func winogradGradTileSize(dtype dtypes.DType, outSpatial, gradSpatial []int, p convParams, images, channels, kOut int) int {
	if dtype != dtypes.Float32 || len(outSpatial) != 2 || outSpatial[0] != 3 || outSpatial[1] != 3 {
		return 0
	}
	for i := range 2 {
		if p.strides[i] != 1 || p.inDil[i] != 1 || p.kerDil[i] != 1 || p.paddings[i][0] < 0 || p.paddings[i][1] < 0 {
			return 0
		}
	}
	tiles, ratio := winogradTiles(2, images, gradSpatial)
	if channels < winogradMinChannels || kOut < winogradMinChannels || tiles < winogradGradMinTiles ||
		tiles*min(channels, kOut) < winogradGradMinWork || ratio > winogradMaxMulRatio {
		return 0
	}
	if winogradForceTile != 0 {
		return winogradForceTile
	}
	if t4, r4 := winogradTiles(4, images, gradSpatial); t4 >= winogradGradF4MinTiles && r4 <= winogradF4Ratio*ratio {
		return 4
	}
	return 2
}

// winogradGradConv returns the kernel gradient [9·C, Co] (rows (kh, kw, c))
// of x [images, H, W, C] and dy [images, Ho, Wo, Co] by F(m×m, 3×3). Like the
// MatMulTransA node it replaces, it takes an element-wise epilogue (the
// optimizer's update).
func (c *composer) winogradGradConv(x, dy backends.Op, m int, inSpatial, gradSpatial []int, p convParams, images, channels, kOut int) backends.Op {
	winogradGradBuilds.Add(1)
	pl := newWinogradPlan(m, images, inSpatial, gradSpatial, channels, kOut, p)
	run := func(ins []any, out any, epi func(lo, hi int)) {
		pl.runGrad(ins[0].([]float32), ins[1].([]float32), out.([]float32), epi)
	}
	return c.customWithEpilogue(fmt.Sprintf("KernelGradWinograd%d", m), shapes.Make(dtypes.Float32, 9*channels, kOut), run, x, dy)
}

// Kernel gradients with few channel pairs (C·Co up to winogradGradChunkMaxM)
// or whose V and Y (all tiles) exceed winogradGradWholeBytes go by chunks of
// tiles (V and Y of a chunk in winogradGradChunkBytes, kept in cache, but at
// least kc tiles deep), each worker adding its chunks' products into its own
// M, summed at the end. The others are computed whole: the transforms of every
// tile, then the 16 products spread over the workers by blocks (a worker's M
// would be re-read for every chunk). Measured with BenchmarkWinogradGrad
// (before the planes were padded): whole instead of chunks of 48 tiles, 1.5x
// to 2.2x the direct path on [16, 16, 16, 256] and 1.1x to 1.35x on [8, 14,
// 14, 256]. The planes of V, Y and M are winogradPlane apart (one cache line
// more than their size): with power-of-two planes, 0.9x instead of 1.7x on
// [16, 16, 16, 64], 1.2x instead of 1.65x on [16, 8, 8, 512].
var (
	winogradGradWholeBytes = 48 << 20 // 0 in tests
	winogradGradChunkBytes = 1 << 20
	winogradGradChunkMaxM  = 128 * 128
)

// runGrad sets out [9·C, Co] to the kernel gradient of x [B, H, W, C] and dy
// [B, Ho, Wo, Co]: the sums M of the tiles' products, then the back transform.
// With epi, it calls epi on each range of out once final.
func (pl *winogradPlan) runGrad(x, dy, out []float32, epi func(lo, hi int)) {
	mStride := winogradPlane(pl.c, pl.co) // planes a cache line apart (see winogradPlane)
	var m []float32
	if 4*pl.planes*pl.tiles*(pl.c+pl.co) <= winogradGradWholeBytes && pl.c*pl.co > winogradGradChunkMaxM {
		vStride, yStride := winogradPlane(pl.tiles, pl.c), winogradPlane(pl.tiles, pl.co)
		buf := getPacked[float32](pl.planes * (vStride + yStride + mStride))
		defer packedPool.Put(buf)
		v, y := (*buf)[:pl.planes*vStride], (*buf)[pl.planes*vStride:pl.planes*(vStride+yStride)]
		m = (*buf)[pl.planes*(vStride+yStride):]
		parallelRows(pl.tiles, func(t0, t1 int) {
			pl.gradTransforms(x, dy, 0, t0, t1, v, y, vStride, yStride)
		})
		pl.gradProducts(v, y, m)
	} else {
		var release func()
		m, release = pl.gradChunks(x, dy)
		defer release()
	}
	parallelRows(pl.c, func(c0, c1 int) {
		if pl.m == 4 {
			winograd4GradBack(m, mStride, out, pl.c*pl.co, c0*pl.co, c1*pl.co)
		} else {
			winogradGradBack(m, mStride, out, pl.c*pl.co, c0*pl.co, c1*pl.co)
		}
		if epi != nil {
			for k := range 9 {
				epi((k*pl.c+c0)*pl.co, (k*pl.c+c1)*pl.co)
			}
		}
	})
}

// gradTransforms sets v[ξ*vStride+(t-base)*C+c] to (Bᵀ d B)[ξ] and
// y[ξ*yStride+(t-base)*Co+co] to (A g Aᵀ)[ξ] for tiles t in [t0, t1).
func (pl *winogradPlan) gradTransforms(x, dy []float32, base, t0, t1 int, v, y []float32, vStride, yStride int) {
	bf := &winogradBuffers{zero: make([]float32, pl.c)}
	var g [16][]float32
	zero := make([]float32, pl.co)
	for t := t0; t < t1; t++ {
		pl.tileInputs(x, t, bf)
		pl.gradTile(dy, t, zero, g[:pl.m*pl.m])
		if pl.m == 2 {
			winogradInput((*[16][]float32)(bf.inPtr[:16]), v[(t-base)*pl.c:], vStride, pl.c)
			winogradGradTile((*[4][]float32)(g[:4]), zero, y[(t-base)*pl.co:], yStride, pl.co)
			continue
		}
		vt := v[(t-base)*pl.c:]
		for i := range bf.vp {
			bf.vp[i] = vt[i*vStride : i*vStride+pl.c : i*vStride+pl.c]
		}
		winograd4Input(&bf.inPtr, &bf.vp, pl.c)
		winograd4GradTile(&g, y[(t-base)*pl.co:], yStride, pl.co)
	}
}

// gradChunks returns M [16, C, Co] summed over all tiles, computed by chunks
// of tiles (see winogradGradChunkBytes), and the function releasing its memory.
// Worker w takes chunks w, w+workers, ... and the workers' sums are added in
// order, so the result does not depend on scheduling (same seed, same model).
func (pl *winogradPlan) gradChunks(x, dy []float32) ([]float32, func()) {
	mStride := winogradPlane(pl.c, pl.co)
	workers := runtime.GOMAXPROCS(0)
	chunk := max(winogradGradChunkBytes/(4*pl.planes*(pl.c+pl.co)), kc)
	chunk = min(chunk, (pl.tiles+workers-1)/workers) // a chunk for every worker
	chunks := (pl.tiles + chunk - 1) / chunk
	workers = min(workers, chunks)
	vStride, yStride := winogradPlane(chunk, pl.c), winogradPlane(chunk, pl.co)
	bufs := make([]*[]float32, workers)
	for w := range workers {
		bufs[w] = getPacked[float32](pl.planes * (mStride + vStride + yStride))
	}
	parallelFor(workers, func(w int) {
		buf := *bufs[w]
		m, v, y := buf[:pl.planes*mStride], buf[pl.planes*mStride:pl.planes*(mStride+vStride)], buf[pl.planes*(mStride+vStride):]
		clear(m)
		s := getScratch[float32]()
		defer scratchPool.Put(s)
		for k := w; k < chunks; k += workers {
			t0 := k * chunk
			t1 := min(t0+chunk, pl.tiles)
			pl.gradTransforms(x, dy, t0, t0, t1, v, y, vStride, yStride)
			for xi := range pl.planes {
				A := operand[float32]{data: v[xi*vStride:], rowStride: 1, depthStride: pl.c, accumulate: true}
				for i0 := 0; i0 < pl.c; i0 += mc {
					multiplyBlock(A, y[xi*yStride:], nil, nil, m[xi*mStride:], pl.co, t1-t0, i0, min(i0+mc, pl.c), 0, pl.co, s)
				}
			}
		}
	})
	m := (*bufs[0])[:pl.planes*mStride]
	if workers > 1 {
		parallelRows(pl.planes*mStride, func(lo, hi int) {
			for _, b := range bufs[1:] {
				for i, x := range (*b)[lo:hi] {
					m[lo+i] += x
				}
			}
		})
	}
	return m, func() {
		for _, b := range bufs {
			packedPool.Put(b)
		}
	}
}

// gradTile points g (m×m, row-major) at the output-gradient vectors of tile
// t, or at zero for positions past the bottom and right edges.
func (pl *winogradPlan) gradTile(dy []float32, t int, zero []float32, g [][]float32) {
	b, y0, x0 := pl.tileOrigin(t)
	for r := range pl.m {
		for col := range pl.m {
			yy, xx := y0+r, x0+col
			if yy >= pl.ho || xx >= pl.wo {
				g[pl.m*r+col] = zero
				continue
			}
			off := ((b*pl.ho+yy)*pl.wo + xx) * pl.co
			g[pl.m*r+col] = dy[off : off+pl.co : off+pl.co]
		}
	}
}

// gradProducts sets m[ξ] [C × Co] to v[ξ]ᵀ·y[ξ] for the planes ξ, the
// blocks of all planes spread over the workers.
func (pl *winogradPlan) gradProducts(v, y, m []float32) {
	vStride, yStride, mStride := winogradPlane(pl.tiles, pl.c), winogradPlane(pl.tiles, pl.co), winogradPlane(pl.c, pl.co)
	rowBlocks, colBlocks := (pl.c+mc-1)/mc, (pl.co+ncBlock-1)/ncBlock
	items := pl.planes * rowBlocks * colBlocks
	var next atomic.Int64
	parallelFor(min(runtime.GOMAXPROCS(0), items), func(int) {
		s := getScratch[float32]()
		defer scratchPool.Put(s)
		for {
			k := int(next.Add(1)) - 1
			if k >= items {
				return
			}
			xi, blk := k/(rowBlocks*colBlocks), k%(rowBlocks*colBlocks)
			i0, j0 := blk/colBlocks*mc, blk%colBlocks*ncBlock
			A := operand[float32]{data: v[xi*vStride:], rowStride: 1, depthStride: pl.c} // V[ξ] read transposed
			multiplyBlock(A, y[xi*yStride:], nil, nil, m[xi*mStride:], pl.co, pl.tiles, i0, min(i0+mc, pl.c), j0, min(j0+ncBlock, pl.co), s)
		}
	})
}

// winogradGradTile sets y[i*stride+ch] to (S (A g Aᵀ) S)[i] for channels
// ch < n, where g[j] = g[j][ch] (j row-major over the 2×2 tile, i over the
// 4×4 one) and S = diag(-1, 1, 1, -1). As A = S Bᵀ P with P = [e₂ e₁] (the
// columns of the 4×4 identity), this is Bᵀ (P g Pᵀ) B: the forward input
// transform (AVX2 on amd64) of a 4×4 tile holding g reversed at its centre
// and zeros around (zero holds n zeros). The signs S⊗S are applied by
// winogradGradBackGo.
func winogradGradTile(g *[4][]float32, zero, y []float32, stride, n int) {
	var in [16][]float32
	for i := range in {
		in[i] = zero
	}
	in[10], in[9], in[6], in[5] = g[0], g[1], g[2], g[3]
	winogradInput(&in, y, stride, n)
}

// winogradGradSigns are the signs (S⊗S)[i] of winogradGradTile's output.
var winogradGradSigns = [16]float32{1, -1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1, 1, -1, -1, 1}

// winogradGradBackGo sets out[k·plane+at] to (Gᵀ M G)[k] (k row-major over
// 3×3) with M[i] = m[i*stride+at] times winogradGradSigns[i], for at in [lo,
// hi).
func winogradGradBackGo(m []float32, stride int, out []float32, plane, lo, hi int) {
	for at := lo; at < hi; at++ {
		var t [12]float32 // Gᵀ M: 3 rows of 4
		for col := range 4 {
			sg := &winogradGradSigns
			m0, m1, m2, m3 := sg[col]*m[col*stride+at], sg[4+col]*m[(4+col)*stride+at], sg[8+col]*m[(8+col)*stride+at], sg[12+col]*m[(12+col)*stride+at]
			s := 0.5 * (m1 + m2)
			t[col], t[4+col], t[8+col] = m0+s, 0.5*(m1-m2), s+m3
		}
		for r := range 3 {
			t0, t1, t2, t3 := t[4*r], t[4*r+1], t[4*r+2], t[4*r+3]
			s := 0.5 * (t1 + t2)
			out[(3*r)*plane+at] = t0 + s
			out[(3*r+1)*plane+at] = 0.5 * (t1 - t2)
			out[(3*r+2)*plane+at] = s + t3
		}
	}
}
