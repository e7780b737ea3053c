package loader

import (
	"fmt"
	"math"
	"strings"
)

// Resizing follows PIL's Image.resize (which Keras' load_img, and so TAO, uses): a separable
// convolution, horizontal pass then vertical pass, where the pixel centers map as
// src = (dst + 0.5) * scale and, when downscaling, the filter is stretched by the scale factor.
// Stretching the filter is what PIL calls antialiasing; it is always on, for every downscale,
// exactly as in PIL. The arithmetic is PIL's too: weights normalized in float64 then rounded to
// 22-bit fixed point, the horizontal pass rounded and clipped to 8 bits before the vertical pass,
// so outputs equal PIL's (see TestResizeMatchesPIL and TestCropsMatchTAO).

// resampleFilter is a 1-D interpolation kernel with its support radius.
type resampleFilter struct {
	support float64
	kernel  func(float64) float64
}

var filters = map[string]resampleFilter{
	"bilinear": {1, triangle},
	"bicubic":  {2, cubic},
	"lanczos":  {3, lanczos3},
}

// Interpolations lists the accepted Options.Interpolation values (case-insensitive).
var Interpolations = []string{"bilinear", "bicubic", "nearest", "lanczos"}

// normalizeInterpolation maps a TAO spec value (BILINEAR, BICUBIC) or a PIL name to its
// lowercase name; "" means bilinear, TAO's default.
func normalizeInterpolation(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "bilinear", nil
	}
	if s == "nearest" {
		return s, nil
	}
	if _, ok := filters[s]; ok {
		return s, nil
	}
	return "", fmt.Errorf("unknown interpolation %q (want one of %s)", s,
		strings.Join(Interpolations, ", "))
}

func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// cubic is the Keys cubic with a = -0.5, as in PIL.
func cubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczos3(x float64) float64 {
	if x > -3 && x < 3 {
		return sinc(x) * sinc(x/3)
	}
	return 0
}

// precisionBits is PIL's fixed-point precision for 8-bit resampling (Resample.c).
const precisionBits = 32 - 8 - 2

// taps are the source indices and fixed-point weights of one output pixel.
type taps struct {
	first   int
	weights []int32
}

// computeTaps returns the taps of output pixels [from, from+n) of a resize from inSize to
// outSize along one axis, computed as PIL's precompute_coeffs and normalize_coeffs_8bpc do.
func computeTaps(method string, inSize, outSize, from, n int) []taps {
	scale := float64(inSize) / float64(outSize)
	out := make([]taps, n)
	if method == "nearest" {
		for i := range out {
			src := int((float64(from+i) + 0.5) * scale)
			out[i] = taps{first: min(src, inSize-1), weights: []int32{1 << precisionBits}}
		}
		return out
	}
	f := filters[method]
	fscale := math.Max(scale, 1)
	support, ss := f.support*fscale, 1/fscale
	for i := range out {
		center := (float64(from+i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), inSize)
		w := make([]float64, hi-lo)
		var sum float64
		for k := range w {
			w[k] = f.kernel((float64(k+lo) - center + 0.5) * ss)
			sum += w[k]
		}
		out[i] = taps{first: lo, weights: fixedPoint(w, sum)}
	}
	return out
}

// fixedPoint normalizes w by sum and rounds each weight, half away from zero, to 22 bits.
func fixedPoint(w []float64, sum float64) []int32 {
	out := make([]int32, len(w))
	for k, v := range w {
		if sum != 0 {
			v /= sum
		}
		if v < 0 {
			out[k] = int32(-0.5 + v*(1<<precisionBits))
		} else {
			out[k] = int32(0.5 + v*(1<<precisionBits))
		}
	}
	return out
}

// region is a window of an image resized to (ResizedW, ResizedH): the output pixels
// [X, X+W) x [Y, Y+H).
type region struct {
	ResizedW, ResizedH int
	X, Y, W, H         int
}

// resizeRegion computes only the pixels of src resized to (r.ResizedW, r.ResizedH) that fall in
// the window, which is what a crop of a resized image needs, at a fraction of the cost.
func resizeRegion(src *Image, r region, method string) *Image {
	c := src.Channels
	cols := computeTaps(method, src.Width, r.ResizedW, r.X, r.W)
	rows := computeTaps(method, src.Height, r.ResizedH, r.Y, r.H)
	// Source rows the vertical pass reads.
	rowLo, rowHi := rows[0].first, 0
	for _, t := range rows {
		rowLo = min(rowLo, t.first)
		rowHi = max(rowHi, t.first+len(t.weights))
	}
	// Horizontal pass over the needed rows, rounded to 8 bits as in PIL.
	tmp := make([]uint8, (rowHi-rowLo)*r.W*c)
	for sy := rowLo; sy < rowHi; sy++ {
		srow := src.Pix[sy*src.Width*c : (sy+1)*src.Width*c]
		drow := tmp[(sy-rowLo)*r.W*c : (sy-rowLo+1)*r.W*c]
		horizontalPass(srow, drow, cols, c)
	}
	out := NewImage(r.W, r.H, c)
	verticalPass(tmp, out, rows, rowLo)
	return out
}

func horizontalPass(srow, drow []uint8, cols []taps, c int) {
	const half = 1 << (precisionBits - 1)
	for x, t := range cols {
		base := t.first * c
		if c == 3 {
			a0, a1, a2 := int32(half), int32(half), int32(half)
			p := srow[base : base+3*len(t.weights)]
			for _, w := range t.weights {
				a0 += w * int32(p[0])
				a1 += w * int32(p[1])
				a2 += w * int32(p[2])
				p = p[3:]
			}
			drow[3*x], drow[3*x+1], drow[3*x+2] = clip8(a0), clip8(a1), clip8(a2)
			continue
		}
		for ch := 0; ch < c; ch++ {
			a := int32(half)
			for k, w := range t.weights {
				a += w * int32(srow[base+k*c+ch])
			}
			drow[x*c+ch] = clip8(a)
		}
	}
}

func verticalPass(tmp []uint8, out *Image, rows []taps, rowLo int) {
	stride := out.Width * out.Channels
	acc := make([]int32, stride)
	for y, t := range rows {
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for k, w := range t.weights {
			srow := tmp[(t.first+k-rowLo)*stride : (t.first+k-rowLo+1)*stride]
			acc := acc[:len(srow)]
			for i, v := range srow {
				acc[i] += w * int32(v)
			}
		}
		dst := out.Pix[y*stride : (y+1)*stride]
		for i, v := range acc {
			dst[i] = clip8(v)
		}
	}
}

// clip8 turns a rounded fixed-point sum into a clamped 8-bit value, as PIL's clip8.
func clip8(v int32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255<<precisionBits {
		return 255
	}
	return uint8(v >> precisionBits)
}

// Resize returns src resized to width x height (aspect not kept) with the given method.
func Resize(src *Image, width, height int, method string) (*Image, error) {
	m, err := normalizeInterpolation(method)
	if err != nil {
		return nil, err
	}
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("resize to %dx%d: size must be positive", width, height)
	}
	return resizeRegion(src, region{width, height, 0, 0, width, height}, m), nil
}
