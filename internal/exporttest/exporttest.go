// Package exporttest holds the fixtures the ONNX export, quantization and deployment tests
// share: real pictures from the bundled Fashion-MNIST subset, random weights that exercise batch
// norm folding, Bonsai's reference probabilities and the list of zoo models.
package exporttest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
)

var (
	fashionOnce sync.Once
	fashion     *data.IDXImages
	fashionErr  error
)

// FashionImages returns n real pictures from the bundled Fashion-MNIST subset, resized to h x w
// (bilinear) and scaled to [-1, 1] (tf mode), NHWC. With several channels, channel k of picture
// i is another photo (i*c+k), so that a mix-up of channels changes the result.
func FashionImages(t testing.TB, n, c, h, w int) *model.Tensor {
	t.Helper()
	fashionOnce.Do(func() {
		f, err := os.Open(filepath.Join(testutil.RepoRoot(t), "testdata", "fashion-mnist-mini", "images-idx3-ubyte.gz"))
		if err != nil {
			fashionErr = err
			return
		}
		defer f.Close()
		fashion, fashionErr = data.ReadIDXImages(f)
	})
	if fashionErr != nil {
		t.Fatal(fashionErr)
	}
	out := model.NewTensor(n, h, w, c)
	for i := range n {
		for k := range c {
			src := &loader.Image{Width: fashion.Cols, Height: fashion.Rows, Channels: 1, Pix: fashion.Image(i*c + k).Pix}
			img, err := loader.Resize(src, w, h, "bilinear")
			if err != nil {
				t.Fatal(err)
			}
			for p, v := range img.Pix {
				out.Data[(i*h*w+p)*c+k] = float32(v)/127.5 - 1
			}
		}
	}
	return out
}

// RandomWeights returns Keras-initialised kernels from the engine with random biases and
// batch-norm parameters (so that folding is exercised), scaled so that activations stay O(1).
func RandomWeights(t testing.TB, eng *engine.Engine, g *model.Graph, seed int64) model.Weights {
	t.Helper()
	m, err := eng.NewModel(g, nil, seed)
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	rnd := testutil.Rand(uint64(seed))
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		x := w[k]
		lo, hi := 0.0, 0.0
		switch {
		case strings.HasSuffix(k, "/bias"), strings.HasSuffix(k, "/beta"), strings.HasSuffix(k, "/moving_mean"):
			lo, hi = -0.1, 0.1
		case strings.HasSuffix(k, "/gamma"), strings.HasSuffix(k, "/moving_variance"):
			lo, hi = 0.6, 1.4
		default:
			continue
		}
		for i := range x.Data {
			x.Data[i] = float32(lo + (hi-lo)*rnd())
		}
	}
	return w
}

// ReferenceProbs runs Bonsai's inference on x and returns its softmax probabilities, after
// scaling the output layer's kernel and bias in w so that the logits have a standard deviation
// near 1: probabilities then spread over the classes and a comparison means something. (The
// logits of the scaled layer are the logits divided by the factor; one compiled graph serves.)
func ReferenceProbs(t testing.TB, eng *engine.Engine, g *model.Graph, w model.Weights, x *model.Tensor) *model.Tensor {
	t.Helper()
	m, err := eng.NewModel(g, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	for _, v := range logits.Data {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(logits.Data))
	std := float32(math.Sqrt(max(sq/n-(sum/n)*(sum/n), 1e-12)))
	if w[model.ParamKey(g.Output, "kernel")] == nil {
		std = 1 // the output layer has no weights to scale
	}
	for _, p := range []string{"kernel", "bias"} {
		if k := w[model.ParamKey(g.Output, p)]; k != nil {
			for i := range k.Data {
				k.Data[i] /= std
			}
		}
	}
	classes := logits.Shape[1]
	probs := model.NewTensor(logits.Shape...)
	for i := 0; i < len(logits.Data); i += classes {
		row, out := logits.Data[i:i+classes], probs.Data[i:i+classes]
		top := slices.Max(row)
		var z float64
		for j, v := range row {
			e := math.Exp(float64((v - top) / std))
			out[j] = float32(e)
			z += e
		}
		for j := range out {
			out[j] = float32(float64(out[j]) / z)
		}
	}
	return probs
}

// Zoo lists every registered arch and depth ("resnet", 18), depth 0 where the family has none.
func Zoo() [][2]any {
	var out [][2]any
	for _, s := range arch.Archs() {
		name, _, _ := strings.Cut(s, " ")
		depths := arch.Depths(name)
		if len(depths) == 0 {
			depths = []int{0}
		}
		for _, d := range depths {
			out = append(out, [2]any{name, d})
		}
	}
	return out
}

// OpenEngine opens the pure-Go engine.
func OpenEngine(t testing.TB) *engine.Engine {
	t.Helper()
	eng, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// MaxAbsDiff is the largest |a-b| over two equally long slices.
func MaxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// PictureFiles returns n real photos: the first of each flowers5 class folder in turn when
// ../shared/data is installed, else Fashion-MNIST composites (three different garments as R, G
// and B) written as PNG files into dir.
func PictureFiles(t testing.TB, dir string, n int) []string {
	t.Helper()
	flowers := filepath.Join(testutil.RepoRoot(t), "..", "shared", "data", "flowers5")
	if classes, err := os.ReadDir(flowers); err == nil && len(classes) > 0 {
		var paths []string
		for i := 0; len(paths) < n && i < 50; i++ {
			for _, c := range classes {
				files, err := os.ReadDir(filepath.Join(flowers, c.Name()))
				if err == nil && i < len(files) && len(paths) < n {
					paths = append(paths, filepath.Join(flowers, c.Name(), files[i].Name()))
				}
			}
		}
		if len(paths) == n {
			return paths
		}
	}
	x := FashionImages(t, n, 3, 28, 28)
	paths := make([]string, n)
	for i := range paths {
		img := image.NewRGBA(image.Rect(0, 0, 28, 28))
		for p := range 28 * 28 {
			for k := range 3 {
				img.Pix[4*p+k] = uint8(math.Round(float64(x.Data[(i*28*28+p)*3+k]+1) * 127.5))
			}
			img.Pix[4*p+3] = 255
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("picture_%d.png", i))
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(paths[i], buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// SaveModel writes a model file with the given preprocessing mode and class names c0, c1, ...
func SaveModel(t testing.TB, path string, g *model.Graph, w model.Weights, mode string) {
	t.Helper()
	SavePreprocessed(t, path, g, w, modelfile.Preprocessing{Mode: mode, InputSize: g.Input, Interpolation: "bilinear"})
}

// SavePreprocessed is SaveModel with the whole preprocessing record given.
func SavePreprocessed(t testing.TB, path string, g *model.Graph, w model.Weights, p modelfile.Preprocessing) {
	t.Helper()
	shapes, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	cm := map[string]int{}
	for i := range shapes[g.Output][0] {
		cm[fmt.Sprintf("c%d", i)] = i
	}
	mf := &modelfile.File{Graph: g, Weights: w, Classmap: cm, Preprocessing: p}
	if err := modelfile.Save(path, mf, ""); err != nil {
		t.Fatal(err)
	}
}
