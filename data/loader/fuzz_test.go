package loader

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must return an image or an error, never panic,
// and a decoded image must be consistent and resizable.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	old := maxPixels
	maxPixels = 1 << 20 // keep the fuzzer's allocations small
	f.Cleanup(func() { maxPixels = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, channels := range []int{1, 3} {
			m, err := Decode(data, channels)
			if err != nil {
				continue
			}
			if m.Width <= 0 || m.Height <= 0 || m.Channels != channels ||
				len(m.Pix) != m.Width*m.Height*channels {
				t.Fatalf("inconsistent image %dx%dx%d with %d bytes", m.Width, m.Height, m.Channels, len(m.Pix))
			}
			for _, method := range []string{"bilinear", "nearest"} {
				r, err := Resize(m, 5, 3, method)
				if err != nil || r.Width != 5 || r.Height != 3 {
					t.Fatalf("resize: %v", err)
				}
			}
		}
	})
}

// fuzzSeeds are small valid and broken images of every kind the decoder handles.
func fuzzSeeds(t testing.TB) [][]byte {
	rgb := patternImage(9, 7, 3)
	gray := image.NewGray(image.Rect(0, 0, 5, 4))
	pal := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 0, 0}})
	jpg := encodeJPEG(t, rgb)
	seeds := [][]byte{jpg, encodeJPEG(t, gray), withOrientation(jpg, 6, false),
		withOrientation(jpg, 7, true), jpg[:len(jpg)/2], {0xFF, 0xD8, 0xFF, 0xE1, 0, 8, 'E', 'x', 'i', 'f'}}
	dir := t.TempDir()
	for i, img := range []image.Image{rgb, gray, pal, image.NewGray16(image.Rect(0, 0, 2, 3))} {
		data, err := os.ReadFile(writePNG(t, dir, string(rune('a'+i))+".png", img))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data, data[:len(data)-10])
	}
	if cmyk, err := os.ReadFile(filepath.Join("testdata", "cmyk.jpg")); err == nil {
		seeds = append(seeds, cmyk)
	}
	return seeds
}
