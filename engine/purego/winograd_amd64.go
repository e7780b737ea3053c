//go:build amd64 && !purego

package purego

// winogradInputAVX2 and winogradOutputAVX2 are the transforms of
// winogradInputGo and winogradOutputGo on channels [0, n), n a multiple of 8
// (winograd_amd64.s).
//
//go:noescape
func winogradInputAVX2(in *[16]*float32, v *float32, stride, n int)

//go:noescape
func winogradOutputAVX2(m *float32, stride int, out *[4]*float32, n int)

// winogradInput sets v[i*stride+ch] to (Bᵀ d B)[i] for channels ch < c, where
// d[j] = in[j][ch].
func winogradInput(in *[16][]float32, v []float32, stride, c int) {
	body := 0
	if haveFastKernel && c >= 8 {
		body = c &^ 7
		var p [16]*float32
		for j := range in {
			_ = in[j][body-1]
			p[j] = &in[j][0]
		}
		_ = v[15*stride+body-1]
		winogradInputAVX2(&p, &v[0], stride, body)
	}
	winogradInputGo(in, v, stride, body, c)
}

// winogradOutput sets out[j][ch] to (Aᵀ m A)[j] for channels ch < c, where
// m[i] = m[i*stride+ch].
func winogradOutput(m []float32, stride int, out *[4][]float32, c int) {
	body := 0
	if haveFastKernel && c >= 8 {
		body = c &^ 7
		var p [4]*float32
		for j := range out {
			_ = out[j][body-1]
			p[j] = &out[j][0]
		}
		_ = m[15*stride+body-1]
		winogradOutputAVX2(&m[0], stride, &p, body)
	}
	winogradOutputGo(m, stride, out, body, c)
}

//go:noescape
func winogradKernelAVX2(w *float32, s0, s1 int, u *float32, plane, n int)

// winogradKernelRow sets u[off+i*plane+j] = (G g Gᵀ)[i] for j < n, where
// g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winogradKernelRow(w []float32, base, s0, s1 int, u []float32, off, plane, n int) {
	body := 0
	if haveFastKernel && n >= 8 && s0 >= 0 && s1 >= 0 {
		body = n &^ 7
		_, _ = w[base], w[base+2*s0+2*s1+body-1]
		_ = u[off+15*plane+body-1]
		winogradKernelAVX2(&w[base], s0, s1, &u[off], plane, body)
	}
	winogradKernelRowGo(w, base, s0, s1, u, off, plane, body, n)
}

// winograd4InputAVX2 and winograd4OutputAVX2 are winograd4InputGo and
// winograd4OutputGo on channels [0, n), n a multiple of 8, through tables of
// the rows' first elements (winograd4_amd64.s).
//
//go:noescape
func winograd4InputAVX2(in, out *[36]*float32, n int)

//go:noescape
func winograd4OutputAVX2(in *[36]*float32, out *[16]*float32, n int)

// winograd4Input sets v[i][ch] = (Bᵀ d B)[i] with d[j] = in[j][ch] for ch < c.
func winograd4Input(in, v *[36][]float32, c int) {
	body := 0
	if haveFastKernel && c >= 8 {
		body = c &^ 7
		var p, q [36]*float32
		pointers(in[:], p[:], body)
		pointers(v[:], q[:], body)
		winograd4InputAVX2(&p, &q, body)
	}
	winograd4InputGo(in, v, body, c)
}

// winograd4Output sets out[j][ch] = (Aᵀ m A)[j] with m[i] = in[i][ch] for ch < c.
func winograd4Output(in *[36][]float32, out *[16][]float32, c int) {
	body := 0
	if haveFastKernel && c >= 8 {
		body = c &^ 7
		var p [36]*float32
		var q [16]*float32
		pointers(in[:], p[:], body)
		pointers(out[:], q[:], body)
		winograd4OutputAVX2(&p, &q, body)
	}
	winograd4OutputGo(in, out, body, c)
}

//go:noescape
func winograd4GradTileAVX2(in *[16]*float32, out *[36]*float32, n int)

// winograd4GradTile sets y[i*stride+ch] = (A g Aᵀ)[i] with g[j] = g[j][ch]
// for ch < n (see winograd4GradTileGo).
func winograd4GradTile(g *[16][]float32, y []float32, stride, n int) {
	body := 0
	if haveFastKernel && n >= 8 {
		body = n &^ 7
		var p [16]*float32
		var q [36]*float32
		pointers(g[:], p[:], body)
		planePointers(y, stride, 0, body, q[:])
		winograd4GradTileAVX2(&p, &q, body)
	}
	winograd4GradTileGo(g, y, stride, body, n)
}

//go:noescape
func winogradGradBackAVX2(in *[16]*float32, out *[9]*float32, n int)

// winogradGradBack is winogradGradBackGo (out[k·plane+at] = (Gᵀ M G)[k]
// with M[i] = ±m[i*stride+at], at in [lo, hi)) eight values at a time.
func winogradGradBack(m []float32, stride int, out []float32, plane, lo, hi int) {
	body := 0
	if haveFastKernel && hi-lo >= 8 {
		body = (hi - lo) &^ 7
		var p [16]*float32
		var q [9]*float32
		planePointers(m, stride, lo, body, p[:])
		planePointers(out, plane, lo, body, q[:])
		winogradGradBackAVX2(&p, &q, body)
	}
	winogradGradBackGo(m, stride, out, plane, lo+body, hi)
}

//go:noescape
func winograd4GradBackAVX2(in *[36]*float32, out *[9]*float32, n int)

// winograd4GradBack is winograd4GradBackGo (out[k·plane+at] = (Gᵀ M G)[k]
// with M[i] = m[i*stride+at], at in [lo, hi)) eight values at a time.
func winograd4GradBack(m []float32, stride int, out []float32, plane, lo, hi int) {
	body := 0
	if haveFastKernel && hi-lo >= 8 {
		body = (hi - lo) &^ 7
		var p [36]*float32
		var q [9]*float32
		planePointers(m, stride, lo, body, p[:])
		planePointers(out, plane, lo, body, q[:])
		winograd4GradBackAVX2(&p, &q, body)
	}
	winograd4GradBackGo(m, stride, out, plane, lo+body, hi)
}

// planePointers sets p[i] to &data[i*stride+lo] after checking that n values
// follow it: the rows of planes stride apart, as the transforms' pointer tables.
func planePointers(data []float32, stride, lo, n int, p []*float32) {
	for i := range p {
		p[i] = &data[i*stride+lo : i*stride+lo+n][0]
	}
}

// pointers sets p[i] to &rows[i][0] after checking that each row holds n values.
func pointers(rows [][]float32, p []*float32, n int) {
	for i, r := range rows {
		_ = r[n-1]
		p[i] = &r[0]
	}
}

//go:noescape
func winograd4KernelAVX2(w *float32, s0, s1 int, u *float32, plane, n int)

// winograd4KernelRow sets u[off+i*plane+j] = (G g Gᵀ)[i] for j < n, where
// g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winograd4KernelRow(w []float32, base, s0, s1 int, u []float32, off, plane, n int) {
	body := 0
	if haveFastKernel && n >= 8 && s0 >= 0 && s1 >= 0 {
		body = n &^ 7
		_, _ = w[base], w[base+2*s0+2*s1+body-1]
		_ = u[off+35*plane+body-1]
		winograd4KernelAVX2(&w[base], s0, s1, &u[off], plane, body)
	}
	winograd4KernelRowGo(w, base, s0, s1, u, off, plane, body, n)
}
