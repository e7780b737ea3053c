//go:build amd64 && !purego

package purego

//go:noescape
func transpose8AVX2(out, src *float32, stride, outStride, n int)

// transpose8 sets out[q*outStride+i] = src[i*stride+q] for i < 8, q < n: the
// vector loop for the leading multiple of 8 of n, then Go for the rest.
func transpose8(out, src []float32, stride, outStride, n int) {
	body := n &^ 7
	if haveFastKernel && body > 0 {
		_, _ = src[7*stride+body-1], out[(body-1)*outStride+7]
		transpose8AVX2(&out[0], &src[0], stride, outStride, body)
	}
	transpose8Go(out, src, stride, outStride, body, n)
}
