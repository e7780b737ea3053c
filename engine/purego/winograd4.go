package purego

// Winograd F(4×4, 3×3): tiles of 4×4 outputs from 6×6 inputs, 36 products
// (4x fewer multiplications than the direct convolution, against 2.25x for
// F(2×2, 3×3)), with the transform matrices of Lavin and Gray:
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// The input and output transforms apply Bᵀ and Aᵀ twice (columns, then rows)
// as the additions below, and G to the kernel's columns then rows (AVX2 in
// winograd4_amd64.s).

// winograd4KernelRowGo sets u[off+i*plane+j] = (G g Gᵀ)[i] for j in [j0, n),
// where g[kh][kw] = w[base + kh*s0 + kw*s1 + j].
func winograd4KernelRowGo(w []float32, base, s0, s1 int, u []float32, off, plane, j0, n int) {
	for j := j0; j < n; j++ {
		var gg [6][3]float32 // G g
		for col := range 3 {
			at := base + col*s1 + j
			gg[0][col], gg[1][col], gg[2][col], gg[3][col], gg[4][col], gg[5][col] = winograd4K1D(w[at], w[at+s0], w[at+2*s0])
		}
		for r, a := range gg { // (G g) Gᵀ
			o := u[off+6*r*plane+j:]
			o[0], o[plane], o[2*plane], o[3*plane], o[4*plane], o[5*plane] = winograd4K1D(a[0], a[1], a[2])
		}
	}
}

// winograd4K1D is G applied to one column (or row) of three values.
func winograd4K1D(a, b, c float32) (o0, o1, o2, o3, o4, o5 float32) {
	const sixth, twelfth, twentyfourth = 1.0 / 6, 1.0 / 12, 1.0 / 24
	s := a + c
	p, q := a*twentyfourth+c*sixth, b*twelfth
	return a * 0.25, (s + b) * -sixth, (s - b) * -sixth, p + q, p - q, c
}

// winograd4In1D is Bᵀ applied to one column (or row) of six values.
func winograd4In1D(d0, d1, d2, d3, d4, d5 float32) (t0, t1, t2, t3, t4, t5 float32) {
	p, q := d4-4*d2, d3-4*d1
	r, s := d4-d2, 2*(d1-d3)
	return d4 + 4*d0 - 5*d2, p + q, p - q, r - s, r + s, d5 + 4*d1 - 5*d3
}

// winograd4Out1D is Aᵀ applied to one column (or row) of six values.
func winograd4Out1D(m0, m1, m2, m3, m4, m5 float32) (o0, o1, o2, o3 float32) {
	a, b, c, d := m1+m2, m1-m2, m3+m4, m3-m4
	return m0 + a + c, b + 2*d, a + 4*c, b + m5 + 8*d
}

// winograd4InputGo sets v[i][ch] = (Bᵀ d B)[i] with d[j] = in[j][ch] for
// channels [c0, c), i and j row-major over the 6×6 tile.
func winograd4InputGo(in, v *[36][]float32, c0, c int) {
	for ch := c0; ch < c; ch++ {
		var t [36]float32 // Bᵀ d
		for b := range 6 {
			t[b], t[6+b], t[12+b], t[18+b], t[24+b], t[30+b] = winograd4In1D(in[b][ch], in[6+b][ch], in[12+b][ch], in[18+b][ch], in[24+b][ch], in[30+b][ch])
		}
		for i := range 6 {
			r := t[6*i : 6*i+6]
			v[6*i][ch], v[6*i+1][ch], v[6*i+2][ch], v[6*i+3][ch], v[6*i+4][ch], v[6*i+5][ch] = winograd4In1D(r[0], r[1], r[2], r[3], r[4], r[5])
		}
	}
}

// winograd4OutputGo sets out[j][ch] = (Aᵀ m A)[j] with m[i] = in[i][ch] for
// channels [c0, c), j row-major over the 4×4 outputs.
func winograd4OutputGo(in *[36][]float32, out *[16][]float32, c0, c int) {
	for ch := c0; ch < c; ch++ {
		var t [24]float32 // Aᵀ m
		for b := range 6 {
			t[b], t[6+b], t[12+b], t[18+b] = winograd4Out1D(in[b][ch], in[6+b][ch], in[12+b][ch], in[18+b][ch], in[24+b][ch], in[30+b][ch])
		}
		for r := range 4 {
			s := t[6*r : 6*r+6]
			out[4*r][ch], out[4*r+1][ch], out[4*r+2][ch], out[4*r+3][ch] = winograd4Out1D(s[0], s[1], s[2], s[3], s[4], s[5])
		}
	}
}

// The kernel gradient by F(4×4, 3×3) (winograd_grad.go) expands a 4×4 tile
// of output gradients g to A g Aᵀ (A = (Aᵀ)ᵀ, 6×4) and brings the summed
// products back through Gᵀ (3×6).

// winograd4Grad1D is A applied to one column (or row) of four values.
func winograd4Grad1D(g0, g1, g2, g3 float32) (o0, o1, o2, o3, o4, o5 float32) {
	a, b, c, d := g0+g2, g1+g3, g0+4*g2, 2*g1+8*g3
	return g0, a + b, a - b, c + d, c - d, g3
}

// winograd4GradTileGo sets y[i*stride+ch] = (A g Aᵀ)[i] for channels [c0,
// n), where g[j] = g[j][ch] (j row-major over the 4×4 tile, i over the 6×6
// one).
func winograd4GradTileGo(g *[16][]float32, y []float32, stride, c0, n int) {
	for ch := c0; ch < n; ch++ {
		var t [24]float32 // A g: 6 rows of 4
		for col := range 4 {
			t[col], t[4+col], t[8+col], t[12+col], t[16+col], t[20+col] = winograd4Grad1D(g[col][ch], g[4+col][ch], g[8+col][ch], g[12+col][ch])
		}
		for r := range 6 {
			o := y[6*r*stride+ch:]
			o[0], o[stride], o[2*stride], o[3*stride], o[4*stride], o[5*stride] = winograd4Grad1D(t[4*r], t[4*r+1], t[4*r+2], t[4*r+3])
		}
	}
}

// winograd4Back1D is Gᵀ applied to one column (or row) of six values.
func winograd4Back1D(m0, m1, m2, m3, m4, m5 float32) (o0, o1, o2 float32) {
	const sixth, twelfth, twentyfourth = 1.0 / 6, 1.0 / 12, 1.0 / 24
	s12, d12, s34, d34 := m1+m2, m2-m1, m3+m4, m3-m4
	return 0.25*m0 - sixth*s12 + twentyfourth*s34, sixth*d12 + twelfth*d34, sixth*(s34-s12) + m5
}

// winograd4GradBackGo sets out[k·plane+at] to (Gᵀ M G)[k] (k row-major over
// 3×3) with M[i] = m[i*stride+at] (i row-major over 6×6), for at in [lo, hi).
func winograd4GradBackGo(m []float32, stride int, out []float32, plane, lo, hi int) {
	for at := lo; at < hi; at++ {
		var t [18]float32 // Gᵀ M: 3 rows of 6
		for col := range 6 {
			t[col], t[6+col], t[12+col] = winograd4Back1D(m[col*stride+at], m[(6+col)*stride+at], m[(12+col)*stride+at],
				m[(18+col)*stride+at], m[(24+col)*stride+at], m[(30+col)*stride+at])
		}
		for r := range 3 {
			s := t[6*r : 6*r+6]
			out[(3*r)*plane+at], out[(3*r+1)*plane+at], out[(3*r+2)*plane+at] = winograd4Back1D(s[0], s[1], s[2], s[3], s[4], s[5])
		}
	}
}
