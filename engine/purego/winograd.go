package purego

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Winograd F(2×2, 3×3) convolution: each 2×2 block of outputs (a tile) is
// computed from the 4×4 block of padded input around it with 16 multiplications
// per (input channel, output channel) pair instead of 36:
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// summed over input channels. With the 16 positions i of the 4×4 transformed
// tile as the outer index, the sum over channels becomes 16 independent matrix
// products M[i] = V[i]·U[i], V[i] [tiles × C] the transformed input and U[i]
// [C × Co] the transformed kernel, run on this package's blocked matrix
// multiplication. Tiles are processed in chunks (input transform, the 16
// products, output transform) so that a chunk's V and M stay in cache; workers
// take chunks in turn. Large maps use F(4×4, 3×3) instead (winograd4.go: 36
// products for 16 outputs); the plan below serves both.

// When Winograd pays (measured with BenchmarkWinograd on the 2-core Zen 4
// development machine, BENCHMARKS.md "Winograd F(2x2,3x3)"):
//   - winogradMinChannels: input and output channels. The products' depth
//     is C (the direct path's 9C) and the transforms cost per channel: with
//     3 input channels (a network's first layer) 0.5-0.8x the direct path;
//     with 8 or 16 0.9-1.7x from one run to the next (memory-bound, sensitive
//     to the other processes' load); with 32 1.0-2.0x; from 64 on 1.4-2.3x.
//   - winogradMinTiles: 2×2 output blocks (over all images). The kernel
//     transform costs as much as the products of about 16 tiles; few tiles
//     also make short products, so their output channels are split over the
//     workers: with 512 channels 0.75-0.8x at 16 tiles, 1.15-1.2x at 32, 1.5x
//     at 64.
//   - winogradMaxMulRatio: the multiplications of the tiles (16 each,
//     partial tiles included) against the direct path's (9 per output): 3×3
//     maps (4 tiles for 9 outputs, 0.79) are 0.9x, 5×5 maps (0.64) 1.3x.
//
// Tests lift all three limits.
var (
	winogradMinChannels = 32
	winogradMinTiles    = 32
	winogradMaxMulRatio = 0.7
	winogradF4Ratio     = 0.75
	winogradF4MinTiles  = 64
	winogradForceTile   = 0 // 2 or 4 in tests
)

// winogradBuilds counts the convolutions lowered to winogradConv (for tests).
var winogradBuilds atomic.Int64

// winogradChunkBytes bounds the memory of one chunk's V and M (per worker).
const winogradChunkBytes = 1 << 20

// Transform matrices (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", F(2×2, 3×3)):
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// The transforms below apply them as additions (and halvings).

// winogradApplies reports whether winogradConv handles a convolution: float32,
// two spatial axes, a 3×3 kernel, stride 1, no dilation, no groups (checked by
// the caller), non-negative padding, and where it pays (see winogradMinChannels).
func winogradApplies(dtype dtypes.DType, kSpatial []int, p convParams, batch int, outSpatial []int, channels, kOut int) bool {
	if dtype != dtypes.Float32 || len(kSpatial) != 2 || kSpatial[0] != 3 || kSpatial[1] != 3 {
		return false
	}
	for i := range 2 {
		if p.strides[i] != 1 || p.inDil[i] != 1 || p.kerDil[i] != 1 || p.paddings[i][0] < 0 || p.paddings[i][1] < 0 {
			return false
		}
	}
	tiles, _ := winogradTiles(2, batch, outSpatial)
	_, ratio := winogradTiles(winogradTileSize(batch, outSpatial), batch, outSpatial)
	return channels >= winogradMinChannels && kOut >= winogradMinChannels && tiles >= winogradMinTiles &&
		ratio <= winogradMaxMulRatio
}

// winogradTiles returns the number of m×m tiles covering the outputs and the
// ratio of their multiplications, (m+2)² per tile, to the direct
// convolution's, 9 per output.
func winogradTiles(m, batch int, outSpatial []int) (int, float64) {
	tiles := batch * ((outSpatial[0] + m - 1) / m) * ((outSpatial[1] + m - 1) / m)
	return tiles, float64(tiles*(m+2)*(m+2)) / float64(9*batch*outSpatial[0]*outSpatial[1])
}

// winogradTileSize chooses F(4×4, 3×3) over F(2×2, 3×3) when there are at
// least winogradF4MinTiles 4×4 tiles and their multiplications are under
// winogradF4Ratio of F(2×2)'s (partial 4×4 tiles waste more on small maps);
// winogradForceTile overrides it. Measured (BenchmarkWinograd, per
// CPU-second, load 2-4.5): F(4×4) is 1.25-1.35x F(2×2) on [16, 64, 64, 64],
// [16, 32, 32, 128] and [16, 16, 16, 256] (256-4096 tiles) and [8, 28, 28,
// 128] (392 tiles), 1.1-1.3x on [16, 8, 8, 512] (64 tiles), 0.85-1.25x on
// [8, 14, 14, 256] (128 tiles, ratio 0.74), 0.75x on [16, 4, 4, 512] (16
// tiles) and on 5×5 maps (ratio 1.0).
func winogradTileSize(batch int, outSpatial []int) int {
	if winogradForceTile != 0 {
		return winogradForceTile
	}
	_, r2 := winogradTiles(2, batch, outSpatial)
	t4, r4 := winogradTiles(4, batch, outSpatial)
	if t4 >= winogradF4MinTiles && r4 <= winogradF4Ratio*r2 {
		return 4
	}
	return 2
}

// winogradConv is kernelConv for the convolutions winogradApplies accepts: x
// is [B, H, W, C], the kernel permuted by wPerm is [3, 3, C, Co]. It returns
// [B, Oflat, Co].
func (c *composer) winogradConv(x, kernel backends.Op, wPerm, inSpatial, outSpatial []int, p convParams) backends.Op {
	xShape := c.shape(x)
	kv, err := c.b.value("ConvGeneral", kernel)
	if err != nil {
		c.err = err
	}
	if c.err != nil {
		return nil
	}
	winogradBuilds.Add(1)
	channels, batch := xShape.Dimensions[3], xShape.Dimensions[0]
	m := winogradTileSize(batch, outSpatial)
	u, kOut := c.winogradKernelOp(kernel, kv, wPerm, channels, m)
	pl := newWinogradPlan(m, batch, inSpatial, outSpatial, channels, kOut, p)
	rows := pl.batch * pl.ho * pl.wo
	run := func(ins []any, out any, epi func(lo, hi int)) {
		pl.run(ins[0].([]float32), ins[1].([]float32), out.([]float32), epi)
	}
	// It takes an element-wise epilogue as kernelConv's node does (epilogue.go).
	out := c.customWithEpilogue(fmt.Sprintf("ConvWinograd%d", m), shapes.Make(dtypes.Float32, rows, kOut), run, x, u)
	return c.reshape(out, pl.batch, pl.ho*pl.wo, kOut)
}

// winogradKernelOp returns the node computing the F(m×m, 3×3) transformed
// kernel (see winogradKernel), and the number of output channels. The kernel
// is read through its strided view (a reversed kernel, for instance) without
// a copy when its output channels are contiguous; otherwise (an input
// gradient's channel-swapped kernel) it is transposed first.
func (c *composer) winogradKernelOp(kernel backends.Op, kv *value, wPerm []int, channels, m int) (backends.Op, int) {
	source, view := backends.Op(kv), rowMajorView(kv.shape.Dimensions)
	if kv.node.view != nil {
		source, view = kv.node.inputs[0], *kv.node.view
	}
	if view.strides[wPerm[3]] != 1 {
		// Output channels not contiguous (an input gradient's channel-swapped
		// kernel): the kernel transform reads rows of output channels, so
		// transpose first (cheaper than transforming along the strided axis).
		source = c.transpose(kernel, wPerm...)
		view, wPerm = rowMajorView(c.shape(source).Dimensions), []int{0, 1, 2, 3}
	}
	var kl winogradKernelLayout
	for i, a := range wPerm {
		kl.strides[i] = view.strides[a]
	}
	kl.start = view.start
	kOut := view.dims[wPerm[3]]
	planes := (m + 2) * (m + 2)
	u := c.keep(c.b.custom("WinogradKernel", shapes.Make(dtypes.Float32, planes*winogradPlane(channels, kOut)), func(ins []any, out any) {
		winogradKernel(m, ins[0].([]float32), kl, channels, kOut, out.([]float32))
	}, source))
	return u, kOut
}

// winogradKernelLayout locates element (kh, kw, c, co) of the kernel at
// start + kh*strides[0] + kw*strides[1] + c*strides[2] + co*strides[3].
type winogradKernelLayout struct {
	strides [4]int
	start   int
}

// winogradPlane is the distance between the (m+2)² matrices [C, Co] of the
// transformed kernel: one cache line more than their size, so that the rows
// written together do not map to the same cache set when C·Co is a power of
// two.
func winogradPlane(channels, kOut int) int { return channels*kOut + 16 }

// winogradKernel sets u [(m+2)², C, Co] (planes winogradPlane apart) to
// G g Gᵀ for every (c, co), g the 3×3 kernel of that channel pair and G that
// of F(m×m, 3×3); the output channels must be contiguous in w
// (kl.strides[3] == 1).
func winogradKernel(m int, w []float32, kl winogradKernelLayout, channels, kOut int, u []float32) {
	plane := winogradPlane(channels, kOut)
	row := winogradKernelRow
	if m == 4 {
		row = winograd4KernelRow
	}
	parallelRows(channels, func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			row(w, kl.start+ch*kl.strides[2], kl.strides[0], kl.strides[1], u, ch*kOut, plane, kOut)
		}
	})
}

// winogradKernelRowGo sets u[off+i*plane+j] = (G g Gᵀ)[i] for j in [j0, n),
// where g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winogradKernelRowGo(w []float32, base, s0, s1 int, u []float32, off, plane, j0, n int) {
	for j := j0; j < n; j++ {
		var gg [4][3]float32 // G g
		for col := range 3 {
			at := base + col*s1 + j
			g0, g1, g2 := w[at], w[at+s0], w[at+2*s0]
			s := g0 + g2
			gg[0][col], gg[1][col], gg[2][col], gg[3][col] = g0, 0.5*(s+g1), 0.5*(s-g1), g2
		}
		for r, a := range gg { // (G g) Gᵀ
			u[off+(4*r)*plane+j] = a[0]
			s := a[0] + a[2]
			u[off+(4*r+1)*plane+j] = 0.5 * (s + a[1])
			u[off+(4*r+2)*plane+j] = 0.5 * (s - a[1])
			u[off+(4*r+3)*plane+j] = a[2]
		}
	}
}

// winogradPlan is the geometry of one Winograd convolution F(m×m, 3×3):
// tiles of m×m outputs read (m+2)×(m+2) inputs and take planes = (m+2)²
// products.
type winogradPlan struct {
	m, alpha, planes, uPlane int
	batch, h, w, c, co       int
	ho, wo, padT, padL       int
	tilesH, tilesW           int
	tiles, chunk, chunks     int
	colPart, colParts        int // output channels per work item, and items per chunk
}

func newWinogradPlan(m, batch int, inSpatial, outSpatial []int, channels, kOut int, p convParams) *winogradPlan {
	pl := &winogradPlan{m: m, alpha: m + 2, planes: (m + 2) * (m + 2), batch: batch, h: inSpatial[0], w: inSpatial[1],
		c: channels, co: kOut, ho: outSpatial[0], wo: outSpatial[1], padT: p.paddings[0][0], padL: p.paddings[1][0]}
	pl.uPlane = winogradPlane(channels, kOut)
	pl.tilesH, pl.tilesW = (pl.ho+m-1)/m, (pl.wo+m-1)/m
	pl.tiles = batch * pl.tilesH * pl.tilesW
	// Chunk: at most as many tiles as fit V and M (planes rows of C and Co
	// floats per tile) in winogradChunkBytes, but at least 8 micro-tiles of
	// rows so the kernel's B panels are reused; then a number of chunks that
	// is a multiple of the number of workers, of equal sizes.
	chunk := winogradChunkBytes / (4 * pl.planes * (channels + kOut))
	chunk = max(chunk, 8*mr)
	workers := runtime.GOMAXPROCS(0)
	chunks := roundUp((pl.tiles+chunk-1)/chunk, workers)
	pl.chunk = roundUp((pl.tiles+chunks-1)/chunks, mr)
	pl.colPart = kOut
	if pl.tiles < workers*8*mr && kOut >= 2*ncBlock {
		// Few tiles: one chunk, its output channels split over the workers
		// (each transforms the chunk's input itself).
		pl.chunk = roundUp(pl.tiles, mr)
		pl.colPart = roundUp((kOut+workers-1)/workers, nr)
	}
	pl.chunks = (pl.tiles + pl.chunk - 1) / pl.chunk
	pl.colParts = (kOut + pl.colPart - 1) / pl.colPart
	return pl
}

// winogradBuffers is a worker's chunk memory.
type winogradBuffers struct {
	v, m   []float32
	zero   []float32 // C zeros: the padding rows of the input tile
	crop   []float32 // Co floats: where the cropped outputs of edge tiles go
	s      *scratch[float32]
	inPtr  [36][]float32 // a tile's inputs
	outP   [16][]float32 // a tile's outputs
	vp, mp [36][]float32 // a tile's rows of V and M (F(4×4, 3×3))
}

var winogradPool sync.Pool

func (pl *winogradPlan) buffers() *winogradBuffers {
	bf, _ := winogradPool.Get().(*winogradBuffers)
	if bf == nil {
		bf = &winogradBuffers{}
	}
	grow := func(s []float32, n int) []float32 {
		if cap(s) < n {
			return make([]float32, n)
		}
		return s[:n]
	}
	bf.v = grow(bf.v, pl.planes*(pl.chunk*pl.c+16))
	bf.m = grow(bf.m, pl.planes*(pl.chunk*pl.co+16))
	bf.zero = grow(bf.zero, pl.c)
	clear(bf.zero)
	bf.crop = grow(bf.crop, pl.co)
	bf.s = getScratch[float32]()
	return bf
}

func (bf *winogradBuffers) release() {
	scratchPool.Put(bf.s)
	bf.s = nil
	bf.inPtr, bf.outP, bf.vp, bf.mp = [36][]float32{}, [16][]float32{}, [36][]float32{}, [36][]float32{}
	winogradPool.Put(bf)
}

// run computes out [B·Ho·Wo, Co] from x [B, H, W, C] and u [planes, C, Co].
// With epi, it calls epi(lo, hi) on the flat range of each row of tiles (m
// output rows of an image) once all its tiles are final.
func (pl *winogradPlan) run(x, u, out []float32, epi func(lo, hi int)) {
	var next atomic.Int64
	items := pl.chunks * pl.colParts
	var pending []atomic.Int32 // per row of tiles: tiles × column parts to go
	if epi != nil {
		pending = make([]atomic.Int32, pl.batch*pl.tilesH)
		for i := range pending {
			pending[i].Store(int32(pl.tilesW * pl.colParts))
		}
	}
	parallelFor(min(runtime.GOMAXPROCS(0), items), func(int) {
		bf := pl.buffers()
		defer bf.release()
		transformed := -1 // the chunk whose input V holds
		for {
			k := int(next.Add(1)) - 1
			if k >= items {
				return
			}
			chunk, part := k/pl.colParts, k%pl.colParts
			t0, j0 := chunk*pl.chunk, part*pl.colPart
			t1, j1 := min(t0+pl.chunk, pl.tiles), min(j0+pl.colPart, pl.co)
			if chunk != transformed {
				pl.inputChunk(x, t0, t1, bf)
				transformed = chunk
			}
			pl.outputChunk(u, out, t0, t1, j0, j1, bf)
			if epi != nil {
				pl.finishRows(pending, t0, t1, epi)
			}
		}
	})
}

// finishRows counts tiles [t0, t1) (one column part) as done in pending and
// calls epi on the output rows of each row of tiles that is then complete.
func (pl *winogradPlan) finishRows(pending []atomic.Int32, t0, t1 int, epi func(lo, hi int)) {
	rowLen := pl.wo * pl.co
	for t := t0; t < t1; {
		row := t / pl.tilesW
		end := min((row+1)*pl.tilesW, t1)
		if pending[row].Add(int32(t-end)) == 0 {
			b, ty := row/pl.tilesH, row%pl.tilesH
			y0, y1 := ty*pl.m, min(ty*pl.m+pl.m, pl.ho)
			epi((b*pl.ho+y0)*rowLen, (b*pl.ho+y1)*rowLen)
		}
		t = end
	}
}

// inputChunk sets the worker's V to the transformed inputs of tiles [t0, t1).
func (pl *winogradPlan) inputChunk(x []float32, t0, t1 int, bf *winogradBuffers) {
	vStride := pl.chunk*pl.c + 16
	for t := t0; t < t1; t++ {
		pl.tileInputs(x, t, bf)
		v := bf.v[(t-t0)*pl.c:]
		if pl.m == 2 {
			winogradInput((*[16][]float32)(bf.inPtr[:16]), v, vStride, pl.c)
			continue
		}
		for i := range bf.vp {
			bf.vp[i] = v[i*vStride : i*vStride+pl.c : i*vStride+pl.c]
		}
		winograd4Input(&bf.inPtr, &bf.vp, pl.c)
	}
}

// outputChunk computes output channels [j0, j1) of tiles [t0, t1) from the
// worker's V: the products M[i] = V[i]·U[i] and the output transform.
func (pl *winogradPlan) outputChunk(u, out []float32, t0, t1, j0, j1 int, bf *winogradBuffers) {
	vStride, mStride := pl.chunk*pl.c+16, pl.chunk*pl.co+16
	for i := range pl.planes {
		A := operand[float32]{data: bf.v[i*vStride:], rowStride: pl.c, depthStride: 1}
		multiplyBlock(A, u[i*pl.uPlane:], nil, nil, bf.m[i*mStride:], pl.co, pl.c, 0, t1-t0, j0, j1, bf.s)
	}
	n := j1 - j0
	for t := t0; t < t1; t++ {
		pl.tileOutputs(out, t, j0, j1, bf)
		m := bf.m[(t-t0)*pl.co+j0:]
		if pl.m == 2 {
			winogradOutput(m, mStride, (*[4][]float32)(bf.outP[:4]), n)
			continue
		}
		for i := range bf.mp {
			bf.mp[i] = m[i*mStride : i*mStride+n : i*mStride+n]
		}
		winograd4Output(&bf.mp, &bf.outP, n)
	}
}

// tileInputs points bf.inPtr at the alpha×alpha input positions (row-major)
// of tile t: channel vectors of x, or zeros in the padding.
func (pl *winogradPlan) tileInputs(x []float32, t int, bf *winogradBuffers) {
	b, y0, x0 := pl.tileOrigin(t)
	y0, x0 = y0-pl.padT, x0-pl.padL
	base := b * pl.h * pl.w * pl.c
	for r := range pl.alpha {
		y := y0 + r
		for col := range pl.alpha {
			xx := x0 + col
			if y < 0 || y >= pl.h || xx < 0 || xx >= pl.w {
				bf.inPtr[r*pl.alpha+col] = bf.zero
				continue
			}
			off := base + (y*pl.w+xx)*pl.c
			bf.inPtr[r*pl.alpha+col] = x[off : off+pl.c : off+pl.c]
		}
	}
}

// tileOutputs points bf.outP at channels [j0, j1) of the m×m output
// positions of tile t, or at a scratch row for those cropped at the bottom and
// right edges.
func (pl *winogradPlan) tileOutputs(out []float32, t, j0, j1 int, bf *winogradBuffers) {
	b, y0, x0 := pl.tileOrigin(t)
	for r := range pl.m {
		for col := range pl.m {
			y, xx := y0+r, x0+col
			if y >= pl.ho || xx >= pl.wo {
				bf.outP[r*pl.m+col] = bf.crop[j0:j1]
				continue
			}
			off := ((b*pl.ho+y)*pl.wo + xx) * pl.co
			bf.outP[r*pl.m+col] = out[off+j0 : off+j1 : off+j1]
		}
	}
}

// tileOrigin returns tile t's batch index and its first output row and column.
func (pl *winogradPlan) tileOrigin(t int) (b, y, x int) {
	perImage := pl.tilesH * pl.tilesW
	b, t = t/perImage, t%perImage
	return b, pl.m * (t / pl.tilesW), pl.m * (t % pl.tilesW)
}

// winogradInputGo sets, for channels [c0, c), v[i*stride+ch] to (Bᵀ d B)[i] where
// d[j] = in[j][ch] (j, i row-major over the 4×4 tile).
func winogradInputGo(in *[16][]float32, v []float32, stride, c0, c int) {
	for ch := c0; ch < c; ch++ {
		var d [16]float32
		for j := range 16 {
			d[j] = in[j][ch]
		}
		var t [16]float32 // Bᵀ d, row by row
		for col := range 4 {
			d0, d1, d2, d3 := d[col], d[4+col], d[8+col], d[12+col]
			t[col], t[4+col], t[8+col], t[12+col] = d0-d2, d1+d2, d2-d1, d1-d3
		}
		for r := range 4 {
			t0, t1, t2, t3 := t[4*r], t[4*r+1], t[4*r+2], t[4*r+3]
			v[(4*r)*stride+ch] = t0 - t2
			v[(4*r+1)*stride+ch] = t1 + t2
			v[(4*r+2)*stride+ch] = t2 - t1
			v[(4*r+3)*stride+ch] = t1 - t3
		}
	}
}

// winogradOutputGo sets, for channels [c0, c), out[j][ch] to (Aᵀ m A)[j] where
// m[i] = m[i*stride+ch] (j row-major over the 2×2 outputs).
func winogradOutputGo(m []float32, stride int, out *[4][]float32, c0, c int) {
	for ch := c0; ch < c; ch++ {
		var t [8]float32 // Aᵀ m: 2 rows of 4
		for col := range 4 {
			m0, m1, m2, m3 := m[col*stride+ch], m[(4+col)*stride+ch], m[(8+col)*stride+ch], m[(12+col)*stride+ch]
			t[col], t[4+col] = m0+m1+m2, m1-m2-m3
		}
		for r := range 2 {
			t0, t1, t2, t3 := t[4*r], t[4*r+1], t[4*r+2], t[4*r+3]
			out[2*r][ch] = t0 + t1 + t2
			out[2*r+1][ch] = t1 - t2 - t3
		}
	}
}
