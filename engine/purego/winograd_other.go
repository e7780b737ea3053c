//go:build !amd64 || purego

package purego

// winogradInput sets v[i*stride+ch] to (Bᵀ d B)[i] for channels ch < c, where
// d[j] = in[j][ch].
func winogradInput(in *[16][]float32, v []float32, stride, c int) {
	winogradInputGo(in, v, stride, 0, c)
}

// winogradOutput sets out[j][ch] to (Aᵀ m A)[j] for channels ch < c, where
// m[i] = m[i*stride+ch].
func winogradOutput(m []float32, stride int, out *[4][]float32, c int) {
	winogradOutputGo(m, stride, out, 0, c)
}
