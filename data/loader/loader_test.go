package loader

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// syntheticItems writes n small JPEGs and PNGs of different sizes and returns them labelled
// round-robin over classes.
func syntheticItems(t *testing.T, n, classes int) []Item {
	t.Helper()
	dir := t.TempDir()
	var items []Item
	for i := 0; i < n; i++ {
		img := patternImage(40+7*i, 30+5*(i%4), i)
		var p string
		if i%3 == 2 {
			p = writePNG(t, dir, fmt.Sprintf("img%02d.png", i), img)
		} else {
			p = writeFile(t, dir, fmt.Sprintf("img%02d.jpg", i), encodeJPEG(t, img))
		}
		items = append(items, Item{Path: p, Label: i % classes})
	}
	return items
}

// allBatches walks an epoch and returns its batches.
func allBatches(t *testing.T, l *Loader, e int) []Batch {
	t.Helper()
	it := l.Epoch(e)
	defer it.Close()
	var out []Batch
	for it.Next() {
		out = append(out, it.Batch())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameBatches(t *testing.T, what string, a, b []Batch) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d batches", what, len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i].Paths, ",") != strings.Join(b[i].Paths, ",") {
			t.Fatalf("%s: batch %d paths differ", what, i)
		}
		for k := range a[i].Images.Data {
			if a[i].Images.Data[k] != b[i].Images.Data[k] {
				t.Fatalf("%s: batch %d pixel %d: %v vs %v", what, i, k, a[i].Images.Data[k], b[i].Images.Data[k])
			}
		}
		for k := range a[i].Labels.Data {
			if a[i].Labels.Data[k] != b[i].Labels.Data[k] {
				t.Fatalf("%s: batch %d label %d differs", what, i, k)
			}
		}
	}
}

func trainOptions(workers int) Options {
	return Options{Height: 24, Width: 20, Channels: 3, PreprocessMode: "torch", RandomCrop: true,
		ColorAugmentation: true, HorizontalFlip: true, MixupAlpha: 0.2, Seed: 42,
		Workers: workers, BatchSize: 4, Shuffle: true}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	items := syntheticItems(t, 10, 3)
	var runs [][]Batch
	for _, w := range []int{1, 2, 3} {
		l, err := New(items, 3, trainOptions(w))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, allBatches(t, l, 5))
	}
	sameBatches(t, "1 vs 2 workers", runs[0], runs[1])
	sameBatches(t, "1 vs 3 workers", runs[0], runs[2])
	// 10 items in batches of 4: 4, 4, 2.
	if n := len(runs[0]); n != 3 || runs[0][2].Images.Shape[0] != 2 {
		t.Fatalf("batches: %d, last of %v", n, runs[0][len(runs[0])-1].Images.Shape)
	}
	// Another epoch shuffles and augments differently.
	l, _ := New(items, 3, trainOptions(2))
	other := allBatches(t, l, 6)
	if strings.Join(other[0].Paths, ",") == strings.Join(runs[0][0].Paths, ",") &&
		other[0].Images.Data[0] == runs[0][0].Images.Data[0] {
		t.Error("epochs 5 and 6 gave the same first batch")
	}
	// Every item appears once per epoch; mixed labels are distributions with a >= 0.5 share.
	var seen []string
	for _, b := range runs[0] {
		seen = append(seen, b.Paths...)
		for i := 0; i < b.Labels.Shape[0]; i++ {
			row := b.Labels.Data[i*3 : i*3+3]
			sum := float64(row[0] + row[1] + row[2])
			if !approx(sum, 1, 1e-5) || float64(row[b.Targets[i]]) < 0.5-1e-6 {
				t.Errorf("label row %v for target %d", row, b.Targets[i])
			}
		}
	}
	sort.Strings(seen)
	for i := range items {
		if seen[i] != items[i].Path {
			t.Fatalf("epoch does not visit every item once: %v", seen)
		}
	}
}

func TestDropLastAndOrder(t *testing.T) {
	items := syntheticItems(t, 7, 2)
	opts := Options{Height: 8, Width: 8, Channels: 1, PreprocessMode: "tf", BatchSize: 3,
		DropLast: true, Workers: 2}
	l, err := New(items, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	bs := allBatches(t, l, 0)
	if len(bs) != 2 || l.BatchesPerEpoch() != 2 {
		t.Fatalf("%d batches (BatchesPerEpoch %d), want 2", len(bs), l.BatchesPerEpoch())
	}
	for i, b := range bs { // no shuffle: items in order
		for k, p := range b.Paths {
			if p != items[3*i+k].Path || b.Targets[k] != items[3*i+k].Label {
				t.Fatalf("batch %d sample %d is %s", i, k, p)
			}
			if b.Labels.Data[k*2+b.Targets[k]] != 1 {
				t.Fatalf("label not one-hot: %v", b.Labels.Data)
			}
		}
	}
	if got := bs[0].Images.Shape; fmt.Sprint(got) != "[3 8 8 1]" {
		t.Errorf("image shape %v", got)
	}
}

// The cache holds the stable part of the pipeline, so cached epochs equal uncached ones (for
// random crop, as long as the image is smaller than the largest crop needs, as here), and later
// epochs decode nothing.
func TestCache(t *testing.T) {
	items := syntheticItems(t, 6, 2)
	for _, center := range []bool{false, true} {
		opts := trainOptions(2)
		if center {
			opts = Options{Height: 16, Width: 16, Channels: 3, PreprocessMode: "caffe",
				CenterCrop: true, BatchSize: 4, Workers: 2}
		}
		plain, _ := New(items, 2, opts)
		opts.Cache = true
		cached, _ := New(items, 2, opts)
		for e := 0; e < 3; e++ {
			sameBatches(t, fmt.Sprintf("center %v epoch %d", center, e), allBatches(t, plain, e), allBatches(t, cached, e))
		}
		s := cached.Stats()
		if s.Decoded != 6 || s.CacheHits != 12 || s.Cached != 6 || s.CacheBytes <= 0 {
			t.Errorf("center %v: stats %+v, want 6 decodes, 12 hits", center, s)
		}
		if center && s.CacheBytes != 6*16*16*3 {
			t.Errorf("center-crop cache holds %d bytes, want final 16x16 images (%d)", s.CacheBytes, 6*16*16*3)
		}
	}
}

// With a cap, the cache stops growing at it and the rest is decoded every epoch.
func TestCacheMaxBytes(t *testing.T) {
	items := syntheticItems(t, 6, 2)
	opts := Options{Height: 16, Width: 16, Channels: 3, PreprocessMode: "tf", CenterCrop: true,
		BatchSize: 4, Workers: 2, Cache: true, CacheMaxBytes: 2*16*16*3 + 100}
	l, err := New(items, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	allBatches(t, l, 0)
	allBatches(t, l, 1)
	if s := l.Stats(); s.Cached != 2 || s.CacheBytes != 2*16*16*3 || s.Decoded != 6+4 || s.CacheHits != 2 {
		t.Errorf("stats %+v, want 2 cached images, 10 decodes, 2 hits", s)
	}
}

// Large images are cached downscaled for random crop: to the cover of (W, H)/0.45.
func TestCacheDownscalesForRandomCrop(t *testing.T) {
	dir := t.TempDir()
	p := writePNG(t, dir, "big.png", patternImage(200, 100, 1))
	opts := trainOptions(1)
	opts.Cache = true
	l, err := New([]Item{{Path: p}}, 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	allBatches(t, l, 0)
	// Cover of (20/0.45, 24/0.45) = (44.4, 53.3) for 200x100: ratio 0.5333 -> int(106.7) x
	// int(53.3) = 106x53.
	m := l.cache[0].Load()
	if m == nil || m.Width != 106 || m.Height != 53 {
		t.Fatalf("cached image %dx%d, want 106x53", m.Width, m.Height)
	}
}

func TestBadImages(t *testing.T) {
	items := syntheticItems(t, 5, 2)
	bad := filepath.Join(t.TempDir(), "broken.jpg")
	data, _ := os.ReadFile(items[0].Path)
	if err := os.WriteFile(bad, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	items = append(items[:2], append([]Item{{Path: bad, Label: 1}}, items[2:]...)...)
	opts := Options{Height: 8, Width: 8, Channels: 3, PreprocessMode: "tf", BatchSize: 4,
		Workers: 2, Cache: true}
	l, err := New(items, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	for e := 0; e < 2; e++ {
		bs := allBatches(t, l, e)
		n := 0
		for _, b := range bs {
			n += len(b.Paths)
			for _, p := range b.Paths {
				if p == bad {
					t.Fatal("bad image in a batch")
				}
			}
		}
		if n != 5 || len(bs) != 2 {
			t.Fatalf("epoch %d: %d samples in %d batches, want 5 in 2", e, n, len(bs))
		}
	}
	if s := l.Stats(); s.Bad != 1 || len(l.BadImages()) != 1 || l.BadImages()[0].Path != bad {
		t.Fatalf("bad images %+v, stats %+v", l.BadImages(), s)
	}
	if sum := l.BadImageSummary(); !strings.Contains(sum, bad) || !strings.HasPrefix(sum, "1 unusable") {
		t.Errorf("summary %q", sum)
	}

	opts.OnBadImage = BadImageFail
	l, _ = New(items, 2, opts)
	it := l.Epoch(0)
	for it.Next() {
	}
	it.Close()
	if err := it.Err(); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("fail mode error %v, want one naming %s", err, bad)
	}
}

// Stopping early must not leak or deadlock.
func TestCloseEarly(t *testing.T) {
	items := syntheticItems(t, 9, 2)
	l, _ := New(items, 2, Options{Height: 8, Width: 8, Channels: 3, PreprocessMode: "tf",
		BatchSize: 2, Workers: 3})
	for e := 0; e < 5; e++ {
		it := l.Epoch(e)
		if !it.Next() {
			t.Fatal(it.Err())
		}
		it.Close()
		it.Close()
		if it.Next() {
			t.Fatal("Next after Close returned a batch")
		}
		if s := it.Stats(); s.Images != 2 || s.ImagesPerSec() <= 0 {
			t.Errorf("epoch stats %+v", s)
		}
	}
}

// Real photos (VOC-sized JPEGs) from ../shared/data/hymenoptera.
func TestHymenopteraJPEGs(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data", "hymenoptera", "val")
	var items []Item
	for label, class := range []string{"ants", "bees"} {
		files, _ := filepath.Glob(filepath.Join(root, class, "*.jpg"))
		sort.Strings(files)
		for _, f := range files[:min(len(files), 6)] {
			items = append(items, Item{Path: f, Label: label})
		}
	}
	if len(items) == 0 {
		t.Skipf("no JPEGs under %s (shared test data absent)", root)
	}
	// The set holds one GIF among its JPEGs: it is skipped and reported.
	gif := filepath.Join(root, "..", "train", "ants", "imageNotFound.gif")
	if _, err := os.Stat(gif); err != nil {
		t.Skipf("%s absent (shared test data changed)", gif)
	}
	l, err := New(append(items, Item{Path: gif}), 2, Options{Height: 64, Width: 64, Channels: 3,
		PreprocessMode: "torch", CenterCrop: true, BatchSize: len(items), Workers: 2,
		Interpolation: "BICUBIC"})
	if err != nil {
		t.Fatal(err)
	}
	b := allBatches(t, l, 0)[0]
	var sum, sq float64
	for _, v := range b.Images.Data {
		if math.IsNaN(float64(v)) || v < -2.2 || v > 2.7 { // torch range: (0-0.485)/0.224 .. (1-0.406)/0.224
			t.Fatalf("value %v outside the torch-mode range", v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(b.Images.Data))
	mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
	// Natural photos normalized with ImageNet statistics: mean near 0, spread near 1.
	if math.Abs(mean) > 0.8 || std < 0.5 || std > 1.6 {
		t.Errorf("batch mean %.3f std %.3f: not like normalized photos", mean, std)
	}
	if s := l.Stats(); s.Decoded != int64(len(items)) || s.Bad != 1 {
		t.Errorf("stats %+v", s)
	}
	if bad := l.BadImages(); len(bad) != 1 || !strings.Contains(bad[0].Err.Error(), "not a JPEG or PNG") ||
		!strings.Contains(bad[0].Err.Error(), gif) {
		t.Errorf("bad images %v", bad)
	}
}

// PreprocessFile (for inference) gives the same pixels as an evaluation loader's batch.
func TestPreprocessFileMatchesLoader(t *testing.T) {
	items := syntheticItems(t, 2, 1)
	opts := Options{Height: 12, Width: 10, Channels: 3, PreprocessMode: "caffe", CenterCrop: true,
		BatchSize: 1, HorizontalFlip: true, Interpolation: "bicubic"}
	got, err := PreprocessFile(items[1].Path, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.HorizontalFlip = false
	want := oneBatch(t, items[1:], 1, opts, 0).Images.Data
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %v vs %v", i, got[i], want[i])
		}
	}
	if _, err := PreprocessFile(filepath.Join(t.TempDir(), "none.jpg"), opts); err == nil {
		t.Error("missing file accepted")
	}
}
