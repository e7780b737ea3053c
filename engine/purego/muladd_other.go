//go:build !amd64 || purego

package purego

// mulAddF32 sets dst[i] += a[i]*b[i].
func mulAddF32(dst, a, b []float32) { mulAddGo(dst, a, b) }

// dwRow sets dst to the sum over taps t of x[xoffs[t]:]·w[woffs[t]:], element by element.
func dwRow[T float](dst, x []T, xoffs []int, w []T, woffs []int) {
	dwRowTail(dst, x, xoffs, w, woffs, 0)
}
