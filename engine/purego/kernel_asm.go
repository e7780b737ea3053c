//go:build (amd64 || arm64) && !purego

package purego

// kernel6x16 is the assembly micro-kernel (AVX2/FMA in kernel_amd64.s, NEON in
// kernel_arm64.s). It adds to the 6×16 tile at c (row stride ldc bytes) the
// product over k depth steps of A, whose element (r, p) is at a + r*aRow +
// p*aDepth bytes, and B, whose row p holds 16 floats at b + p*ldb bytes. With
// overwrite != 0 it stores the product instead of adding it.
//
//go:noescape
func kernel6x16(k int, a *float32, aRow, aDepth int, b *float32, ldb int, c *float32, ldc int, overwrite int)

func fastKernel(k int, a []float32, aRow, aDepth int, b []float32, ldb int, c []float32, ldc int, overwrite bool) {
	if k == 0 {
		if overwrite {
			for r := range mr {
				clear(c[r*ldc : r*ldc+nr])
			}
		}
		return
	}
	// Bounds checks for the last elements the kernel touches.
	_ = a[(mr-1)*aRow+(k-1)*aDepth]
	_ = b[(k-1)*ldb+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	ow := 0
	if overwrite {
		ow = 1
	}
	kernel6x16(k, &a[0], aRow*4, aDepth*4, &b[0], ldb*4, &c[0], ldc*4, ow)
}
