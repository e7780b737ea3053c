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

// winogradKernelRow sets u[off+i*plane+j] = (G g Gᵀ)[i] for j < n, where
// g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winogradKernelRow(w []float32, base, s0, s1 int, u []float32, off, plane, n int) {
	winogradKernelRowGo(w, base, s0, s1, u, off, plane, 0, n)
}

// winograd4Input sets v[i][ch] = (Bᵀ d B)[i] with d[j] = in[j][ch] for ch < c.
func winograd4Input(in, v *[36][]float32, c int) { winograd4InputGo(in, v, 0, c) }

// winograd4Output sets out[j][ch] = (Aᵀ m A)[j] with m[i] = in[i][ch] for ch < c.
func winograd4Output(in *[36][]float32, out *[16][]float32, c int) { winograd4OutputGo(in, out, 0, c) }

// winograd4KernelRow sets u[off+i*plane+j] = (G g Gᵀ)[i] for j < n, where
// g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winograd4KernelRow(w []float32, base, s0, s1 int, u []float32, off, plane, n int) {
	winograd4KernelRowGo(w, base, s0, s1, u, off, plane, 0, n)
}

// winograd4GradTile sets y[i*stride+ch] = (A g Aᵀ)[i] with g[j] = g[j][ch]
// for ch < n (see winograd4GradTileGo).
func winograd4GradTile(g *[16][]float32, y []float32, stride, n int) {
	winograd4GradTileGo(g, y, stride, 0, n)
}

// winograd4GradBack sets out[k·plane+at] = (Gᵀ M G)[k] with M[i] =
// m[i*stride+at], for at in [lo, hi) (see winograd4GradBackGo).
func winograd4GradBack(m []float32, stride int, out []float32, plane, lo, hi int) {
	winograd4GradBackGo(m, stride, out, plane, lo, hi)
}

// winogradGradBack sets out[k·plane+at] = (Gᵀ M G)[k] with M[i] =
// ±m[i*stride+at], for at in [lo, hi) (see winogradGradBackGo).
func winogradGradBack(m []float32, stride int, out []float32, plane, lo, hi int) {
	winogradGradBackGo(m, stride, out, plane, lo, hi)
}
