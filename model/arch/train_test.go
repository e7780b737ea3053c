package arch_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// trainCase is one arch/depth of issue 5's list with a small input that every family accepts.
type trainCase struct {
	arch  string
	depth int
}

// archLR overrides lr for the families without batch norm.
var archLR = map[string]float32{"squeezenet": 0.05, "alexnet": 0.01}

// lr, batch and size keep every family's loss well conditioned (squeezenet and alexnet, which have
// no batch norm, need a larger lr to move at all): with 1x1 or 2x2 final feature
// maps and batch 4, batch norm over 4-16 values makes some losses rise even at lr 1e-5 (their
// gradients check out by finite differences at 128x128).
var (
	lr    float32 = 1e-4
	batch         = 8
	size          = 64
)

var zoo = []trainCase{
	{"resnet", 10}, {"resnet", 18}, {"resnet", 34}, {"resnet", 50}, {"resnet", 101},
	{"vgg", 16}, {"vgg", 19}, {"mobilenet_v1", 0}, {"mobilenet_v2", 0}, {"googlenet", 0},
	{"darknet", 19}, {"darknet", 53}, {"cspdarknet", 19}, {"cspdarknet", 53}, {"cspdarknet_tiny", 0},
	{"efficientnet_b0", 0}, {"efficientnet_b1", 0}, {"squeezenet", 0}, {"alexnet", 0},
}

// tinyBatch is n random size x size RGB images and one-hot labels over classes.
func tinyBatch(n, size, classes int, seed uint64) (*model.Tensor, *model.Tensor) {
	r := rand.New(rand.NewPCG(seed, 1))
	images := model.NewTensor(n, size, size, 3)
	for i := range images.Data {
		images.Data[i] = r.Float32()*2 - 1
	}
	labels := model.NewTensor(n, classes)
	for i := range n {
		labels.Data[i*classes+i%classes] = 1
	}
	return images, labels
}

// quickZoo is the subset TestZooTrainStep runs with -short (a few seconds); the whole zoo takes
// about a minute on 2 quiet cores and runs by default, as in CI.
var quickZoo = []trainCase{{"resnet", 10}, {"googlenet", 0}, {"cspdarknet", 19}, {"cspdarknet_tiny", 0}}

// TestZooTrainStep runs two SGD steps of each arch/depth on the pure-Go backend on one tiny
// batch and checks that the loss on that batch falls (issue 5, item 3). Dropout and drop-connect
// rates are set to 0 so that both steps see the same function.
func TestZooTrainStep(t *testing.T) {
	cases := zoo
	if testing.Short() {
		cases = quickZoo
	}
	eng, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	images, labels := tinyBatch(batch, size, 3, 7)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s%d", c.arch, c.depth), func(t *testing.T) { trainTwoSteps(t, eng, c, images, labels) })
	}
}

func trainTwoSteps(t *testing.T, eng *engine.Engine, c trainCase, images, labels *model.Tensor) {
	{
		start := time.Now()
		g, err := arch.Build(arch.Config{Arch: c.arch, NLayers: c.depth, InputSize: [3]int{3, size, size}, NumClasses: 3, UseBatchNorm: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range g.Layers {
			if l.Op == model.OpDropout || l.Op == model.OpDropPath {
				l.Rate = 0
			}
		}
		m, err := eng.NewModel(g, nil, 1)
		if err != nil {
			t.Fatalf("%s%d: %v", c.arch, c.depth, err)
		}
		tr, err := m.NewTrainer(engine.TrainConfig{Optimizer: "sgd", BatchSize: batch, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		rate := lr
		if r, ok := archLR[c.arch]; ok {
			rate = r
		}
		first, _, err := tr.Step(images, labels, rate)
		if err != nil {
			t.Fatalf("%s%d: step 1: %v", c.arch, c.depth, err)
		}
		second, _, err := tr.Step(images, labels, rate)
		if err != nil {
			t.Fatalf("%s%d: step 2: %v", c.arch, c.depth, err)
		}
		t.Logf("%s%d: loss %.4f -> %.4f (%v)", c.arch, c.depth, first, second, time.Since(start).Round(time.Millisecond))
		if !(second < first-1e-4) {
			t.Errorf("%s%d: loss did not fall: %.4f -> %.4f", c.arch, c.depth, first, second)
		}
	}
}

// BenchmarkZooInference measures inference images/second of every arch/depth at 224x224,
// batch 8, on the backend $BONSAI_BACKEND selects (auto: XLA where a plugin is found, else pure
// Go). Run one family with e.g. -bench 'ZooInference/resnet18$' -benchtime 3x.
func BenchmarkZooInference(b *testing.B) {
	eng, err := engine.Open("")
	if err != nil {
		b.Fatal(err)
	}
	const n, side = 8, 224
	images, _ := tinyBatch(n, side, 3, 1)
	for _, c := range zoo {
		b.Run(fmt.Sprintf("%s%d", c.arch, c.depth), func(b *testing.B) {
			g, err := arch.Build(arch.Config{Arch: c.arch, NLayers: c.depth, InputSize: [3]int{3, side, side}, NumClasses: 1000, UseBatchNorm: true})
			if err != nil {
				b.Fatal(err)
			}
			m, err := eng.NewModel(g, nil, 1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Predict(images); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := m.Predict(images); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
