package loader

import (
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// twoPixelPNG writes two pixels, (10,20,30) and (200,100,50), as a 2x1 PNG.
func twoPixelPNG(t *testing.T) string {
	img := rgbImage(2, 1, func(x, _ int) color.NRGBA {
		if x == 0 {
			return color.NRGBA{10, 20, 30, 255}
		}
		return color.NRGBA{200, 100, 50, 255}
	})
	return writePNG(t, t.TempDir(), "two.png", img)
}

// The two pixels of twoPixelPNG. The output size equals the input size, so no resampling
// happens and the values below are the preprocess modes alone.
func TestPreprocessModes(t *testing.T) {
	path := twoPixelPNG(t)
	// Luminance (PIL convert("L") weights): 0.299*10+0.587*20+0.114*30 = 18.15 -> 18;
	// 0.299*200+0.587*100+0.114*50 = 124.2 -> 124.
	cases := []struct {
		name     string
		mode     string
		channels int
		mean     map[string]float32
		std      map[string]float32
		want     []float64
	}{
		{"caffe default BGR mean", "caffe", 3, nil, nil,
			[]float64{30 - 103.939, 20 - 116.779, 10 - 123.68, 50 - 103.939, 100 - 116.779, 200 - 123.68}},
		{"caffe image_mean", "caffe", 3, map[string]float32{"r": 1, "g": 2, "b": 3}, nil,
			[]float64{30 - 3, 20 - 2, 10 - 1, 50 - 3, 100 - 2, 200 - 1}},
		// TAO's numpy path: 0.224 for every channel. (10/255 - 0.485)/0.224 = -1.9901...
		{"torch", "torch", 3, nil, nil, []float64{
			-1.990109, (20/255.0 - 0.456) / 0.224, (30/255.0 - 0.406) / 0.224,
			1.336222, (100/255.0 - 0.456) / 0.224, (50/255.0 - 0.406) / 0.224}},
		{"torch per-channel image_std", "torch", 3, nil, map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}, []float64{
			(10/255.0 - 0.485) / 0.229, (20/255.0 - 0.456) / 0.224, (30/255.0 - 0.406) / 0.225,
			(200/255.0 - 0.485) / 0.229, (100/255.0 - 0.456) / 0.224, (50/255.0 - 0.406) / 0.225}},
		{"tf", "tf", 3, nil, nil, []float64{10/127.5 - 1, 20/127.5 - 1, 30/127.5 - 1,
			200/127.5 - 1, 100/127.5 - 1, 50/127.5 - 1}},
		{"caffe gray", "caffe", 1, nil, nil, []float64{18 - 117.3786, 124 - 117.3786}},
		{"caffe gray image_mean", "caffe", 1, map[string]float32{"l": 100}, nil, []float64{-82, 24}},
		// (18/255 - 0.449)/0.224 = -1.689338
		{"torch gray", "torch", 1, nil, nil, []float64{-1.689338, (124/255.0 - 0.449) / 0.224}},
		{"torch gray image_std", "torch", 1, nil, map[string]float32{"l": 0.5}, []float64{(18/255.0 - 0.449) / 0.5, (124/255.0 - 0.449) / 0.5}},
		{"tf gray", "TF", 1, nil, nil, []float64{18/127.5 - 1, 124/127.5 - 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := oneBatch(t, []Item{{Path: path}}, 1, Options{Height: 1, Width: 2,
				Channels: c.channels, PreprocessMode: c.mode, ImageMean: c.mean, ImageStd: c.std, BatchSize: 1}, 0)
			testutil.AssertClose(t, "pixels", b.Images.Data, c.want, 1e-4)
		})
	}
}

func TestPreprocessOptionErrors(t *testing.T) {
	items := []Item{{Path: "x.png"}}
	cases := []Options{
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "", BatchSize: 1},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "caffee", BatchSize: 1},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "caffe", BatchSize: 1,
			ImageMean: map[string]float32{"r": 1, "g": 2}},
		{Height: 4, Width: 4, Channels: 1, PreprocessMode: "caffe", BatchSize: 1,
			ImageMean: map[string]float32{"r": 1, "g": 2, "b": 3}},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "torch", BatchSize: 1,
			ImageStd: map[string]float32{"r": 0.2, "g": 0.2}},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "torch", BatchSize: 1,
			ImageStd: map[string]float32{"r": 0.2, "g": 0.2, "b": 0}},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "tf", BatchSize: 1, Interpolation: "cubic"},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "tf", BatchSize: 1, RandomCrop: true, CenterCrop: true},
		{Height: 4, Width: 4, Channels: 2, PreprocessMode: "tf", BatchSize: 1},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "tf", BatchSize: 0},
		{Height: 4, Width: 4, Channels: 3, PreprocessMode: "tf", BatchSize: 1, OnBadImage: "ignore"},
	}
	for i, o := range cases {
		if _, err := New(items, 2, o); err == nil {
			t.Errorf("case %d: options %+v accepted", i, o)
		}
	}
	if _, err := New([]Item{{Path: "x.png", Label: 2}}, 2,
		Options{Height: 4, Width: 4, Channels: 3, PreprocessMode: "tf", BatchSize: 1}); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
}

// TestCenterCropLeavesTargetSizeUntouched: as TAO, an image already at the network size is not
// cropped (the crop would zoom it by (4+32)/4 and keep the middle); tf mode maps v to v/127.5-1.
func TestCenterCropLeavesTargetSizeUntouched(t *testing.T) {
	dir := t.TempDir()
	img := rgbImage(4, 4, func(x, y int) color.NRGBA {
		v := uint8(16 * (4*y + x))
		return color.NRGBA{v, v, v, 255}
	})
	path := writePNG(t, dir, "four.png", img)
	b := oneBatch(t, []Item{{Path: path}}, 1, Options{Height: 4, Width: 4, Channels: 1,
		PreprocessMode: "tf", CenterCrop: true, BatchSize: 1}, 0)
	want := make([]float64, 16)
	for i := range want {
		want[i] = float64(16*i)/127.5 - 1 // gray of (v, v, v) is v
	}
	testutil.AssertClose(t, "pixels", b.Images.Data, want, 1e-6)
}

// TestPictureInvertsPreprocessing: every mode's output turns back into the pixels it came
// from, in RGB order (caffe's BGR swapped back), and luminance for one channel.
func TestPictureInvertsPreprocessing(t *testing.T) {
	path := twoPixelPNG(t)
	for _, c := range []struct {
		mode     string
		channels int
		want     []uint8 // Pix of the picture
	}{
		{"caffe", 3, []uint8{10, 20, 30, 255, 200, 100, 50, 255}},
		{"torch", 3, []uint8{10, 20, 30, 255, 200, 100, 50, 255}},
		{"tf", 3, []uint8{10, 20, 30, 255, 200, 100, 50, 255}},
		{"torch", 1, []uint8{18, 124}}, // PIL's luminance of the two pixels
	} {
		opts := Options{Height: 1, Width: 2, Channels: c.channels, PreprocessMode: c.mode, BatchSize: 1}
		l, err := New([]Item{{Path: path}}, 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		b := oneBatch(t, []Item{{Path: path}}, 1, opts, 0)
		pic, err := l.Picture(b.Images, 0)
		if err != nil {
			t.Fatal(err)
		}
		var pix []uint8
		switch p := pic.(type) {
		case *image.NRGBA:
			pix = p.Pix
		case *image.Gray:
			pix = p.Pix
		}
		if !slices.Equal(pix, c.want) {
			t.Errorf("%s %d channels: picture %v, want %v", c.mode, c.channels, pix, c.want)
		}
	}
}
