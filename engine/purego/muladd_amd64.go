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

// dwRowAVX2 sets dst[c] = Σ_t x[xoffs[t]+c]·w[woffs[t]+c] for c < n, n a multiple of 8
// (muladd_amd64.s).
//
//go:noescape
func dwRowAVX2(dst, x *float32, xoffs *int, w *float32, woffs *int, taps, n int)

// dwRow sets dst to the sum over taps t of x[xoffs[t]:]·w[woffs[t]:], element by element.
func dwRow[T float](dst, x []T, xoffs []int, w []T, woffs []int) {
	n := len(dst)
	if d32, ok := any(dst).([]float32); ok && haveFastKernel && n >= 8 && len(xoffs) > 0 {
		x32, w32 := any(x).([]float32), any(w).([]float32)
		body := n &^ 7
		for t := range xoffs { // bounds of every row the assembly reads
			_, _ = x32[xoffs[t]+body-1], w32[woffs[t]+body-1]
		}
		dwRowAVX2(&d32[0], &x32[0], &xoffs[0], &w32[0], &woffs[0], len(xoffs), body)
		dwRowTail(dst, x, xoffs, w, woffs, body)
		return
	}
	dwRowTail(dst, x, xoffs, w, woffs, 0)
}
