//go:build !amd64 || purego

package purego

// transpose8 sets out[q*outStride+i] = src[i*stride+q] for i < 8, q < n.
func transpose8(out, src []float32, stride, outStride, n int) {
	transpose8Go(out, src, stride, outStride, 0, n)
}
