package train

import (
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
)

// writeImageFolder writes a folder-per-class set of size×size PNGs: class 0 ("left") is bright
// on the left and reddish, class 1 ("right") bright on the right and bluish, with per-pixel
// noise, so a tiny CNN can learn it.
func writeImageFolder(t *testing.T, dir string, perClass, size int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for c, name := range []string{"left", "right"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < perClass; i++ {
			img := image.NewRGBA(image.Rect(0, 0, size, size))
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					bright := (x < size/2) == (c == 0)
					v := 40 + rng.IntN(60)
					if bright {
						v += 120
					}
					r, b := uint8(v), uint8(60)
					if c == 1 {
						r, b = b, r
					}
					img.Set(x, y, color.RGBA{r, uint8(v / 2), b, 255})
				}
			}
			f, err := os.Create(filepath.Join(dir, name, "img"+string(rune('a'+i/26))+string(rune('a'+i%26))+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

// tinyCNN is conv-BN-relu-pool-dense on 3×size×size input.
func tinyCNN(size, classes int) *model.Graph {
	return &model.Graph{Arch: "tiny", Input: [3]int{3, size, size}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput, Block: -1},
		{Name: "conv1", Op: model.OpConv, Inputs: []string{"input_1"}, Filters: 4, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: model.PadSame, Block: 0},
		{Name: "bn_conv1", Op: model.OpBatchNorm, Inputs: []string{"conv1"}, Epsilon: 1e-5, Momentum: 0.9, Block: 0},
		{Name: "relu1", Op: model.OpActivation, Inputs: []string{"bn_conv1"}, Activation: model.ActReLU, Block: 0},
		{Name: "pool", Op: model.OpGlobalAvgPool, Inputs: []string{"relu1"}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"pool"}, Units: classes, UseBias: true, Block: -1},
	}}
}

// memStore keeps checkpoints in memory (deep copies) and writes a marker file for each.
type memStore struct {
	mu    sync.Mutex
	saved map[string]*Checkpoint
}

func (s *memStore) save(path string, c *Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saved == nil {
		s.saved = map[string]*Checkpoint{}
	}
	cp := *c
	cp.Weights = cloneWeights(c.Weights)
	cp.Optimizer = cloneWeights(c.Optimizer)
	s.saved[path] = &cp
	return os.WriteFile(path, []byte("checkpoint"), 0o644)
}

func cloneWeights[M ~map[string]*model.Tensor](w M) M {
	out := M{}
	for k, t := range w {
		out[k] = &model.Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
	}
	return out
}

func openEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// loaders returns train and val loaders over a dataset folder.
func loaders(t *testing.T, dir string, size, batch int, seed int64) (*loader.Loader, *loader.Loader, []string) {
	t.Helper()
	ds, err := data.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]loader.Item, len(ds.Samples))
	for i, s := range ds.Samples {
		items[i] = loader.Item{Path: s.Path, Label: s.Label}
	}
	base := loader.Options{Height: size, Width: size, Channels: 3, PreprocessMode: "torch", BatchSize: batch, Seed: seed, Workers: 2, Cache: true}
	trainOpts := base
	trainOpts.Shuffle, trainOpts.HorizontalFlip = true, false
	tl, err := loader.New(items, len(ds.Classes), trainOpts)
	if err != nil {
		t.Fatal(err)
	}
	vl, err := loader.New(items, len(ds.Classes), base)
	if err != nil {
		t.Fatal(err)
	}
	return tl, vl, ds.Classes
}
