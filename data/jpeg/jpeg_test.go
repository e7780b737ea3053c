package jpeg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// testPicture is a smooth color picture, w x h (chroma upsampling and reduced transforms
// differ from image/jpeg's most at sharp color edges).
func testPicture(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			r := uint8(128 + 100*math.Sin(float64(x)/7))
			g := uint8(128 + 100*math.Cos(float64(y)/5))
			b := uint8(128 + 90*math.Sin(float64(x+2*y)/11))
			m.Set(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return m
}

func encode(t testing.TB, m image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, m, &stdjpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeMatchesLibjpeg decodes small JPEGs written by PIL (4:2:0, 4:2:2, 4:4:4, gray; odd
// sizes) and expects exactly the pixels PIL 9.4 (libjpeg-turbo) decodes, stored next to them.
func TestDecodeMatchesLibjpeg(t *testing.T) {
	for _, name := range []string{"420", "422", "444", "gray"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", name+".rgb"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, 1, 3)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Pix, want) {
			diff := 0
			for i := range want {
				if i < len(got.Pix) && got.Pix[i] != want[i] {
					diff++
				}
			}
			t.Errorf("%s (%dx%d): %d of %d bytes differ from libjpeg's", name, got.Width, got.Height, diff, len(want))
		}
	}
	data, err := os.ReadFile(filepath.Join("testdata", "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data, 1, 3); !errors.Is(err, ErrUnsupported) {
		t.Errorf("progressive JPEG: %v, want ErrUnsupported", err)
	}
}

// TestScaledDecode: decoding at 1/2, 1/4 and 1/8 gives the image reduced by that factor (sides
// rounded up), its luminance close to the full decode's averaged over the corresponding cells
// (a reduced inverse DCT is a low-pass filter much like that average), its colors near too.
func TestScaledDecode(t *testing.T) {
	const w, h = 75, 53
	data := encode(t, testPicture(w, h), 95)
	for _, channels := range []int{1, 3} {
		full, err := Decode(data, 1, channels)
		if err != nil {
			t.Fatal(err)
		}
		for _, scale := range []int{2, 4, 8} {
			got, err := Decode(data, scale, channels)
			if err != nil {
				t.Fatal(err)
			}
			sw, sh := (w+scale-1)/scale, (h+scale-1)/scale
			if got.Width != sw || got.Height != sh || len(got.Pix) != sw*sh*channels {
				t.Fatalf("scale 1/%d: %dx%d, want %dx%d", scale, got.Width, got.Height, sw, sh)
			}
			mean := cellDifference(full, got, scale)
			if limit := []float64{1: 2.5, 3: 5}[channels]; mean > limit {
				t.Errorf("%d channels, scale 1/%d: mean difference %.2f from the full decode's cell averages", channels, scale, mean)
			}
		}
	}
}

// cellDifference is the mean absolute difference between each sample of small and the average
// of the scale x scale cell of full it stands for (whole cells only).
func cellDifference(full, small *Image, scale int) float64 {
	var sum float64
	n := 0
	c := full.Channels
	for y := range full.Height / scale {
		for x := range full.Width / scale {
			for ch := range c {
				var avg float64
				for dy := range scale {
					for dx := range scale {
						avg += float64(full.Pix[((y*scale+dy)*full.Width+x*scale+dx)*c+ch])
					}
				}
				avg /= float64(scale * scale)
				sum += math.Abs(float64(small.Pix[(y*small.Width+x)*c+ch]) - avg)
				n++
			}
		}
	}
	return sum / float64(n)
}

// TestGrayAndLuminance: a gray JPEG decodes to gray RGB, and one channel of a color JPEG is
// its Y component.
func TestGrayAndLuminance(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 20, 12))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7)
	}
	data := encode(t, g, 100)
	rgb, err := Decode(data, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := stdjpeg.Decode(bytes.NewReader(data))
	for i := range 20 * 12 {
		v := ref.(*image.Gray).GrayAt(i%20, i/20).Y
		if px := rgb.Pix[3*i : 3*i+3]; px[0] != px[1] || px[1] != px[2] || absDiff(px[0], v) > 1 {
			t.Fatalf("pixel %d: %v, want %d", i, px, v)
		}
	}
	color := encode(t, testPicture(20, 12), 100)
	lum, err := Decode(color, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	refY, _ := stdjpeg.Decode(bytes.NewReader(color))
	ycc := refY.(*image.YCbCr)
	for y := range 12 {
		for x := range 20 {
			if absDiff(lum.Pix[y*20+x], ycc.Y[ycc.YOffset(x, y)]) > 2 {
				t.Fatalf("luminance at (%d, %d): %d, want about %d", x, y, lum.Pix[y*20+x], ycc.Y[ycc.YOffset(x, y)])
			}
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestUnsupportedAndCorrupt: progressive frames are ErrUnsupported (callers fall back), broken
// files errors, never panics.
func TestUnsupportedAndCorrupt(t *testing.T) {
	data := encode(t, testPicture(32, 32), 80)
	progressive := bytes.Replace(data, []byte{0xFF, 0xC0}, []byte{0xFF, 0xC2}, 1)
	if _, err := Decode(progressive, 1, 3); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SOF2: %v, want ErrUnsupported", err)
	}
	if c, err := DecodeConfig(progressive); err != nil || c.Supported || c.Width != 32 {
		t.Errorf("DecodeConfig(SOF2) = %+v, %v", c, err)
	}
	for cut := 0; cut < len(data); cut += 37 {
		if _, err := Decode(data[:cut], 1, 3); err == nil && cut < 200 {
			t.Errorf("truncated to %d bytes: no error", cut)
		}
	}
	garbled := bytes.Clone(data)
	for i := len(garbled) / 2; i < len(garbled)-2; i += 5 {
		garbled[i] ^= 0x5A
	}
	_, _ = Decode(garbled, 1, 3) // must not panic
	if _, err := Decode(data, 3, 3); err == nil {
		t.Error("scale 3 accepted")
	}
}

// TestMatchesPIL decodes photos of ../shared/data with this package and with PIL (libjpeg-turbo,
// as TAO's Keras loader does) and expects identical pixels.
func TestMatchesPIL(t *testing.T) {
	dir := testutil.SharedData(t, "hymenoptera")
	python := "/usr/bin/python3"
	if exec.Command(python, "-c", "import PIL, numpy").Run() != nil {
		t.Skip("needs /usr/bin/python3 with PIL and numpy (Debian python3-pil, python3-numpy)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "train", "bees", "*.jpg"))
	if len(files) > 10 {
		files = files[:10]
	}
	// Photos with restart markers.
	for _, f := range []string{"train/ants/kurokusa.jpg", "val/ants/desert_ant.jpg"} {
		files = append(files, filepath.Join(dir, f))
	}
	tmp := t.TempDir()
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(data, 1, 3)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, fmt.Sprint(i)), m.Pix, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import sys, os, numpy as np
from PIL import Image
tmp, files = sys.argv[1], sys.argv[2:]
for i, f in enumerate(files):
    p = os.path.join(tmp, str(i))
    if not os.path.exists(p):
        continue
    want = np.asarray(Image.open(f).convert("RGB"))
    got = np.fromfile(p, dtype=np.uint8).reshape(want.shape)
    d = np.abs(want.astype(int) - got)
    if d.max() > 0:
        print(f, "differs: mean", d.mean(), "max", d.max())
`
	out, err := exec.Command(python, append([]string{"-c", script, tmp}, files...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("PIL comparison: %v\n%s", err, out)
	}
}

// BenchmarkDecodeHymenoptera decodes the hymenoptera JPEGs (mostly 500x375) at each scale, one
// goroutine; compare with BenchmarkDecodeHymenoptera in data/loader (image/jpeg) and
// scripts/bench_pil.py.
func BenchmarkDecodeHymenoptera(b *testing.B) {
	dir := testutil.SharedData(b, "hymenoptera")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.jpg"))
	var data [][]byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if c, err := DecodeConfig(d); err == nil && c.Supported {
			data = append(data, d)
		}
	}
	for _, scale := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("scale=1/%d", scale), func(b *testing.B) {
			cpu0 := cputime.Used().Seconds()
			for range b.N {
				for _, d := range data {
					if _, err := Decode(d, scale, 3); err != nil {
						b.Fatal(err)
					}
				}
			}
			n := float64(b.N * len(data))
			b.ReportMetric(n/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(n/(cputime.Used().Seconds()-cpu0), "images/cpu-s")
		})
	}
}
