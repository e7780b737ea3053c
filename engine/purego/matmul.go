package purego

import (
	"runtime"
	"sync"
)

// Matrix multiplication C = A·B of row-major matrices, blocked for the caches
// (BLIS-style): B is packed into panels of nr columns, A into panels of mr rows,
// and a register-tiled micro-kernel computes mr×nr tiles of C. Row blocks of A
// are spread over goroutines. On amd64 with AVX2 and FMA the float32
// micro-kernel is written in assembly; elsewhere a plain Go kernel is used.

const (
	mr = 6   // rows of a micro-tile
	nr = 16  // columns of a micro-tile
	kc = 256 // depth of a packed block
	mc = 96  // rows of A packed at a time (multiple of mr)
	nc = 512 // columns of B packed at a time (multiple of nr)
)

type float interface{ ~float32 | ~float64 }

// matMul sets c [m×n] to a [m×k] times b [k×n]; with transA, a is stored
// transposed, as [k×m].
func matMul[T float](a, b, c []T, m, k, n int, transA bool) {
	clear(c[:m*n])
	if m == 0 || n == 0 || k == 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	bPack := make([]T, kc*roundUp(min(n, nc), nr))
	aPacks := make([][]T, workers)
	for jc := 0; jc < n; jc += nc {
		ncCur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcCur := min(kc, k-pc)
			packB(b[pc*n+jc:], n, kcCur, ncCur, bPack)
			blocks := (m + mc - 1) / mc
			var wg sync.WaitGroup
			next := make(chan int, blocks)
			for i := range blocks {
				next <- i * mc
			}
			close(next)
			for w := range min(workers, blocks) {
				if aPacks[w] == nil {
					aPacks[w] = make([]T, mc*kc)
				}
				wg.Add(1)
				go func(aPack []T) {
					defer wg.Done()
					for ic := range next {
						mcCur := min(mc, m-ic)
						if transA {
							packAT(a[pc*m+ic:], m, mcCur, kcCur, aPack)
						} else {
							packA(a[ic*k+pc:], k, mcCur, kcCur, aPack)
						}
						macroKernel(aPack, bPack, c[ic*n+jc:], n, mcCur, kcCur, ncCur)
					}
				}(aPacks[w])
			}
			wg.Wait()
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// packB copies the kcCur×ncCur block of b (row stride ldb) into panels of nr
// columns: panel j holds, for each k, nr consecutive values (zero padded).
func packB[T float](b []T, ldb, kcCur, ncCur int, out []T) {
	for j0 := 0; j0 < ncCur; j0 += nr {
		panel := out[j0*kcCur : (j0+nr)*kcCur]
		cols := min(nr, ncCur-j0)
		if cols == nr {
			for p := range kcCur {
				src := b[p*ldb+j0 : p*ldb+j0+nr : p*ldb+j0+nr]
				dst := panel[p*nr : p*nr+nr : p*nr+nr]
				for j := range nr {
					dst[j] = src[j]
				}
			}
			continue
		}
		for p := range kcCur {
			dst := panel[p*nr : p*nr+nr]
			copy(dst, b[p*ldb+j0:p*ldb+j0+cols])
			clear(dst[cols:])
		}
	}
}

// packA copies the mcCur×kcCur block of a (row stride lda) into panels of mr
// rows: panel i holds, for each k, mr consecutive values (zero padded).
func packA[T float](a []T, lda, mcCur, kcCur int, out []T) {
	for i0 := 0; i0 < mcCur; i0 += mr {
		panel := out[i0*kcCur : (i0+mr)*kcCur]
		rows := min(mr, mcCur-i0)
		if rows < mr {
			clear(panel)
			for r := range rows {
				src := a[(i0+r)*lda : (i0+r)*lda+kcCur]
				for p, v := range src {
					panel[p*mr+r] = v
				}
			}
			continue
		}
		// Full panel: read the six rows side by side, write sequentially.
		r0 := a[i0*lda : i0*lda+kcCur]
		r1 := a[(i0+1)*lda : (i0+1)*lda+kcCur]
		r2 := a[(i0+2)*lda : (i0+2)*lda+kcCur]
		r3 := a[(i0+3)*lda : (i0+3)*lda+kcCur]
		r4 := a[(i0+4)*lda : (i0+4)*lda+kcCur]
		r5 := a[(i0+5)*lda : (i0+5)*lda+kcCur]
		for p := range kcCur {
			dst := panel[p*mr : p*mr+mr : p*mr+mr]
			dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
	}
}

// packAT is packA for a stored transposed (a is [k×m], row stride lda): the
// mr values of a panel at each depth are contiguous in a.
func packAT[T float](a []T, lda, mcCur, kcCur int, out []T) {
	for i0 := 0; i0 < mcCur; i0 += mr {
		panel := out[i0*kcCur : (i0+mr)*kcCur]
		rows := min(mr, mcCur-i0)
		if rows == mr {
			for p := range kcCur {
				src := a[p*lda+i0 : p*lda+i0+mr : p*lda+i0+mr]
				dst := panel[p*mr : p*mr+mr : p*mr+mr]
				dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = src[0], src[1], src[2], src[3], src[4], src[5]
			}
			continue
		}
		for p := range kcCur {
			dst := panel[p*mr : p*mr+mr]
			copy(dst, a[p*lda+i0:p*lda+i0+rows])
			clear(dst[rows:])
		}
	}
}

// macroKernel adds aPack·bPack to the mcCur×ncCur block of c (row stride ldc).
func macroKernel[T float](aPack, bPack, c []T, ldc, mcCur, kcCur, ncCur int) {
	var edge [mr * nr]T
	for j0 := 0; j0 < ncCur; j0 += nr {
		bPanel := bPack[j0*kcCur:]
		cols := min(nr, ncCur-j0)
		for i0 := 0; i0 < mcCur; i0 += mr {
			aPanel := aPack[i0*kcCur:]
			rows := min(mr, mcCur-i0)
			if rows == mr && cols == nr {
				microKernel(kcCur, aPanel, bPanel, c[i0*ldc+j0:], ldc)
				continue
			}
			clear(edge[:])
			microKernel(kcCur, aPanel, bPanel, edge[:], nr)
			for r := range rows {
				dst := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+cols]
				for j := range dst {
					dst[j] += edge[r*nr+j]
				}
			}
		}
	}
}

// microKernel adds the product of an mr-row panel and an nr-column panel, both
// of depth kcCur, to the mr×nr tile of c (row stride ldc).
func microKernel[T float](kcCur int, a, b, c []T, ldc int) {
	if f32, ok := any(a).([]float32); ok && haveFastKernel {
		fastKernel(kcCur, f32, any(b).([]float32), any(c).([]float32), ldc)
		return
	}
	goKernel(kcCur, a, b, c, ldc)
}

// goKernel is the portable micro-kernel: one row of the tile at a time, with
// the nr accumulators of the row in an array the compiler keeps in registers
// as far as it can.
func goKernel[T float](kcCur int, a, b, c []T, ldc int) {
	a = a[:kcCur*mr]
	b = b[:kcCur*nr]
	for r := range mr {
		var acc [nr]T
		for p := range kcCur {
			av := a[p*mr+r]
			bp := b[p*nr : p*nr+nr : p*nr+nr]
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
