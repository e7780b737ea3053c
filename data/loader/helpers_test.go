package loader

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// writePNG encodes img as PNG under dir and returns its path.
func writePNG(t testing.TB, dir, name string, img image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, buf.Bytes())
}

// encodeJPEG encodes img at quality 100.
func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rgbImage builds an NRGBA image from a pixel function.
func rgbImage(w, h int, f func(x, y int) color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, f(x, y))
		}
	}
	return img
}

// patternImage is a smooth but non-trivial test picture.
func patternImage(w, h, seed int) *image.NRGBA {
	return rgbImage(w, h, func(x, y int) color.NRGBA {
		return color.NRGBA{uint8(x*255/w + seed), uint8(y*255/h + 3*seed), uint8((x+y)*7 + seed*11), 255}
	})
}

func approx(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// oneBatch loads items with opts (batch = all items) and returns the first batch of epoch e.
func oneBatch(t *testing.T, items []Item, classes int, opts Options, e int) Batch {
	t.Helper()
	l, err := New(items, classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(e)
	defer it.Close()
	if !it.Next() {
		t.Fatalf("no batch: %v", it.Err())
	}
	return it.Batch()
}
