package loader

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pixelAt(m *Image, x, y int) []uint8 {
	i := (y*m.Width + x) * m.Channels
	return m.Pix[i : i+m.Channels]
}

func near(got []uint8, want []uint8, tol int) bool {
	for i := range want {
		d := int(got[i]) - int(want[i])
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

func TestDecodeGrayscale(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range g.Pix {
		g.Pix[i] = 77
	}
	dir := t.TempDir()
	pngPath := writePNG(t, dir, "gray.png", g)
	jpgPath := writeFile(t, dir, "gray.jpg", encodeJPEG(t, g))
	for _, p := range []string{pngPath, jpgPath} {
		rgb, err := DecodeFile(p, 3)
		if err != nil {
			t.Fatal(err)
		}
		if px := pixelAt(rgb, 3, 3); !near(px, []uint8{77, 77, 77}, 1) || px[0] != px[1] || px[1] != px[2] {
			t.Errorf("%s as RGB: %v, want 77 in every channel", filepath.Base(p), px)
		}
		l, err := DecodeFile(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		if l.Channels != 1 || !near(pixelAt(l, 3, 3), []uint8{77}, 1) {
			t.Errorf("%s as luminance: %v", filepath.Base(p), pixelAt(l, 3, 3))
		}
	}
	// 16-bit gray: 0x8000 keeps its high byte, 128.
	g16 := image.NewGray16(image.Rect(0, 0, 2, 2))
	for i := 0; i < len(g16.Pix); i += 2 {
		g16.Pix[i], g16.Pix[i+1] = 0x80, 0x00
	}
	m, err := DecodeFile(writePNG(t, dir, "gray16.png", g16), 3)
	if err != nil || !near(pixelAt(m, 1, 1), []uint8{128, 128, 128}, 0) {
		t.Errorf("16-bit gray: %v, %v", m, err)
	}
}

// testdata/cmyk.jpg was written by PIL 9.4 (Image.new("CMYK"), quality 95, Adobe APP14 marker,
// inverted CMYK): the left half is C=0 M=255 Y=255 K=0 (red), the right half C=255 (cyan).
// PIL's convert("RGB") gives (255,0,0) and (0,255,255).
func TestDecodeCMYK(t *testing.T) {
	m, err := DecodeFile(filepath.Join("testdata", "cmyk.jpg"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if px := pixelAt(m, 3, 8); !near(px, []uint8{255, 0, 0}, 6) {
		t.Errorf("left half %v, want red", px)
	}
	if px := pixelAt(m, 12, 8); !near(px, []uint8{0, 255, 255}, 6) {
		t.Errorf("right half %v, want cyan", px)
	}
	l, err := DecodeFile(filepath.Join("testdata", "cmyk.jpg"), 1)
	if err != nil {
		t.Fatal(err)
	}
	// Red's luminance is 0.299*255 = 76.2; cyan's is (0.587+0.114)*255 = 178.8.
	if !near(pixelAt(l, 3, 8), []uint8{76}, 3) || !near(pixelAt(l, 12, 8), []uint8{179}, 3) {
		t.Errorf("luminance %v %v, want 76 and 179", pixelAt(l, 3, 8), pixelAt(l, 12, 8))
	}
}

// Alpha is composited onto black: (200,100,50) at alpha 128 -> 200*128/255 = 100.4 -> 100,
// 50.2 -> 50, 25.1 -> 25; fully transparent white -> black; opaque stays.
func TestDecodeAlpha(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 128})
	img.SetNRGBA(1, 0, color.NRGBA{255, 255, 255, 0})
	img.SetNRGBA(2, 0, color.NRGBA{9, 8, 7, 255})
	m, err := DecodeFile(writePNG(t, t.TempDir(), "alpha.png", img), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]uint8{{100, 50, 25}, {0, 0, 0}, {9, 8, 7}}
	for x, w := range want {
		if px := pixelAt(m, x, 0); !near(px, w, 0) {
			t.Errorf("pixel %d = %v, want %v", x, px, w)
		}
	}
	// A paletted PNG with a transparent entry (tRNS) behaves the same.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{
		color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 0}})
	pal.SetColorIndex(1, 0, 1)
	m, err = DecodeFile(writePNG(t, t.TempDir(), "pal.png", pal), 3)
	if err != nil {
		t.Fatal(err)
	}
	if !near(pixelAt(m, 0, 0), []uint8{255, 0, 0}, 0) || !near(pixelAt(m, 1, 0), []uint8{0, 0, 0}, 0) {
		t.Errorf("paletted: %v %v", pixelAt(m, 0, 0), pixelAt(m, 1, 0))
	}
}

// withOrientation splices an APP1 Exif segment holding one IFD0 entry, Orientation = o, right
// after the SOI marker of a JPEG.
func withOrientation(jpg []byte, o int, bigEndian bool) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	if bigEndian {
		bo = binary.BigEndian
		tiff = []byte("MM\x00*\x00\x00\x00\x08")
	}
	ifd := make([]byte, 2+12+4)
	bo.PutUint16(ifd[0:], 1)      // one entry
	bo.PutUint16(ifd[2:], 0x0112) // Orientation
	bo.PutUint16(ifd[4:], 3)      // SHORT
	bo.PutUint32(ifd[6:], 1)      // count
	bo.PutUint16(ifd[10:], uint16(o))
	payload := append(append([]byte("Exif\x00\x00"), tiff...), ifd...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(append(out, seg...), payload...)
	return append(out, jpg[2:]...)
}

// A 32x16 picture with quadrants red (top left), green (top right), blue (bottom left), white.
// For each EXIF orientation, the displayed quadrants, read [top left, top right, bottom left,
// bottom right], were worked out by hand from the EXIF definitions.
func TestEXIFOrientation(t *testing.T) {
	R, G, B, W := []uint8{255, 0, 0}, []uint8{0, 255, 0}, []uint8{0, 0, 255}, []uint8{255, 255, 255}
	src := rgbImage(32, 16, func(x, y int) color.NRGBA {
		switch {
		case x < 16 && y < 8:
			return color.NRGBA{255, 0, 0, 255}
		case y < 8:
			return color.NRGBA{0, 255, 0, 255}
		case x < 16:
			return color.NRGBA{0, 0, 255, 255}
		}
		return color.NRGBA{255, 255, 255, 255}
	})
	jpg := encodeJPEG(t, src)
	want := map[int][4][]uint8{
		1: {R, G, B, W}, // as stored
		2: {G, R, W, B}, // mirrored
		3: {W, B, G, R}, // rotated 180
		4: {B, W, R, G}, // flipped vertically
		5: {R, B, G, W}, // transposed
		6: {B, R, W, G}, // rotated 90 clockwise
		7: {W, G, B, R}, // transverse
		8: {G, W, R, B}, // rotated 90 counter-clockwise
	}
	for o := 1; o <= 8; o++ {
		for _, big := range []bool{false, true} {
			data := withOrientation(jpg, o, big)
			if got := exifOrientation(data); got != o {
				t.Fatalf("orientation %d (big endian %v) parsed as %d", o, big, got)
			}
			m, err := Decode(data, 3)
			if err != nil {
				t.Fatal(err)
			}
			w, h := 32, 16
			if o >= 5 {
				w, h = 16, 32
			}
			if m.Width != w || m.Height != h {
				t.Fatalf("orientation %d: size %dx%d, want %dx%d", o, m.Width, m.Height, w, h)
			}
			centers := [4][2]int{{w / 4, h / 4}, {3 * w / 4, h / 4}, {w / 4, 3 * h / 4}, {3 * w / 4, 3 * h / 4}}
			for q, c := range centers {
				if px := pixelAt(m, c[0], c[1]); !near(px, want[o][q], 12) {
					t.Errorf("orientation %d quadrant %d: %v, want %v", o, q, px, want[o][q])
				}
			}
		}
	}
	// Out-of-range or malformed tags mean "as stored".
	if got := exifOrientation(withOrientation(jpg, 9, false)); got != 1 {
		t.Errorf("orientation 9 parsed as %d, want 1", got)
	}
	if got := exifOrientation(jpg); got != 1 {
		t.Errorf("no Exif: %d, want 1", got)
	}
}

func TestCorruptImages(t *testing.T) {
	dir := t.TempDir()
	good := encodeJPEG(t, patternImage(64, 48, 1))
	goodPNG := writePNG(t, dir, "good.png", patternImage(16, 16, 2))
	pngData, _ := os.ReadFile(goodPNG)
	cases := map[string][]byte{
		"truncated.jpg": good[:len(good)/2],
		"header.jpg":    good[:40],
		"empty.jpg":     {},
		"text.png":      []byte("this is not an image"),
		"truncated.png": pngData[:len(pngData)-30],
		"zeroed.jpg":    append(append([]byte{}, good[:300]...), make([]byte, len(good)-300)...),
	}
	for name, data := range cases {
		p := writeFile(t, dir, name, data)
		_, err := DecodeFile(p, 3)
		if err == nil {
			t.Errorf("%s decoded without error", name)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	missing := filepath.Join(dir, "missing.jpg")
	if _, err := DecodeFile(missing, 3); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

// The expected values come from PIL 9.4 (Debian python3-pil) on the same 7x5 picture:
//
//	a[y,x,c] = (x*37 + y*11 + c*50 + x*y*13) % 256
//	Image.fromarray(a).resize((w, h), Image.BILINEAR / BICUBIC / NEAREST / LANCZOS)
//
// PIL stretches the filter when downscaling (antialiasing) exactly as Bonsai does, and Bonsai
// uses PIL's arithmetic (22-bit fixed-point weights, 8-bit intermediate rows), so the outputs are
// equal. With float32 weights and rows they differed by up to 1 level (bilinear, bicubic) and 6
// (Lanczos, whose overshoot PIL clips between the passes).
// referencePattern is the RGB picture the PIL and TAO references were computed on:
// pixel (x, y, c) = (x*37 + y*11 + c*50 + x*y*13) % 256.
func referencePattern(w, h int) *Image {
	src := NewImage(w, h, 3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				src.Pix[(y*w+x)*3+c] = uint8((x*37 + y*11 + c*50 + x*y*13) % 256)
			}
		}
	}
	return src
}

func TestResizeMatchesPIL(t *testing.T) {
	src := referencePattern(7, 5)
	for _, c := range pilResizeCases {
		got, err := Resize(src, c.w, c.h, c.method)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0
		for i, w := range c.want {
			worst = max(worst, abs(int(got.Pix[i])-w))
		}
		if worst > c.tol {
			t.Errorf("%s to %dx%d: max difference from PIL %d > %d\n got %v\nwant %v",
				c.method, c.w, c.h, worst, c.tol, got.Pix, c.want)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// The fast YCbCr conversion equals the standard library's for every subsampling ratio.
func TestYCbCrConversionMatchesStdlib(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440,
		image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		src := image.NewYCbCr(image.Rect(1, 2, 12, 9), ratio)
		for i := range src.Y {
			src.Y[i] = uint8(i * 37)
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(i*91+7), uint8(255-i*53)
		}
		m := toImage(src, 3)
		for y := 2; y < 9; y++ {
			for x := 1; x < 12; x++ {
				c := src.YCbCrAt(x, y)
				r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				if px := pixelAt(m, x-1, y-2); !near(px, []uint8{r, g, b}, 0) {
					t.Fatalf("ratio %v pixel (%d,%d) = %v, want %v", ratio, x, y, px, []uint8{r, g, b})
				}
			}
		}
		l := toImage(src, 1)
		if got, want := pixelAt(l, 4, 3)[0], src.YCbCrAt(5, 5).Y; got != want {
			t.Fatalf("ratio %v luminance %d, want %d", ratio, got, want)
		}
	}
}

// TAO's crops reproduced on PIL (taoref_test.go, generated by running TAO's
// load_and_crop_img geometry with PIL 9.4 on the 37x23 picture below): the center crop, and the
// random crop for fixed draws of crop_fraction and offsets, match pixel for pixel.
func TestCropsMatchTAO(t *testing.T) {
	src := referencePattern(37, 23)
	for _, c := range taoCenterCases {
		p := pipeline{width: c.w, height: c.h, channels: 3, interp: c.method, centerCrop: true}
		assertPixels(t, fmt.Sprintf("center %s %dx%d", c.method, c.w, c.h), p.stable(src), c.want)
	}
	for _, c := range taoRandomCases {
		rw, rh := coverSize(37, 23, float64(c.w)/c.cropFraction, float64(c.h)/c.cropFraction)
		if rw != c.resizedW || rh != c.resizedH {
			t.Errorf("crop fraction %v: resized to %dx%d, TAO %dx%d", c.cropFraction, rw, rh, c.resizedW, c.resizedH)
		}
		got := resizeRegion(src, region{rw, rh, c.x, c.y, c.w, c.h}, c.method)
		assertPixels(t, fmt.Sprintf("random %s cf %v", c.method, c.cropFraction), got, c.want)
	}
}

func assertPixels(t *testing.T, what string, m *Image, want []int) {
	t.Helper()
	if len(m.Pix) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(m.Pix), len(want))
	}
	for i, w := range want {
		if int(m.Pix[i]) != w {
			t.Fatalf("%s: value %d = %d, TAO/PIL %d", what, i, m.Pix[i], w)
		}
	}
}
