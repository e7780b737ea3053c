package loader

import (
	"math"
	"math/rand/v2"
)

// TAO's crop constants (makenet utils/preprocess_crop.py).
const (
	minCropFraction = 0.45
	maxCropFraction = 1.0
	cropPadding     = 32
)

// TAO's color augmentation constants (makenet utils/helper.py color_augmentation).
const (
	brightnessStddev = 0.0 // TAO's default: the brightness shift is always 0
	hueRotationMax   = 25.0
	saturationMax    = 0.2
	contrastCenter   = 0.5
	contrastScaleMax = 0.1
)

// coverSize is the size of a w x h image scaled, keeping its aspect, so that it covers tw x th,
// with the sides truncated by int() exactly as TAO computes them (so a side can come out one
// pixel short of the cover through rounding; callers keep it at least the crop size).
func coverSize(w, h int, tw, th float64) (int, int) {
	ratio := math.Max(tw/float64(w), th/float64(h))
	return max(int(float64(w)*ratio), 1), max(int(float64(h)*ratio), 1)
}

// randomCropRegion is TAO's train crop: crop_fraction ~ U(0.45, 1), resize keeping aspect to
// cover (W, H)/crop_fraction, then a uniform crop of W x H (both ends included).
func randomCropRegion(w, h, tw, th int, rng *rand.Rand) region {
	cf := minCropFraction + rng.Float64()*(maxCropFraction-minCropFraction)
	rw, rh := coverSize(w, h, float64(tw)/cf, float64(th)/cf)
	rw, rh = max(rw, tw), max(rh, th)
	x := rng.IntN(rw - tw + 1)
	y := rng.IntN(rh - th + 1)
	return region{rw, rh, x, y, tw, th}
}

// centerCropRegion is TAO's eval crop: resize keeping aspect to cover (W+32, H+32), then take
// the W x H window at round(size/2) - round(target/2) (Python's round: half to even).
func centerCropRegion(w, h, tw, th int) region {
	rw, rh := coverSize(w, h, float64(tw+cropPadding), float64(th+cropPadding))
	rw, rh = max(rw, tw), max(rh, th)
	x := int(math.RoundToEven(float64(rw)/2)) - int(math.RoundToEven(float64(tw)/2))
	y := int(math.RoundToEven(float64(rh)/2)) - int(math.RoundToEven(float64(th)/2))
	return region{rw, rh, x, y, tw, th}
}

// plainRegion is TAO's no-crop resize to W x H, aspect not kept.
func plainRegion(tw, th int) region { return region{tw, th, 0, 0, tw, th} }

// colorParams are one sample's draws for color augmentation.
type colorParams struct {
	brightness float64 // added to every channel in [0,1] units
	hueDegrees float64
	saturation float64 // added to HSV saturation
	contrast   float64 // scale around contrastCenter
}

// drawColorParams draws, in TAO's order, brightness, hue, saturation and contrast.
func drawColorParams(rng *rand.Rand) colorParams {
	uniform := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	return colorParams{
		brightness: rng.NormFloat64() * brightnessStddev,
		hueDegrees: uniform(-hueRotationMax, hueRotationMax),
		saturation: uniform(-saturationMax, saturationMax),
		contrast:   1 + uniform(-contrastScaleMax, contrastScaleMax),
	}
}

// colorAugment applies p to one RGB pixel given in [0,1] and returns it in [0,1]: brightness
// shift (clipped), hue rotation, saturation shift (clipped to [0,1]), then contrast around 0.5
// (clipped), the same sequence as TAO.
func colorAugment(r, g, b float64, p colorParams) (float64, float64, float64) {
	r, g, b = clip01(r+p.brightness), clip01(g+p.brightness), clip01(b+p.brightness)
	h, s, v := rgbToHSV(r, g, b)
	h = math.Mod(h+p.hueDegrees+360, 360)
	s = clip01(s + p.saturation)
	r, g, b = hsvToRGB(h, s, v)
	c := func(x float64) float64 { return clip01((x-contrastCenter)*p.contrast + contrastCenter) }
	return c(r), c(g), c(b)
}

func clip01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// rgbToHSV is OpenCV's float conversion: H in degrees [0,360), S and V in [0,1].
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	v = math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	d := v - mn
	if v > 0 {
		s = d / v
	}
	if d == 0 {
		return 0, s, v
	}
	switch v {
	case r:
		h = 60 * (g - b) / d
	case g:
		h = 120 + 60*(b-r)/d
	default:
		h = 240 + 60*(r-g)/d
	}
	if h < 0 {
		h += 360
	}
	return h, s, v
}

func hsvToRGB(h, s, v float64) (r, g, b float64) {
	h = math.Mod(h, 360) / 60
	i := int(math.Floor(h))
	f := h - float64(i)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

// flipHorizontal mirrors an HWC float image in place.
func flipHorizontal(px []float32, w, h, c int) {
	for y := 0; y < h; y++ {
		row := px[y*w*c : (y+1)*w*c]
		for l, r := 0, w-1; l < r; l, r = l+1, r-1 {
			for ch := 0; ch < c; ch++ {
				row[l*c+ch], row[r*c+ch] = row[r*c+ch], row[l*c+ch]
			}
		}
	}
}

// mixupLambdas draws TAO's per-sample mixup weights: λ ~ Beta(α, α), λ = max(λ, 1-λ).
func mixupLambdas(n int, alpha float64, rng *rand.Rand) []float64 {
	l := make([]float64, n)
	for i := range l {
		x := sampleBeta(alpha, rng)
		l[i] = math.Max(x, 1-x)
	}
	return l
}

// mixBatch mixes sample i with sample n-1-i (the batch reversed): x = λx + (1-λ)x_rev, and the
// same for the labels. images is [n, size], labels is [n, classes]. It works in place, pair by
// pair, each pair's two outputs computed from the pair's inputs.
func mixBatch(images []float32, labels []float32, n int, lambdas []float64) {
	mixPairs(images, len(images)/n, n, lambdas)
	mixPairs(labels, len(labels)/n, n, lambdas)
}

func mixPairs(data []float32, stride, n int, lambdas []float64) {
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		li, lj := float32(lambdas[i]), float32(lambdas[j])
		a, b := data[i*stride:(i+1)*stride], data[j*stride:(j+1)*stride]
		for k := range a {
			x, y := a[k], b[k]
			a[k] = li*x + (1-li)*y
			b[k] = lj*y + (1-lj)*x
		}
	}
	// An odd batch's middle sample mixes with itself: unchanged.
}

// sampleBeta draws Beta(a, a) as X/(X+Y) with X, Y ~ Gamma(a, 1).
func sampleBeta(a float64, rng *rand.Rand) float64 {
	x, y := sampleGamma(a, rng), sampleGamma(a, rng)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// sampleGamma draws Gamma(a, 1) by Marsaglia and Tsang's method; for a < 1 it uses
// Gamma(a+1) * U^(1/a).
func sampleGamma(a float64, rng *rand.Rand) float64 {
	if a < 1 {
		u := rng.Float64()
		return sampleGamma(a+1, rng) * math.Pow(u, 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
