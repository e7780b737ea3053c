//go:build amd64 && !purego

package purego

//go:noescape
func selectRowAVX2(out, x, best, src, taken *float32, n int)

// selectRowFast does selectRow for the leading multiple of 8 of the row with
// AVX2 and returns how many elements it did.
func selectRowFast(out, x, best, src, taken []float32) int {
	n := len(out) &^ 7
	if !haveFastKernel || n == 0 {
		return 0
	}
	_, _, _, _ = x[n-1], best[n-1], src[n-1], taken[n-1]
	selectRowAVX2(&out[0], &x[0], &best[0], &src[0], &taken[0], n)
	return n
}
