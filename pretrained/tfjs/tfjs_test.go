package tfjs

import (
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/pretrained/keras"
)

// referenceInput prepares a photo as the reference predictions in ../shared/data/README.md
// were made with TF.js: the shorter side resized to 224 (tf.image.resizeBilinear with
// alignCorners), a 224x224 center crop, values scaled to [0, 1]. The photo is decoded by Go's
// image/jpeg, not the loader's libjpeg-exact decoder: TF.js on the CPU decodes with a
// JavaScript decoder whose output is closer to Go's (dog: dogsled 0.387 against the reference's
// 0.37 with image/jpeg, 0.399 with libjpeg's pixels).
func referenceInput(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	decoded, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := decoded.Bounds()
	w, h := b.Dx(), b.Dy()
	nw, nh := 224, 224
	if w < h {
		nh = int(float64(h)*224/float64(w) + 0.5)
	} else {
		nw = int(float64(w)*224/float64(h) + 0.5)
	}
	sy, sx := float64(h-1)/float64(nh-1), float64(w-1)/float64(nw-1)
	ox, oy := (nw-224)/2, (nh-224)/2
	out := make([]float32, 224*224*3)
	for y := range 224 {
		fy := float64(y+oy) * sy
		y0 := int(fy)
		y1, dy := min(y0+1, h-1), fy-float64(y0)
		for x := range 224 {
			fx := float64(x+ox) * sx
			x0 := int(fx)
			x1, dx := min(x0+1, w-1), fx-float64(x0)
			for c := range 3 {
				p := func(yy, xx int) float64 { return rgb(decoded.At(b.Min.X+xx, b.Min.Y+yy), c) }
				v := (p(y0, x0)*(1-dx)+p(y0, x1)*dx)*(1-dy) + (p(y1, x0)*(1-dx)+p(y1, x1)*dx)*dy
				out[(y*224+x)*3+c] = float32(v / 255)
			}
		}
	}
	return out
}

// rgb is channel c (0 red, 1 green, 2 blue) of a decoded pixel, 0-255.
func rgb(px color.Color, c int) float64 {
	r, g, b, _ := px.RGBA()
	return float64([3]uint32{r, g, b}[c] >> 8)
}

// TestDarknetReferencePredictions imports the Tiny Darknet TF.js model and reproduces the
// reference predictions of ../shared/data/README.md (TF.js 4.22): the same top classes, with
// probabilities within 0.02.
func TestDarknetReferencePredictions(t *testing.T) {
	dir := testutil.SharedData(t, "pretrained")
	m, err := Read(filepath.Join(dir, "darknet-tiny-tfjs", "model.json"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, unused, err := m.Conversion.Weights(m.Tensors)
	if err != nil || len(unused) > 0 {
		t.Fatalf("weights: %v, unused %v", err, unused)
	}
	total, _, _ := m.Conversion.Graph.ParamCount()
	if total != 1046488 {
		t.Errorf("%d parameters, the README says 1,046,488", total)
	}
	labelData, err := os.ReadFile(filepath.Join(dir, "imagenet1k-labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	labels := strings.Split(strings.TrimSpace(string(labelData)), "\n")
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	em, err := e.NewModel(m.Conversion.Graph, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		photo string
		top   []string
		probs []float64 // the reference's, where the README gives them
	}{
		{"dog", []string{"dogsled", "malamute"}, []float64{0.37, 0.11}},
		{"eagle", []string{"kite", "ruddy turnstone", "bald eagle"}, []float64{0.28, 0.23, 0.18}},
		{"giraffe", []string{"zebra"}, nil},
		{"horses", []string{"ram", "bighorn"}, nil},
	}
	images := model.NewTensor(len(cases), 224, 224, 3)
	for i, c := range cases {
		copy(images.Data[i*224*224*3:], referenceInput(t, filepath.Join(dir, "samples", c.photo+".jpg")))
	}
	probs, err := em.Predict(images)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		p := probs.Data[i*1000 : (i+1)*1000]
		order := make([]int, 1000)
		for k := range order {
			order[k] = k
		}
		sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
		var got []string
		for _, k := range order[:len(c.top)] {
			got = append(got, labels[k])
		}
		if !slices.Equal(got, c.top) {
			t.Errorf("%s: top %v, want %v", c.photo, got, c.top)
		}
		for k, want := range c.probs {
			if d := float64(p[order[k]]) - want; d > 0.02 || d < -0.02 {
				t.Errorf("%s: %s %.3f, reference %.2f", c.photo, got[k], p[order[k]], want)
			}
		}
	}
}

// TestMobileNetV2TeachableMachine imports the Teachable Machine export: a Sequential holding
// the Keras Applications MobileNetV2-0.35 (a Functional model) and a Sequential head.
func TestMobileNetV2TeachableMachine(t *testing.T) {
	dir := testutil.SharedData(t, "pretrained", "mobilenetv2-035-tfjs")
	m, err := Read(filepath.Join(dir, "model.json"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, unused, err := m.Conversion.Weights(m.Tensors)
	if err != nil || len(unused) > 0 {
		t.Fatalf("weights: %v, unused %v", err, unused)
	}
	g := m.Conversion.Graph
	shapes, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if g.Input != [3]int{3, 224, 224} || g.Output != "dense_Dense4" || shapes["out_relu"].Channels() != 1280 || shapes[g.Output][0] != 5 {
		t.Errorf("input %v, output %q %v, out_relu %v", g.Input, g.Output, shapes[g.Output], shapes["out_relu"])
	}
	if len(w) != len(m.Tensors) {
		t.Errorf("%d graph parameters from %d tensors", len(w), len(m.Tensors))
	}
	if l := g.Index()["block_1_depthwise"]; l == nil || l.Op != model.OpDepthwiseConv || w["block_1_depthwise/kernel"] == nil {
		t.Errorf("block_1_depthwise: %+v", l)
	}
}

// TestQuantizedWeights decodes uint8- and float16-quantized weights by hand-computed values.
func TestQuantizedWeights(t *testing.T) {
	dir := t.TempDir()
	manifest := `{"modelTopology": {"class_name": "Sequential", "config": [
	  {"class_name": "Flatten", "config": {"name": "f", "batch_input_shape": [null, 1, 1, 1]}},
	  {"class_name": "Dense", "config": {"name": "d", "units": 2}}]},
	 "weightsManifest": [{"paths": ["w.bin"], "weights": [
	  {"name": "d/kernel", "shape": [1, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
	  {"name": "d/bias", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}}]}]}`
	// kernel bytes 0 and 5 -> -1 and 1.5; bias halves 0x3c00 (1) and 0xc100 (-2.5).
	bin := []byte{0, 5, 0x00, 0x3c, 0x00, 0xc1}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Read(filepath.Join(dir, "model.json"), keras.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := m.Tensors["d/kernel"].Data; !slices.Equal(k, []float32{-1, 1.5}) {
		t.Errorf("kernel %v", k)
	}
	if b := m.Tensors["d/bias"].Data; !slices.Equal(b, []float32{1, -2.5}) {
		t.Errorf("bias %v", b)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), bin[:3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(filepath.Join(dir, "model.json"), keras.Options{}); err == nil || !strings.Contains(err.Error(), "short") {
		t.Errorf("truncated shard: %v", err)
	}
}
