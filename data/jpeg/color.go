package jpeg

// Chroma upsampling and YCbCr to RGB conversion, with libjpeg's arithmetic.

// upsampler produces full-resolution rows of a subsampled component: libjpeg's "fancy"
// (triangle filter) upsampling, each output sample 3/4 of the nearer input sample and 1/4 of
// the next one, horizontally and/or vertically, edge samples replicated.
type upsampler struct {
	d      *decoder
	width  int // output samples a row
	lumaBS int // the luma's samples per block side
	colsum []int32
}

// samples is the number of real samples of a component decoded with bs samples per block
// side along an image side of n pixels (libjpeg's downsampled_width/height).
func samples(n, factor, maxFactor, bs int) int {
	return (n*factor*bs + maxFactor*8 - 1) / (maxFactor * 8)
}

// row writes output row y of component c to dst (u.width samples; dst has room for one more,
// as fancyH may write it).
func (u *upsampler) row(c *component, y int, dst []uint8) {
	d := u.d
	hUp, vUp := d.hmax*u.lumaBS/(c.h*c.bs), d.vmax*u.lumaBS/(c.v*c.bs)
	sw := samples(d.width, c.h, d.hmax, c.bs)
	sh := samples(d.height, c.v, d.vmax, c.bs)
	plane := func(r int) []uint8 {
		r = min(max(r, 0), sh-1)
		return c.plane[r*c.stride : r*c.stride+sw]
	}
	switch {
	case vUp == 1 && hUp == 1:
		copy(dst, plane(y)[:u.width])
	case vUp == 1: // h2v1
		fancyH(plane(y), dst, u.width)
	case hUp == 1: // h1v2
		near, far, bias := plane(y/2), plane(y/2-1), int32(1)
		if y%2 == 1 {
			far, bias = plane(y/2+1), 2
		}
		for x := range dst[:u.width] {
			dst[x] = uint8((3*int32(near[x]) + int32(far[x]) + bias) >> 2)
		}
	default: // h2v2
		near, far := plane(y/2), plane(y/2-1)
		if y%2 == 1 {
			far = plane(y/2 + 1)
		}
		cs := u.colsum[:sw]
		for x := range cs {
			cs[x] = 3*int32(near[x]) + int32(far[x])
		}
		fancyHV(cs, dst, u.width)
	}
}

// fancyH doubles a row horizontally: out[2i] = (3 in[i] + in[i-1] + 1) / 4,
// out[2i+1] = (3 in[i] + in[i+1] + 2) / 4, the outermost samples copied. It writes
// max(width, 2 len(in)) samples of dst.
func fancyH(in, dst []uint8, width int) {
	n := len(in)
	if n == 1 {
		for x := range dst[:width] {
			dst[x] = in[0]
		}
		return
	}
	out := dst[:2*n]
	out[0], out[2*n-1] = in[0], in[n-1]
	out[1] = uint8((3*int32(in[0]) + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int32(in[i])
		out[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((3*int32(in[n-1]) + int32(in[n-2]) + 1) >> 2)
}

// fancyHV is fancyH on column sums 3 near + far (so with 16ths): out[2i] = (3 s[i] + s[i-1] +
// 8) / 16, out[2i+1] = (3 s[i] + s[i+1] + 7) / 16, the outermost (4 s + 8) / 16 and (4 s + 7) / 16.
func fancyHV(s []int32, dst []uint8, width int) {
	n := len(s)
	put := func(i int, v int32) {
		if i < width {
			dst[i] = uint8(v >> 4)
		}
	}
	if n == 1 {
		put(0, 4*s[0]+8)
		put(1, 4*s[0]+7)
		return
	}
	put(0, 4*s[0]+8)
	put(1, 3*s[0]+s[1]+7)
	for i := 1; i < n-1; i++ {
		v := 3 * s[i]
		put(2*i, v+s[i-1]+8)
		put(2*i+1, v+s[i+1]+7)
	}
	put(2*n-2, 3*s[n-1]+s[n-2]+8)
	put(2*n-1, 4*s[n-1]+7)
}

// Fixed-point YCbCr -> RGB coefficients with 16 fractional bits, rounded as libjpeg's FIX().
const (
	fixCrR = 91881  // 1.40200
	fixCbB = 116130 // 1.77200
	fixCrG = 46802  // 0.71414
	fixCbG = 22554  // 0.34414
	half   = 1 << 15
)

// yccToRGB converts one row: yccToRGBGo, or an assembly version of it where the CPU has one
// (color_amd64.go).
var yccToRGB = yccToRGBGo

// yccToRGBGo converts one row: R = Y + 1.402 (Cr-128), G = Y - 0.34414 (Cb-128) - 0.71414
// (Cr-128), B = Y + 1.772 (Cb-128), each term rounded as libjpeg's tables round it.
func yccToRGBGo(y, cb, cr, dst []uint8) {
	cb, cr = cb[:len(y)], cr[:len(y)]
	dst = dst[:3*len(y)]
	for x, yv := range y {
		Y := int32(yv)
		b, r := int32(cb[x])-128, int32(cr[x])-128
		dst[3*x] = clamp8(Y + (fixCrR*r+half)>>16)
		dst[3*x+1] = clamp8(Y + (-fixCbG*b-fixCrG*r+half)>>16)
		dst[3*x+2] = clamp8(Y + (fixCbB*b+half)>>16)
	}
}

func clamp8(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}
