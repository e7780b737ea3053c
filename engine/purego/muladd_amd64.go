//go:build amd64 && !purego

package purego

// mulAddAVX2 sets dst[i] += a[i]*b[i] for i < n, n a multiple of 8 (muladd_amd64.s).
//
//go:noescape
func mulAddAVX2(dst, a, b *float32, n int)

// mulAddF32 sets dst[i] += a[i]*b[i], with AVX2/FMA where the CPU has them.
func mulAddF32(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	if !haveFastKernel || n < 8 {
		mulAddGo(dst, a, b)
		return
	}
	body := n &^ 7
	mulAddAVX2(&dst[0], &a[0], &b[0], body)
	mulAddGo(dst[body:], a[body:], b[body:])
}
