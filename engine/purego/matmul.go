package purego

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Matrix multiplication C = A·B of row-major matrices (A optionally stored
// transposed). C is cut into blocks of mc×ncBlock spread over goroutines, and
// a register-tiled micro-kernel computes mr×nr tiles of each block, kc steps
// of depth at a time (see multiplyBlock for what is packed). On amd64 with AVX2 and FMA the
// float32 micro-kernel is written in assembly; elsewhere a Go kernel is used.

const (
	mr      = 6   // rows of a micro-tile
	nr      = 16  // columns of a micro-tile
	kc      = 256 // depth step
	mc      = 96  // rows of a block (multiple of mr)
	ncBlock = 128 // columns of a block (multiple of nr)
)

type float interface{ ~float32 | ~float64 }

// operand describes the A matrix: read in place, element (i, p) at
// i*rowStride + p*depthStride, or, when gather is set, produced block by block:
// gather writes rows [i0, i1) at depths [p0, p0+depth) as panels of mr rows,
// each row's depths contiguous, out[panel][r][p], zero padded (the
// convolution's patches, never stored whole).
//
// When panels is set, data already holds the whole of A as panels of mr rows,
// [ceil(m/mr)][k][mr], zero padded (see prepackA).
type operand[T float] struct {
	data                   []T
	rowStride, depthStride int
	gather                 func(i0, i1, p0, depth int, out []T)
	panels                 bool
	accumulate             bool // multiplyBlock adds A·B to C instead of setting it
}

// bLayout describes a B operand that is not a plain row-major [k×n] matrix:
// element (p, j) is at rowOffsets[p] + j*colStride. Such a B is packed panel by
// panel (it is read with stride colStride, typically a transposed kernel).
//
// When gather is set, it produces the panels instead (b is not read): columns
// [j, j1) (j1-j <= nr) at depths [p0, p0+depth) into out[p][nr], zero padded
// (the patches of a kernel gradient, never stored whole).
type bLayout struct {
	rowOffsets []int
	colStride  int
	gather     func(p0, depth, j, j1 int, out []float32)
}

// matMul sets c [m×n] to a [m×k] times b [k×n]; with transA, a is stored
// transposed, as [k×m].
func matMul[T float](a, b, c []T, m, k, n int, transA bool) {
	matMulB(a, b, c, m, k, n, transA, nil)
}

// matMulB is matMul with b laid out as described by bl (nil: row-major).
func matMulB[T float](a, b, c []T, m, k, n int, transA bool, bl *bLayout) {
	if m == 0 || n == 0 || k == 0 {
		clear(c[:m*n])
		return
	}
	A := operand[T]{data: a, rowStride: k, depthStride: 1}
	if transA {
		A = operand[T]{data: a, rowStride: 1, depthStride: m}
	}
	matMulOperand(A, b, c, m, k, n, bl, nil)
}

// matMulOperand sets c [m×n] to A·b. With epi, it calls epi(lo, hi) on each
// flat range of c (whole rows) as soon as it is final, on the goroutine that
// finished it.
func matMulOperand[T float](A operand[T], b, c []T, m, k, n int, bl *bLayout, epi func(lo, hi int)) {
	if m == 0 || n == 0 || k == 0 {
		clear(c[:m*n])
		if epi != nil {
			epi(0, m*n)
		}
		return
	}
	// A packed A is packed once per column block: use a single column block
	// when the row blocks alone keep every worker busy.
	colBlock, workers := ncBlock, runtime.GOMAXPROCS(0)
	if A.packed() && (m+mc-1)/mc >= 2*workers && (bl == nil || bl.gather == nil) {
		colBlock = roundUp(n, nr)
	}
	colBlock = balancedColBlock((m+mc-1)/mc, n, workers, colBlock)
	if A.rowStride == 1 && !A.panels && colBlock < n && A.gather == nil {
		// A transposed A would be packed once per column block: pack it whole once.
		packed := getPacked[T](roundUp(m, mr) * k)
		defer packedPool.Put(packed)
		A = prepackA(A, m, k, *packed)
	}
	var bPacked []T
	if bl != nil && bl.gather == nil && m > mc {
		// A strided B would be packed once per row block: pack it whole once,
		// as panels [ceil(n/nr)][k][nr].
		packed := getPacked[T](roundUp(n, nr) * k)
		defer packedPool.Put(packed)
		bPacked = *packed
		parallelRows((n+nr-1)/nr, func(q0, q1 int) {
			for q := q0; q < q1; q++ {
				packBStrided(b, bl, 0, k, q*nr, n, bPacked[q*nr*k:(q+1)*nr*k])
			}
		})
	}
	type block struct{ i0, j0 int }
	var blocks []block
	for i0 := 0; i0 < m; i0 += mc {
		for j0 := 0; j0 < n; j0 += colBlock {
			blocks = append(blocks, block{i0, j0})
		}
	}
	next := make(chan block, len(blocks))
	for _, bl := range blocks {
		next <- bl
	}
	close(next)
	// Column blocks still to finish per row block, for epi.
	pending := make([]atomic.Int32, (m+mc-1)/mc)
	for i := range pending {
		pending[i].Store(int32((n + colBlock - 1) / colBlock))
	}
	parallelFor(min(workers, len(blocks)), func(int) {
		s := getScratch[T]()
		defer scratchPool.Put(s)
		for blk := range next {
			i1 := min(blk.i0+mc, m)
			multiplyBlock(A, b, bPacked, bl, c, n, k, blk.i0, i1, blk.j0, min(blk.j0+colBlock, n), s)
			if epi != nil && pending[blk.i0/mc].Add(-1) == 0 {
				epi(blk.i0*n, i1*n)
			}
		}
	})
}

// balancedColBlock returns the width of the column blocks (a multiple of nr,
// at most colBlock). With few row blocks (under 4 per worker), it splits the
// n columns evenly over a number of blocks that makes the blocks a multiple of
// the workers: 147 columns in one row block over 2 workers are 2 blocks of 5
// panels, not 8 and 2; 3 row blocks of 64 columns are 6 blocks, not 3.
func balancedColBlock(rowBlocks, n, workers, colBlock int) int {
	if workers <= 1 || rowBlocks >= 4*workers {
		return colBlock
	}
	panels := (n + nr - 1) / nr
	blocks := (panels + colBlock/nr - 1) / (colBlock / nr)
	for (rowBlocks*blocks)%workers != 0 && blocks < panels {
		blocks++
	}
	return nr * ((panels + blocks - 1) / blocks)
}

// scratch holds a worker's packed blocks and a partial micro-tile.
type scratch[T float] struct {
	a [mc * kc]T // A block as panels [mc/mr][depth][mr]
	b [kc * nr]T // a packed B panel
	c [mr * nr]T
}

// multiplyBlock adds A[i0:i1, :]·B[:, j0:j1] to C, kc steps of depth at a
// time. B and row-major A are read in place; a transposed A is packed into
// panels of mr rows first (in place, its mr values per depth step would each
// cost a cache line). bPacked, when set, is B packed whole (matMulOperand);
// otherwise a strided or gathered B is packed panel by panel. Partial tiles at
// the edges use zero-padded copies.
func multiplyBlock[T float](A operand[T], b, bPacked []T, bl *bLayout, c []T, n, k, i0, i1, j0, j1 int, s *scratch[T]) {
	packed := A.packed()
	rowsPadded := roundUp(i1-i0, mr)
	edgeB := s.b[:]
	edgeA := i1 - (i1-i0)%mr // first row of a partial tile of an A read in place
	for p0 := 0; p0 < k; p0 += kc {
		depth := min(kc, k-p0)
		overwrite := p0 == 0 && !A.accumulate // the first depth slice sets C, the others add to it
		switch {
		case packed:
			packA(A, i0, i1, p0, depth, s.a[:rowsPadded*depth])
		case !A.panels && edgeA < i1:
			packA(A, edgeA, i1, p0, depth, s.a[:mr*depth]) // once, not once per column panel
		}
		for j := j0; j < j1; j += nr {
			cols := min(nr, j1-j)
			bData, ldb := edgeB[:], nr
			switch {
			case bPacked != nil:
				bData = bPacked[j*k+p0*nr:]
			case bl != nil && bl.gather != nil:
				bl.gather(p0, depth, j, min(j+nr, j1), any(edgeB[:nr*depth]).([]float32))
			case bl != nil:
				packBStrided(b, bl, p0, depth, j, j1, edgeB[:nr*depth])
			case cols < nr:
				packB(b, n, p0, depth, j, j1, edgeB[:nr*depth])
			default:
				bData, ldb = b[p0*n+j:], n
			}
			for i := i0; i < i1; i += mr {
				rows := min(mr, i1-i)
				var aData []T
				aRow, aDepth := A.rowStride, A.depthStride
				switch {
				case A.panels:
					aData, aRow, aDepth = A.data[i/mr*k*mr+p0*mr:], 1, mr
				case A.gather != nil:
					aData, aRow, aDepth = s.a[(i-i0)*depth:], depth, 1
				case packed:
					aData, aRow, aDepth = s.a[(i-i0)*depth:], 1, mr
				case rows < mr:
					aData, aRow, aDepth = s.a[:], 1, mr
				default:
					aData = A.data[i*A.rowStride+p0*A.depthStride:]
				}
				if rows == mr && cols == nr {
					microKernel(depth, aData, aRow, aDepth, bData, ldb, c[i*n+j:], n, overwrite)
					continue
				}
				microKernel(depth, aData, aRow, aDepth, bData, ldb, s.c[:], nr, true)
				for r := range rows {
					dst := c[(i+r)*n+j : (i+r)*n+j+cols]
					src := s.c[r*nr : r*nr+cols]
					if overwrite {
						copy(dst, src)
						continue
					}
					for jj := range dst {
						dst[jj] += src[jj]
					}
				}
			}
		}
	}
}

// packed reports whether multiplyBlock packs A (gathered, or stored transposed).
func (A operand[T]) packed() bool { return !A.panels && (A.gather != nil || A.rowStride == 1) }

// prepackA returns A [m×k] packed whole into out as panels of mr rows
// (operand.panels), the panels spread over the workers.
func prepackA[T float](A operand[T], m, k int, out []T) operand[T] {
	panels := roundUp(m, mr) / mr
	parallelRows(panels, func(p0, p1 int) {
		for q := p0; q < p1; q++ {
			i0 := q * mr
			for d0 := 0; d0 < k; d0 += kc {
				depth := min(kc, k-d0)
				packA(A, i0, min(i0+mr, m), d0, depth, out[q*k*mr+d0*mr:q*k*mr+(d0+depth)*mr])
			}
		}
	})
	return operand[T]{data: out, panels: true}
}

// packedPool recycles prepackA's buffers (*[]float32 or *[]float64).
var packedPool sync.Pool

func getPacked[T float](n int) *[]T {
	if p, ok := packedPool.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	buf := make([]T, n)
	return &buf
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// packA copies rows [i0, i1) of A at depths [p0, p0+depth) into panels of mr
// rows: out[panel][p][r], zero padded.
func packA[T float](A operand[T], i0, i1, p0, depth int, out []T) {
	if A.gather != nil {
		A.gather(i0, i1, p0, depth, out)
		return
	}
	full := (i1 - i0) / mr * mr
	if A.rowStride == 1 && full > 0 {
		// Transposed A: each depth step is a contiguous run of rows; read it
		// sequentially and scatter it to the panels. The mr values go as one
		// 8-value copy where the 2 extra land in the next depth step's slot,
		// written after (so not for the last depth step, nor the last panel,
		// whose source may end at the row's end).
		for p := range depth {
			src := A.data[(p0+p)*A.depthStride+i0 : (p0+p)*A.depthStride+i0+full]
			i := 0
			if p < depth-1 {
				for ; i+mr < full; i += mr {
					*(*[8]T)(out[i*depth+p*mr : i*depth+p*mr+8]) = *(*[8]T)(src[i : i+8])
				}
			}
			for ; i < full; i += mr {
				dst := out[i*depth+p*mr : i*depth+p*mr+mr : i*depth+p*mr+mr]
				s := src[i : i+mr : i+mr]
				dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = s[0], s[1], s[2], s[3], s[4], s[5]
			}
		}
	} else {
		full = 0
	}
	for i := i0 + full; i < i1; i += mr {
		panel := out[(i-i0)*depth : (i-i0+mr)*depth]
		rows := min(mr, i1-i)
		if A.depthStride == 1 && rows == mr { // row-major: six rows side by side
			base := i*A.rowStride + p0
			r0, r1, r2 := A.data[base:base+depth], A.data[base+A.rowStride:base+A.rowStride+depth], A.data[base+2*A.rowStride:base+2*A.rowStride+depth]
			r3, r4, r5 := A.data[base+3*A.rowStride:base+3*A.rowStride+depth], A.data[base+4*A.rowStride:base+4*A.rowStride+depth], A.data[base+5*A.rowStride:base+5*A.rowStride+depth]
			for p := range depth {
				dst := panel[p*mr : p*mr+mr : p*mr+mr]
				dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		if A.depthStride == 1 { // row-major, a partial panel: row by row
			clear(panel)
			for r := range rows {
				src := A.data[(i+r)*A.rowStride+p0 : (i+r)*A.rowStride+p0+depth]
				for p, v := range src {
					panel[p*mr+r] = v
				}
			}
			continue
		}
		for p := range depth {
			dst := panel[p*mr : p*mr+mr]
			for r := range mr {
				if r < rows {
					dst[r] = A.data[(i+r)*A.rowStride+(p0+p)*A.depthStride]
				} else {
					dst[r] = 0
				}
			}
		}
	}
}

// packB copies columns [j0, j1) of b (row stride ldb) at depths [p0,
// p0+depth) into panels of nr columns: out[panel][p][j], zero padded.
func packB[T float](b []T, ldb, p0, depth, j0, j1 int, out []T) {
	for j := j0; j < j1; j += nr {
		panel := out[(j-j0)*depth : (j-j0+nr)*depth]
		cols := min(nr, j1-j)
		for p := range depth {
			src := b[(p0+p)*ldb+j : (p0+p)*ldb+j+cols]
			dst := panel[p*nr : p*nr+nr : p*nr+nr]
			if cols == nr {
				for jj := range nr {
					dst[jj] = src[jj]
				}
				continue
			}
			copy(dst, src)
			clear(dst[cols:])
		}
	}
}

// packBStrided is packB for a B laid out by bl. Runs of rows at consecutive
// offsets are eight columns by eight rows transposes (transpose8).
func packBStrided[T float](b []T, bl *bLayout, p0, depth, j, j1 int, out []T) {
	cols := min(nr, j1-j)
	rows := bl.rowOffsets[p0 : p0+depth]
	if bl.colStride == 1 && cols == nr { // selected rows of a row-major B
		for p, off := range rows {
			copy(out[p*nr:(p+1)*nr], b[off+j:off+j+nr])
		}
		return
	}
	if b32, ok := any(b).([]float32); ok && cols == nr {
		out32 := any(out).([]float32)
		for p := 0; p < depth; {
			run := 1
			for p+run < depth && rows[p+run] == rows[p]+run {
				run++
			}
			for half := 0; half < nr; half += 8 {
				transpose8(out32[p*nr+half:], b32[rows[p]+(j+half)*bl.colStride:], bl.colStride, nr, run)
			}
			p += run
		}
		return
	}
	for jj := range nr {
		if jj >= cols {
			for p := range depth {
				out[p*nr+jj] = 0
			}
			continue
		}
		base := (j + jj) * bl.colStride
		for p, off := range rows {
			out[p*nr+jj] = b[off+base]
		}
	}
}

// transpose8Go sets out[q*outStride+i] = src[i*stride+q] for i < 8 and
// q in [from, n).
func transpose8Go(out, src []float32, stride, outStride, from, n int) {
	for i := range 8 {
		row := src[i*stride : i*stride+n]
		for q := from; q < n; q++ {
			out[q*outStride+i] = row[q]
		}
	}
}

// microKernel adds (or, with overwrite, writes) the mr×nr product of A
// (element (r, p) at a[r*aRow + p*aDepth]) and B (element (p, j) at
// b[p*ldb + j]) over depth steps to the tile of c with row stride ldc.
func microKernel[T float](depth int, a []T, aRow, aDepth int, b []T, ldb int, c []T, ldc int, overwrite bool) {
	if f32, ok := any(a).([]float32); ok && haveFastKernel {
		fastKernel(depth, f32, aRow, aDepth, any(b).([]float32), ldb, any(c).([]float32), ldc, overwrite)
		return
	}
	goKernel(depth, a, aRow, aDepth, b, ldb, c, ldc, overwrite)
}

// goKernel is the portable micro-kernel, one row of the tile at a time.
func goKernel[T float](depth int, a []T, aRow, aDepth int, b []T, ldb int, c []T, ldc int, overwrite bool) {
	for r := range mr {
		var acc [nr]T
		for p := range depth {
			av := a[r*aRow+p*aDepth]
			bp := b[p*ldb : p*ldb+nr : p*ldb+nr]
			for j := range nr {
				acc[j] += av * bp[j]
			}
		}
		row := c[r*ldc : r*ldc+nr]
		if overwrite {
			copy(row, acc[:])
			continue
		}
		for j := range nr {
			row[j] += acc[j]
		}
	}
}

// scratchPool recycles workers' packing buffers (*scratch[float32] or [float64]).
var scratchPool sync.Pool

func getScratch[T float]() *scratch[T] {
	if s, ok := scratchPool.Get().(*scratch[T]); ok {
		return s
	}
	return new(scratch[T])
}
