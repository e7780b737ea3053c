package purego

import (
	"runtime"
	"sync"
)

// Matrix multiplication C = A·B of row-major matrices (A optionally stored
// transposed). C is cut into blocks of mc×ncBlock spread over goroutines; each
// block is computed in mr×nr micro-tiles by a register-tiled micro-kernel that
// reads A and B in place (no packing), kc steps of depth at a time so that the
// B panel stays in L1 and the A block in L2. Tiles at the right and bottom
// edges go through small zero-padded copies. On amd64 with AVX2 and FMA the
// float32 micro-kernel is written in assembly; elsewhere a Go kernel is used.

const (
	mr      = 6   // rows of a micro-tile
	nr      = 16  // columns of a micro-tile
	kc      = 256 // depth step
	mc      = 96  // rows of a block (multiple of mr)
	ncBlock = 128 // columns of a block (multiple of nr)
)

type float interface{ ~float32 | ~float64 }

// operand describes a matrix read in place: element (i, p) of A is at
// i*rowStride + p*depthStride.
type operand[T float] struct {
	data                   []T
	rowStride, depthStride int
}

// matMul sets c [m×n] to a [m×k] times b [k×n]; with transA, a is stored
// transposed, as [k×m].
func matMul[T float](a, b, c []T, m, k, n int, transA bool) {
	clear(c[:m*n])
	if m == 0 || n == 0 || k == 0 {
		return
	}
	A := operand[T]{data: a, rowStride: k, depthStride: 1}
	if transA {
		A = operand[T]{data: a, rowStride: 1, depthStride: m}
	}
	type block struct{ i0, j0 int }
	var blocks []block
	for i0 := 0; i0 < m; i0 += mc {
		for j0 := 0; j0 < n; j0 += ncBlock {
			blocks = append(blocks, block{i0, j0})
		}
	}
	next := make(chan block, len(blocks))
	for _, bl := range blocks {
		next <- bl
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(blocks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch edgeScratch[T]
			for bl := range next {
				multiplyBlock(A, b, c, n, k, bl.i0, min(bl.i0+mc, m), bl.j0, min(bl.j0+ncBlock, n), &scratch)
			}
		}()
	}
	wg.Wait()
}

// edgeScratch holds zero-padded copies for partial micro-tiles.
type edgeScratch[T float] struct {
	a [mr * kc]T
	b [kc * nr]T
	c [mr * nr]T
}

// multiplyBlock adds A[i0:i1, :]·B[:, j0:j1] to C.
func multiplyBlock[T float](A operand[T], b, c []T, n, k, i0, i1, j0, j1 int, s *edgeScratch[T]) {
	for p0 := 0; p0 < k; p0 += kc {
		depth := min(kc, k-p0)
		for j := j0; j < j1; j += nr {
			cols := min(nr, j1-j)
			bData, bStride := b[p0*n+j:], n
			if cols < nr {
				packEdgeB(b, n, p0, depth, j, cols, s.b[:])
				bData, bStride = s.b[:], nr
			}
			for i := i0; i < i1; i += mr {
				rows := min(mr, i1-i)
				aData, aRow, aDepth := A.data[i*A.rowStride+p0*A.depthStride:], A.rowStride, A.depthStride
				if rows < mr {
					packEdgeA(A, i, rows, p0, depth, s.a[:])
					aData, aRow, aDepth = s.a[:], 1, mr
				}
				if rows == mr && cols == nr {
					microKernel(depth, aData, aRow, aDepth, bData, bStride, c[i*n+j:], n)
					continue
				}
				clear(s.c[:])
				microKernel(depth, aData, aRow, aDepth, bData, bStride, s.c[:], nr)
				for r := range rows {
					dst := c[(i+r)*n+j : (i+r)*n+j+cols]
					for jj := range dst {
						dst[jj] += s.c[r*nr+jj]
					}
				}
			}
		}
	}
}

// packEdgeB copies the depth×cols block of b at (p0, j) into out with row
// stride nr, zero padded.
func packEdgeB[T float](b []T, ldb, p0, depth, j, cols int, out []T) {
	for p := range depth {
		dst := out[p*nr : p*nr+nr]
		copy(dst, b[(p0+p)*ldb+j:(p0+p)*ldb+j+cols])
		clear(dst[cols:])
	}
}

// packEdgeA copies rows i.. (rows of them) of A at depths p0.. into out as
// [depth][mr], zero padded.
func packEdgeA[T float](A operand[T], i, rows, p0, depth int, out []T) {
	for p := range depth {
		dst := out[p*mr : p*mr+mr]
		for r := range mr {
			if r < rows {
				dst[r] = A.data[(i+r)*A.rowStride+(p0+p)*A.depthStride]
			} else {
				dst[r] = 0
			}
		}
	}
}

// microKernel adds the mr×nr product of A (element (r, p) at
// a[r*aRow + p*aDepth]) and B (element (p, j) at b[p*ldb + j]) over depth
// steps to the tile of c with row stride ldc.
func microKernel[T float](depth int, a []T, aRow, aDepth int, b []T, ldb int, c []T, ldc int) {
	if f32, ok := any(a).([]float32); ok && haveFastKernel {
		fastKernel(depth, f32, aRow, aDepth, any(b).([]float32), ldb, any(c).([]float32), ldc)
		return
	}
	goKernel(depth, a, aRow, aDepth, b, ldb, c, ldc)
}

// goKernel is the portable micro-kernel, one row of the tile at a time.
func goKernel[T float](depth int, a []T, aRow, aDepth int, b []T, ldb int, c []T, ldc int) {
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
		for j := range nr {
			row[j] += acc[j]
		}
	}
}
