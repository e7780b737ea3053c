package tensorboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/tensorboard/tbtest"
)

// TestMaskedCRC: CRC-32C("123456789") is 0xe3069283 (the check value of the Castagnoli CRC);
// masked: ((c >> 15) | (c << 17)) + 0xa282ead8 = 0xc78ab0e5 (mod 2^32).
func TestMaskedCRC(t *testing.T) {
	if got := MaskedCRC([]byte("123456789")); got != 0xc78ab0e5 {
		t.Errorf("masked CRC %#x, want 0xc78ab0e5", got)
	}
}

// TestNewHistogram: values 0, 1, 1, 2, 4 in 4 buckets of width 1 over [0, 4]: the first bucket
// takes [0, 1], then (1, 2], (2, 3], (3, 4]. Sum 8, sum of squares 22.
func TestNewHistogram(t *testing.T) {
	h := NewHistogram([]float32{1, 0, 4, 1, 2}, 4)
	want := Histogram{Min: 0, Max: 4, Num: 5, Sum: 8, SumSquares: 22,
		BucketLimit: []float64{1, 2, 3, 4}, Bucket: []float64{3, 1, 0, 1}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("histogram %+v, want %+v", h, want)
	}
	same := NewHistogram([]float32{2, 2}, 30)
	if !reflect.DeepEqual(same.Bucket, []float64{2}) || !reflect.DeepEqual(same.BucketLimit, []float64{2}) {
		t.Errorf("constant values: %+v", same)
	}
}

func testPNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(40 * i)
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEventsReadBackByPython writes scalars, an image and a histogram and checks every value as
// protobuf's own parser reads it, after the reader has verified every CRC.
func TestEventsReadBackByPython(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "events"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(w.Path()), "events.out.tfevents.") {
		t.Errorf("file name %s", w.Path())
	}
	pic := testPNG(t)
	steps := []error{
		w.Scalar("loss", 0, 0.6931471805599453),
		w.Scalar("lr", 7, 1e-5),
		w.Images(2, Image{Tag: "augmented_images/image/0", Width: 3, Height: 2, Colorspace: 1, PNG: pic}),
		w.Histogram("conv1/kernel_0", 3, NewHistogram([]float32{1, 0, 4, 1, 2}, 4)),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	events := tbtest.Read(t, w.Path())
	if len(events) != 5 || events[0].FileVersion != "brain.Event:2" || events[0].WallTime < 1.7e9 {
		t.Fatalf("events %+v", events)
	}
	loss, lr := events[1], events[2]
	if loss.Step != 0 || loss.Values[0].Tag != "loss" || *loss.Values[0].SimpleValue != float64(float32(math.Ln2)) {
		t.Errorf("loss event %+v", loss)
	}
	if lr.Step != 7 || lr.Values[0].Tag != "lr" || *lr.Values[0].SimpleValue != float64(float32(1e-5)) {
		t.Errorf("lr event %+v", lr)
	}
	im := events[3].Values[0]
	sum := sha256.Sum256(pic)
	if events[3].Step != 2 || im.Tag != "augmented_images/image/0" || im.Image == nil ||
		im.Image.Width != 3 || im.Image.Height != 2 || im.Image.Colorspace != 1 || im.Image.PNGSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("image event %+v", events[3])
	}
	h := events[4].Values[0].Histo
	if events[4].Step != 3 || events[4].Values[0].Tag != "conv1/kernel_0" || h == nil || h.Min != 0 || h.Max != 4 || h.Num != 5 ||
		h.Sum != 8 || h.SumSquares != 22 || !reflect.DeepEqual(h.BucketLimit, []float64{1, 2, 3, 4}) || !reflect.DeepEqual(h.Bucket, []float64{3, 1, 0, 1}) {
		t.Errorf("histogram event %+v", events[4])
	}
}

// TestCreateTwiceInOneSecond: a second writer in the same folder and second gets its own file.
func TestCreateTwiceInOneSecond(t *testing.T) {
	dir := t.TempDir()
	a, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Path() == b.Path() {
		t.Fatal("two writers share a file")
	}
	if st, err := os.Stat(a.Path()); err != nil || st.Size() == 0 {
		t.Errorf("first file: %v", err)
	}
}
