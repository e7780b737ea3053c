package jpeg

// Inverse DCTs: dequantize a block's coefficients (natural order) and write its samples, level
// shifted by 128 and clamped, to dst with the given row stride.
type idctFunc func(coef *[64]int32, q *[64]int32, dst []uint8, stride int)

func idctFor(scale int) idctFunc {
	switch scale {
	case 2:
		return idctReduced(4)
	case 4:
		return idctReduced(2)
	case 8:
		return idctDC
	}
	return idct8
}

// idct8 is the full-size inverse DCT: idct8Go, or an assembly version of it where the CPU has one
// (idct_amd64.go).
var idct8 idctFunc = idct8Go

// Fixed-point constants of the 8-point LLM inverse DCT, 13 fractional bits.
const (
	constBits = 13
	pass1Bits = 2
	c0298     = 2446  // 0.298631336
	c0390     = 3196  // 0.390180644
	c0541     = 4433  // 0.541196100
	c0765     = 6270  // 0.765366865
	c0899     = 7373  // 0.899976223
	c1175     = 9633  // 1.175875602
	c1501     = 12299 // 1.501321110
	c1847     = 15137 // 1.847759065
	c1961     = 16069 // 1.961570560
	c2053     = 16819 // 2.053119869
	c2562     = 20995 // 2.562915447
	c3072     = 25172 // 3.072711026
)

// descale divides by 2^n, rounding half up.
func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// idct8Go is the accurate integer inverse DCT (Loeffler, Ligtenberg and Moschytz's factorization,
// the one libjpeg calls "islow"): columns first, keeping pass1Bits extra bits, then rows.
func idct8Go(coef *[64]int32, q *[64]int32, dst []uint8, stride int) {
	var ws [64]int32
	for col := range 8 {
		if coef[8+col]|coef[16+col]|coef[24+col]|coef[32+col]|coef[40+col]|coef[48+col]|coef[56+col] == 0 {
			dc := coef[col] * q[col] << pass1Bits
			for r := range 8 {
				ws[r*8+col] = dc
			}
			continue
		}
		var in [8]int32
		for r := range 8 {
			in[r] = coef[r*8+col] * q[r*8+col]
		}
		var out [8]int32
		llm(&in, &out, constBits-pass1Bits)
		for r := range 8 {
			ws[r*8+col] = out[r]
		}
	}
	for row := range 8 {
		w := (*[8]int32)(ws[row*8 : row*8+8])
		d := dst[row*stride : row*stride+8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := clamp8(descale(w[0], pass1Bits+3) + 128)
			for x := range d {
				d[x] = v
			}
			continue
		}
		var out [8]int32
		llm(w, &out, constBits+pass1Bits+3)
		for x := range d {
			d[x] = clamp8(out[x] + 128)
		}
	}
}

// llm is one 8-point pass: the even part from inputs 0, 2, 4, 6, the odd part from 1, 3, 5, 7,
// results descaled by shift bits.
func llm(in, out *[8]int32, shift uint) {
	z2, z3 := in[2], in[6]
	z1 := (z2 + z3) * c0541
	tmp2 := z1 - z3*c1847
	tmp3 := z1 + z2*c0765
	tmp0 := (in[0] + in[4]) << constBits
	tmp1 := (in[0] - in[4]) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	t0, t1, t2, t3 := in[7], in[5], in[3], in[1]
	z1, z2, z3 = t0+t3, t1+t2, t0+t2
	z4 := t1 + t3
	z5 := (z3 + z4) * c1175
	t0 *= c0298
	t1 *= c2053
	t2 *= c3072
	t3 *= c1501
	z1 *= -c0899
	z2 *= -c2562
	z3 = z3*-c1961 + z5
	z4 = z4*-c0390 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4

	out[0], out[7] = descale(tmp10+t3, shift), descale(tmp10-t3, shift)
	out[1], out[6] = descale(tmp11+t2, shift), descale(tmp11-t2, shift)
	out[2], out[5] = descale(tmp12+t1, shift), descale(tmp12-t1, shift)
	out[3], out[4] = descale(tmp13+t0, shift), descale(tmp13-t0, shift)
}

// idctDC is the 1x1 inverse DCT: the block's mean, DC/8.
func idctDC(coef *[64]int32, q *[64]int32, dst []uint8, _ int) {
	dst[0] = clamp8(descale(coef[0]*q[0], 3) + 128)
}

// The reduced inverse DCTs compute the samples an 8 x 8 inverse DCT would give at the centers
// of the (8/n)-pixel cells from the block's n x n lowest frequencies (n = 4 or 2):
// f(x, y) = 1/4 Σ C(u) C(v) F(v, u) cos((2x+1)uπ/2n) cos((2y+1)vπ/2n), C(0) = 1/√2, in fixed
// point with reducedBits fractional bits in each basis value and int64 sums. The basis values
// C(u) cos((2x+1)uπ/2n) / 2 take only these magnitudes (rounded):
const (
	reducedBits = 13
	rk0         = 2896 // 1/(2√2) = cos(π/4)/2
	rk1         = 3784 // cos(π/8)/2
	rk3         = 1567 // cos(3π/8)/2
)

// idctReduced returns the inverse DCT giving n x n samples a block (n = 4 or 2).
func idctReduced(n int) idctFunc {
	if n == 2 {
		return idct2x2
	}
	return idct4x4
}

// reducedSample descales a sum of products of two basis values, level shifts and clamps.
func reducedSample(s int64) uint8 {
	const shift = 2 * reducedBits
	return clamp8(int32((s+1<<(shift-1))>>shift) + 128)
}

// idct4x4: each 4-point pass is an even part (inputs 0, 2) and an odd part (1, 3), the basis
// of output 3-x being that of output x with the odd inputs negated.
func idct4x4(coef *[64]int32, q *[64]int32, dst []uint8, stride int) {
	var ws [16]int64 // [v][x]: rows of coefficients transformed along u
	for v := range 4 {
		c, k := coef[v*8:v*8+4], q[v*8:v*8+4]
		i0, i1, i2, i3 := int64(c[0]*k[0]), int64(c[1]*k[1]), int64(c[2]*k[2]), int64(c[3]*k[3])
		e0, e1 := rk0*(i0+i2), rk0*(i0-i2)
		o0, o1 := rk1*i1+rk3*i3, rk3*i1-rk1*i3
		w := ws[v*4 : v*4+4]
		w[0], w[1], w[2], w[3] = e0+o0, e1+o1, e1-o1, e0-o0
	}
	d0, d1, d2, d3 := dst[:4], dst[stride:stride+4], dst[2*stride:2*stride+4], dst[3*stride:3*stride+4]
	for x := range 4 {
		t0, t1, t2, t3 := ws[x], ws[4+x], ws[8+x], ws[12+x]
		e0, e1 := rk0*(t0+t2), rk0*(t0-t2)
		o0, o1 := rk1*t1+rk3*t3, rk3*t1-rk1*t3
		d0[x], d1[x], d2[x], d3[x] = reducedSample(e0+o0), reducedSample(e1+o1), reducedSample(e1-o1), reducedSample(e0-o0)
	}
}

// idct2x2: each 2-point pass is rk0 (in0 ± in1).
func idct2x2(coef *[64]int32, q *[64]int32, dst []uint8, stride int) {
	a, b := int64(coef[0]*q[0]), int64(coef[1]*q[1])
	c, d := int64(coef[8]*q[8]), int64(coef[9]*q[9])
	r0, r1 := rk0*(a+b), rk0*(a-b) // row v = 0 transformed along u
	s0, s1 := rk0*(c+d), rk0*(c-d) // row v = 1
	_ = dst[stride+1]
	dst[0], dst[1] = reducedSample(rk0*(r0+s0)), reducedSample(rk0*(r1+s1))
	dst[stride], dst[stride+1] = reducedSample(rk0*(r0-s0)), reducedSample(rk0*(r1-s1))
}
