//go:build amd64 && !purego

package purego

import "golang.org/x/sys/cpu"

var haveFastKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 is the AVX2/FMA micro-kernel (kernel_amd64.s): it adds the
// product of a packed 6-row panel of a and a packed 16-column panel of b, both
// of depth k, to the 6×16 tile at c with row stride ldc (in elements).
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int)

func fastKernel(k int, a, b, c []float32, ldc int) {
	if k == 0 {
		return
	}
	_ = a[k*mr-1]
	_ = b[k*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc)
}
