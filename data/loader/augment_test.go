package loader

import (
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// A 3x1 image with pixels 30, 60, 90 (gray in RGB), tf mode. A flipped sample reads 90, 60, 30.
func TestHorizontalFlip(t *testing.T) {
	path := writePNG(t, t.TempDir(), "row.png", rgbImage(3, 1, func(x, _ int) color.NRGBA {
		v := uint8(30 * (x + 1))
		return color.NRGBA{v, v, v, 255}
	}))
	tf := func(v float64) float64 { return v/127.5 - 1 }
	plain := []float64{tf(30), tf(60), tf(90)}
	flipped := []float64{tf(90), tf(60), tf(30)}
	opts := Options{Height: 1, Width: 3, Channels: 1, PreprocessMode: "tf", BatchSize: 1,
		HorizontalFlip: true, Seed: 7}
	seen := map[bool]int{}
	for e := 0; e < 40; e++ {
		got := oneBatch(t, []Item{{Path: path}}, 1, opts, e).Images.Data
		isFlipped := approx(float64(got[0]), flipped[0], 1e-5)
		want := plain
		if isFlipped {
			want = flipped
		}
		testutil.AssertClose(t, "flip", got, want, 1e-5)
		seen[isFlipped]++
		again := oneBatch(t, []Item{{Path: path}}, 1, opts, e).Images.Data
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("epoch %d not reproducible: %v vs %v", e, got, again)
			}
		}
	}
	// 40 fair coin flips: both sides appear unless something is broken (p = 2^-39).
	if seen[true] == 0 || seen[false] == 0 {
		t.Errorf("flip outcomes over 40 epochs: %v", seen)
	}
	opts.HorizontalFlip = false
	for e := 0; e < 5; e++ {
		testutil.AssertClose(t, "no flip", oneBatch(t, []Item{{Path: path}}, 1, opts, e).Images.Data, plain, 1e-5)
	}
}

func TestCenterCropGeometry(t *testing.T) {
	// 500x375 to 224: cover 256x256 -> ratio max(256/500, 256/375) = 0.68267 -> 341x256;
	// x = round(341/2 = 170.5, half to even) - 112 = 58, y = 128 - 112 = 16.
	if got, want := centerCropRegion(500, 375, 224, 224), (region{341, 256, 58, 16, 224, 224}); got != want {
		t.Errorf("500x375 -> %+v, want %+v", got, want)
	}
	// Portrait 375x500 to 224x160 (W x H): cover 256x192 -> ratio max(256/375, 192/500) =
	// 0.682667 -> 256x341; x = 128-112 = 16, y = round(170.5) - 80 = 90.
	if got, want := centerCropRegion(375, 500, 224, 160), (region{256, 341, 16, 90, 224, 160}); got != want {
		t.Errorf("375x500 -> %+v, want %+v", got, want)
	}
}

// Pixels through the loader: a 64x32 image whose column c has gray value 4c, center-cropped to
// 16x16 with nearest interpolation. Cover 48x48 -> scale 1.5 -> 96x48; window x0 = 48-8 = 40,
// y0 = 24-8 = 16. Output column k reads resized column 40+k, i.e. source column
// floor((40+k+0.5)/1.5).
func TestCenterCropPixels(t *testing.T) {
	path := writePNG(t, t.TempDir(), "cols.png", rgbImage(64, 32, func(x, _ int) color.NRGBA {
		return color.NRGBA{uint8(4 * x), uint8(4 * x), uint8(4 * x), 255}
	}))
	b := oneBatch(t, []Item{{Path: path}}, 1, Options{Height: 16, Width: 16, Channels: 1,
		PreprocessMode: "caffe", ImageMean: map[string]float32{"l": 0}, Interpolation: "nearest",
		CenterCrop: true, BatchSize: 1}, 0)
	for y := 0; y < 16; y++ {
		for k := 0; k < 16; k++ {
			want := 4 * math.Floor((40+float64(k)+0.5)/1.5)
			if got := b.Images.Data[y*16+k]; float64(got) != want {
				t.Fatalf("pixel (%d,%d) = %v, want %v", k, y, got, want)
			}
		}
	}
}

func TestRandomCropGeometry(t *testing.T) {
	const w, h, tw, th = 500, 375, 224, 224
	// crop_fraction in [0.45, 1]: the resized short side lies in [224, 224/0.45 = 497.8].
	minSide, maxSide := math.Inf(1), 0.0
	for i := 0; i < 2000; i++ {
		r := randomCropRegion(w, h, tw, th, derivedRNG(1, 0, streamSample, i))
		short := float64(min(r.ResizedW, r.ResizedH))
		minSide, maxSide = math.Min(minSide, short), math.Max(maxSide, short)
		if short < 224 || short > 498 {
			t.Fatalf("draw %d: short side %v outside [224, 498]: %+v", i, short, r)
		}
		if r.X < 0 || r.Y < 0 || r.X+tw > r.ResizedW || r.Y+th > r.ResizedH {
			t.Fatalf("draw %d: window outside the resized image: %+v", i, r)
		}
		if math.Abs(float64(r.ResizedW)/float64(r.ResizedH)-float64(w)/h) > 0.01 {
			t.Fatalf("draw %d: aspect not kept: %+v", i, r)
		}
		again := randomCropRegion(w, h, tw, th, derivedRNG(1, 0, streamSample, i))
		if again != r {
			t.Fatalf("draw %d not reproducible: %+v vs %+v", i, r, again)
		}
	}
	// 2000 uniform draws cover the range: the ends are within 2% of it.
	if minSide > 230 || maxSide < 490 {
		t.Errorf("short side range [%v, %v], want about [224, 498]", minSide, maxSide)
	}
	// A different epoch draws differently.
	a := randomCropRegion(w, h, tw, th, derivedRNG(1, 0, streamSample, 5))
	b := randomCropRegion(w, h, tw, th, derivedRNG(1, 1, streamSample, 5))
	if a == b {
		t.Errorf("epochs 0 and 1 drew the same crop %+v", a)
	}
}

// Hand-computed: RGB (0.8, 0.4, 0.2) is HSV (20°, 0.75, 0.8). Hue +20° -> 40°, saturation -0.1
// -> 0.65. HSV->RGB: sector 0, f = 40/60 = 2/3, p = 0.8*(1-0.65) = 0.28,
// t = 0.8*(1-0.65*(1/3)) = 0.626667, so RGB (0.8, 0.626667, 0.28). Contrast x1.05 around 0.5:
// (0.815, 0.633, 0.269).
func TestColorAugmentPixel(t *testing.T) {
	r, g, b := colorAugment(0.8, 0.4, 0.2, colorParams{hueDegrees: 20, saturation: -0.1, contrast: 1.05})
	want := []float64{0.815, 0.5 + (0.8*(1-0.65/3)-0.5)*1.05, 0.269}
	for i, got := range []float64{r, g, b} {
		if !approx(got, want[i], 1e-9) {
			t.Errorf("channel %d = %v, want %v", i, got, want[i])
		}
	}
	// Hue wraps: (0.2, 0.4, 0.8) is 220°; -240° -> 340°, a red-magenta: max r, min g.
	r, g, b = colorAugment(0.2, 0.4, 0.8, colorParams{hueDegrees: -240, contrast: 1})
	h, s, v := rgbToHSV(r, g, b)
	if !approx(h, 340, 1e-9) || !approx(s, 0.75, 1e-9) || !approx(v, 0.8, 1e-9) {
		t.Errorf("wrapped hue: HSV (%v, %v, %v), want (340, 0.75, 0.8)", h, s, v)
	}
	// Saturation is clipped at 0: -0.2 on a gray pixel keeps it gray; contrast keeps 0.5 fixed.
	r, g, b = colorAugment(0.5, 0.5, 0.5, colorParams{saturation: -0.2, contrast: 0.9})
	if r != g || g != b || !approx(r, 0.5, 1e-12) {
		t.Errorf("gray pixel changed to (%v, %v, %v)", r, g, b)
	}
	// Contrast clips at 1: (1-0.5)*1.1+0.5 = 1.05 -> 1.
	r, _, _ = colorAugment(1, 0, 0, colorParams{contrast: 1.1})
	if r != 1 {
		t.Errorf("contrast overflow not clipped: %v", r)
	}
}

// The loader applies color augmentation only with random crop, with params from the sample's
// generator: the same parameters reproduce its pixels.
func TestColorAugmentationInLoader(t *testing.T) {
	path := writePNG(t, t.TempDir(), "solid.png", rgbImage(8, 8, func(_, _ int) color.NRGBA {
		return color.NRGBA{204, 102, 51, 255}
	}))
	opts := Options{Height: 4, Width: 4, Channels: 3, PreprocessMode: "caffe",
		ImageMean: map[string]float32{"r": 0, "g": 0, "b": 0}, BatchSize: 1, RandomCrop: true,
		ColorAugmentation: true, Seed: 3}
	got := oneBatch(t, []Item{{Path: path}}, 1, opts, 2).Images.Data
	rng := derivedRNG(3, 2, streamSample, 0)
	randomCropRegion(8, 8, 4, 4, rng) // the crop draws come first; flip is off
	r, g, b := colorAugment(0.8, 0.4, 0.2, drawColorParams(rng))
	for i := 0; i < len(got); i += 3 { // caffe order is BGR
		if !approx(float64(got[i]), b*255, 1e-3) || !approx(float64(got[i+1]), g*255, 1e-3) ||
			!approx(float64(got[i+2]), r*255, 1e-3) {
			t.Fatalf("pixel %d = %v, want BGR (%v, %v, %v)", i/3, got[i:i+3], b*255, g*255, r*255)
		}
	}
	if approx(float64(got[2]), 204, 0.01) && approx(float64(got[1]), 102, 0.01) {
		t.Error("color augmentation left the pixel unchanged")
	}
	opts.RandomCrop = false // color augmentation alone does nothing, as in TAO
	got = oneBatch(t, []Item{{Path: path}}, 1, opts, 2).Images.Data
	testutil.AssertClose(t, "no random crop", got[:3], []float64{51, 102, 204}, 1e-4)
}

// λ = 0.7, 0.9, 0.6 on three samples: sample i mixes with sample 2-i.
func TestMixBatchFixedLambda(t *testing.T) {
	images := []float32{10, 20, 30, 40, 50, 60} // 3 samples of 2 values
	labels := []float32{1, 0, 0, 1, 1, 0}       // 3 samples of 2 classes
	mixBatch(images, labels, 3, []float64{0.7, 0.9, 0.6})
	wantImages := []float64{
		0.7*10 + 0.3*50, 0.7*20 + 0.3*60, // with sample 2
		30, 40, // the middle sample mixes with itself
		0.6*50 + 0.4*10, 0.6*60 + 0.4*20,
	}
	wantLabels := []float64{0.7*1 + 0.3*1, 0.7*0 + 0.3*0, 0, 1, 0.6*1 + 0.4*1, 0}
	testutil.AssertClose(t, "images", images, wantImages, 1e-5)
	testutil.AssertClose(t, "labels", labels, wantLabels, 1e-6)
	// Different classes: 0.7 of class 0 and 0.3 of class 1.
	labels = []float32{1, 0, 0, 1}
	mixBatch(make([]float32, 2), labels, 2, []float64{0.7, 0.8})
	testutil.AssertClose(t, "soft labels", labels, []float64{0.7, 0.3, 0.2, 0.8}, 1e-6)
}

// Beta(α, α) has mean 1/2 and variance 1/(4(2α+1)); after λ = max(λ, 1-λ) every λ is >= 0.5.
func TestMixupLambdaDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alpha := range []float64{0.2, 1, 3} {
		const n = 20000
		var sum, sq float64
		for i := 0; i < n; i++ {
			x := sampleBeta(alpha, rng)
			sum += x
			sq += x * x
		}
		mean := sum / n
		variance := sq/n - mean*mean
		wantVar := 1 / (4 * (2*alpha + 1))
		if !approx(mean, 0.5, 0.01) || !approx(variance, wantVar, 0.1*wantVar) {
			t.Errorf("alpha %v: mean %v var %v, want 0.5 and %v", alpha, mean, variance, wantVar)
		}
	}
	for _, l := range mixupLambdas(1000, 0.2, rng) {
		if l < 0.5 || l > 1 {
			t.Fatalf("lambda %v outside [0.5, 1]", l)
		}
	}
}
