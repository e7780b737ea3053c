package data

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadIDXTinyRawAndGzip(t *testing.T) {
	for _, suffix := range []string{"", ".gz"} {
		imgs, labels := readTiny(t, suffix)
		if imgs.N != 4 || imgs.Rows != 2 || imgs.Cols != 3 {
			t.Fatalf("%q: dims %d x %d x %d", suffix, imgs.N, imgs.Rows, imgs.Cols)
		}
		if !bytes.Equal(labels, []byte{0, 1, 2, 1}) {
			t.Fatalf("%q: labels %v", suffix, labels)
		}
		img := imgs.Image(2) // pixel = 10*image + row*3 + col
		if img.GrayAt(0, 0).Y != 20 || img.GrayAt(2, 1).Y != 25 || img.GrayAt(1, 0).Y != 21 {
			t.Fatalf("%q: image 2 pixels %v", suffix, img.Pix)
		}
	}
}

func readTiny(t *testing.T, suffix string) (*IDXImages, []byte) {
	t.Helper()
	fi, err := os.Open(filepath.Join("testdata", "idx", "tiny-images-idx3-ubyte"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	imgs, err := ReadIDXImages(fi)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := os.Open(filepath.Join("testdata", "idx", "tiny-labels-idx1-ubyte"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	labels, err := ReadIDXLabels(fl)
	if err != nil {
		t.Fatal(err)
	}
	return imgs, labels
}

func TestReadIDXErrors(t *testing.T) {
	good, _ := os.ReadFile(filepath.Join("testdata", "idx", "tiny-images-idx3-ubyte"))
	labels, _ := os.ReadFile(filepath.Join("testdata", "idx", "tiny-labels-idx1-ubyte"))
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"labels as images", labels, "magic number 00000801"},
		{"truncated", good[:len(good)-1], "only 23 (truncated)"},
		{"trailing", append(append([]byte{}, good...), 9), "trailing bytes"},
		{"short header", good[:6], "dimension"},
		{"empty", nil, "magic"},
		{"huge", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, "more than"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip"},
	}
	for _, c := range cases {
		_, err := ReadIDXImages(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestConvertIDXTiny(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny")
	opts := IDXOptions{
		Images: filepath.Join("testdata", "idx", "tiny-images-idx3-ubyte.gz"),
		Labels: filepath.Join("testdata", "idx", "tiny-labels-idx1-ubyte"),
		Out:    out, ClassNames: []string{"zero", "one", "two"},
	}
	if _, err := ConvertIDX(opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"one/00002.png", "one/00004.png", "two/00003.png", "zero/00001.png"}
	if got := listTree(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	f, err := os.Open(filepath.Join(out, "one", "00004.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("bounds %v", b)
	}
	if r, _, _, _ := img.At(2, 1).RGBA(); r>>8 != 35 {
		t.Fatalf("pixel (2,1) of image 4 = %d, want 35", r>>8)
	}
	res, err := ConvertIDX(opts)
	if err != nil || !res.AlreadyDone {
		t.Fatalf("rerun: %v", err)
	}
	opts.ClassNames = []string{"a", "b"}
	opts.Out = filepath.Join(t.TempDir(), "x")
	if _, err := ConvertIDX(opts); err == nil || !strings.Contains(err.Error(), "label 2 of image 3 has no class name") {
		t.Fatalf("too few names: %v", err)
	}
	opts.ClassNames = []string{"a", "b", "c"}
	opts.Labels = opts.Images
	if _, err := ConvertIDX(opts); err == nil || !strings.Contains(err.Error(), "tiny-images-idx3-ubyte.gz: magic number") {
		t.Fatalf("images as labels: %v", err)
	}
}

func TestParseClassNames(t *testing.T) {
	fm, err := ParseClassNames("fashion-mnist")
	if err != nil || len(fm) != 10 || fm[0] != "T-shirt_top" || fm[9] != "Ankle_boot" {
		t.Fatalf("fashion-mnist: %v %v", fm, err)
	}
	if got, err := ParseClassNames("cat, dog"); err != nil || !reflect.DeepEqual(got, []string{"cat", "dog"}) {
		t.Fatalf("list: %v %v", got, err)
	}
	for _, bad := range []string{"cat", "cat,cat", "cat,a/b", "cat,"} {
		if _, err := ParseClassNames(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConvertFashionMNISTTest(t *testing.T) {
	dir := sharedData(t, "fashion-mnist")
	out := filepath.Join(t.TempDir(), "fm")
	opts := IDXOptions{
		Images: filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), Labels: filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"),
		Out: out, ClassNames: FashionMNISTClasses, LimitPerClass: 3, Seed: 1,
	}
	res, err := ConvertIDX(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range FashionMNISTClasses {
		if n := res.Manifest.Counts["all"][class]; n != 3 {
			t.Fatalf("%s: %d images, want 3", class, n)
		}
	}
	ds, err := Open(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Samples) != 30 || ds.Classes[0] != "Ankle_boot" {
		t.Fatalf("%d samples, classes %v", len(ds.Samples), ds.Classes)
	}
	f, _ := os.Open(ds.Samples[0].Path)
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 28 || img.Bounds().Dy() != 28 {
		t.Fatalf("%s: %v %v", ds.Samples[0].Path, err, img)
	}
	first := listTree(t, out)
	opts.Seed, opts.Out = 2, filepath.Join(t.TempDir(), "fm2")
	if _, err := ConvertIDX(opts); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(first, listTree(t, opts.Out)) {
		t.Fatal("seeds 1 and 2 chose the same images")
	}
	// The whole file: 10000 labels, 1000 per class.
	fl, _ := os.Open(opts.Labels)
	defer fl.Close()
	labels, err := ReadIDXLabels(fl)
	if err != nil || len(labels) != 10000 {
		t.Fatalf("%d labels, %v", len(labels), err)
	}
	var hist [10]int
	for _, l := range labels {
		hist[l]++
	}
	if hist != [10]int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000} {
		t.Fatalf("labels per class %v", hist)
	}
}
