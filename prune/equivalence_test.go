package prune

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// everyArch lists every registered arch at its smallest depth (0 where it has none).
func everyArch() []arch.Config {
	var out []arch.Config
	for _, s := range arch.Archs() {
		name, _, _ := strings.Cut(s, " ")
		depths := arch.Depths(name)
		if len(depths) == 0 {
			depths = []int{0}
		}
		out = append(out, arch.Config{Arch: name, NLayers: depths[0]})
	}
	return out
}

// TestZeroThresholdKeepsEverything: -pth 0 leaves every architecture's graph and weights as they
// are (random weights have no zero filter, and 'above' is strict).
func TestZeroThresholdKeepsEverything(t *testing.T) {
	for _, cfg := range everyArch() {
		g := build(t, cfg)
		w := randomWeights(t, g, 5)
		opts := DefaultOptions()
		opts.Threshold = 0
		res, err := Prune(g, w, opts)
		if err != nil {
			t.Fatalf("%s%d: %v", cfg.Arch, cfg.NLayers, err)
		}
		if !reflect.DeepEqual(res.Graph, g) {
			t.Errorf("%s%d: graph changed at pth 0", cfg.Arch, cfg.NLayers)
		}
		if !sameWeights(res.Weights, w) {
			t.Errorf("%s%d: weights changed at pth 0", cfg.Arch, cfg.NLayers)
		}
		if res.Ratio() != 1 {
			t.Errorf("%s%d: ratio %v at pth 0", cfg.Arch, cfg.NLayers, res.Ratio())
		}
	}
}

// equivalenceCases are one configuration of every family plus the variants whose wiring differs
// (identity vs projection shortcuts, bottlenecks, no batch norm, the templates' own heads).
var equivalenceCases = []struct {
	cfg  arch.Config
	noBN bool
	// headScale scales the predictions kernel (deep random nets saturate the softmax otherwise).
	headScale float32
}{
	{cfg: arch.Config{Arch: "resnet", NLayers: 10}},
	{cfg: arch.Config{Arch: "resnet", NLayers: 18, AllProjections: true}},
	{cfg: arch.Config{Arch: "resnet", NLayers: 50}},
	{cfg: arch.Config{Arch: "resnet", NLayers: 10, UseBias: true}, noBN: true},
	{cfg: arch.Config{Arch: "vgg", NLayers: 16, UsePooling: true}},
	{cfg: arch.Config{Arch: "mobilenet_v1"}},
	{cfg: arch.Config{Arch: "mobilenet_v2"}},
	{cfg: arch.Config{Arch: "mobilenet_v2", AllProjections: true, Activation: "relu6"}},
	{cfg: arch.Config{Arch: "googlenet"}},
	{cfg: arch.Config{Arch: "darknet", NLayers: 19}},
	{cfg: arch.Config{Arch: "darknet", NLayers: 53}, headScale: 0.05},
	{cfg: arch.Config{Arch: "cspdarknet", NLayers: 19}},
	{cfg: arch.Config{Arch: "cspdarknet", NLayers: 53}},
	{cfg: arch.Config{Arch: "cspdarknet_tiny"}},
	{cfg: arch.Config{Arch: "efficientnet_b0"}},
	{cfg: arch.Config{Arch: "efficientnet_b1"}},
	{cfg: arch.Config{Arch: "cspdarknet_tiny", RetainHead: true}},
	{cfg: arch.Config{Arch: "squeezenet"}, noBN: true},
	{cfg: arch.Config{Arch: "squeezenet", RetainHead: true}, noBN: true},
	{cfg: arch.Config{Arch: "alexnet"}, noBN: true},
	// TAO's symmetric padding: every conv and pool pads both sides, avg pools count padding.
	{cfg: arch.Config{Arch: "resnet", NLayers: 10, UsePooling: true, Padding: model.PaddingTAO}},
	{cfg: arch.Config{Arch: "darknet", NLayers: 19, Padding: model.PaddingTAO}},
}

// TestPrunedEqualsZeroedOriginal runs every family on the pure-Go engine: the pruned model must
// give the same softmax outputs as the original whose removed channels are zeroed.
// efficientnet_b2..b7 are b0/b1's wiring at other widths and depths; the pth-0 test builds them.
func TestPrunedEqualsZeroedOriginal(t *testing.T) {
	eng, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range equivalenceCases {
		cfg := c.cfg
		name := cfg.Arch
		if cfg.NLayers > 0 {
			name += fmt.Sprint(cfg.NLayers)
		}
		covered[strings.TrimRight(cfg.Arch, "01234567")] = true
		cfg.InputSize = [3]int{3, 32, 32}
		cfg.NumClasses = 7
		cfg.UseBatchNorm = !c.noBN
		g, err := arch.Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := randomWeights(t, g, 11)
		if c.headScale != 0 {
			for i := range w[g.Output+"/kernel"].Data {
				w[g.Output+"/kernel"].Data[i] *= c.headScale
			}
		}
		opts := DefaultOptions()
		opts.Threshold = 0.3
		opts.MinFilters = 8
		res := checkEquivalent(t, eng, name, g, w, opts, 0.9)
		if res.Graph.PaddingMode() != g.PaddingMode() {
			t.Errorf("%s: pruning changed the padding mode from %s to %s", name, g.PaddingMode(), res.Graph.PaddingMode())
		}
	}
	for _, cfg := range everyArch() {
		if !covered[strings.TrimRight(cfg.Arch, "01234567")] {
			t.Errorf("family %s has no equivalence case", cfg.Arch)
		}
	}
}

// TestFlattenMaskEquivalence: a conv -> pool -> flatten -> dense -> dense model, where the
// flatten carries a 4x4 spatial map, so the kept channels become tiled dense rows.
func TestFlattenMaskEquivalence(t *testing.T) {
	eng, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	g := &model.Graph{Input: [3]int{3, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput},
		{Name: "conv", Op: model.OpConv, Inputs: []string{"input_1"}, Filters: 32, Kernel: [2]int{3, 3}, Padding: model.PadSame, UseBias: true},
		{Name: "bn", Op: model.OpBatchNorm, Inputs: []string{"conv"}, Epsilon: 1e-3, Momentum: 0.9},
		{Name: "relu", Op: model.OpActivation, Inputs: []string{"bn"}, Activation: model.ActReLU},
		{Name: "pool", Op: model.OpMaxPool, Inputs: []string{"relu"}, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: model.PadValid},
		{Name: "flatten", Op: model.OpFlatten, Inputs: []string{"pool"}},
		{Name: "fc", Op: model.OpDense, Inputs: []string{"flatten"}, Units: 40, UseBias: true},
		{Name: "fc_relu", Op: model.OpActivation, Inputs: []string{"fc"}, Activation: model.ActReLU},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"fc_relu"}, Units: 7, UseBias: true},
	}}
	opts := DefaultOptions()
	opts.Threshold = 0.3
	opts.MinFilters = 8
	res := checkEquivalent(t, eng, "conv-flatten-dense", g, randomWeights(t, g, 12), opts, 0.8)
	if k := res.Weights["fc/kernel"]; k.Shape[0] != 16*res.Graph.Index()["conv"].Filters {
		t.Errorf("fc kernel %v: want 16 rows per kept conv channel (%d)", k.Shape, res.Graph.Index()["conv"].Filters)
	}
	if p := res.Graph.Index()["predictions"]; p.Units != 7 {
		t.Errorf("predictions units %d, the output layer must keep its 7 classes", p.Units)
	}
}

// checkEquivalent prunes g and compares the pruned model's outputs with the zeroed original's.
func checkEquivalent(t *testing.T, eng *engine.Engine, name string, g *model.Graph, w model.Weights, opts Options, maxRatio float64) *Result {
	t.Helper()
	start := time.Now()
	res, err := Prune(g, w, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.Ratio() > maxRatio {
		t.Errorf("%s: ratio %.3f, the weakened filters should have gone", name, res.Ratio())
	}
	kept, err := KeptChannels(g, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	x := images(g, 2, 1)
	want := predict(t, eng, g, zeroRemoved(g, w, kept), x)
	got := predict(t, eng, res.Graph, res.Weights, x)
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: pruned output shape %v, original %v (the classes must stay)", name, got.Shape, want.Shape)
	}
	classes := float64(want.Shape[1])
	spread := 0.0
	for i := range want.Data {
		spread = math.Max(spread, math.Abs(float64(want.Data[i])-1/classes))
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 2e-5 {
			t.Errorf("%s: output %d: pruned %g, zeroed original %g", name, i, got.Data[i], want.Data[i])
			break
		}
	}
	if spread < 1e-3 || spread > 0.85 {
		t.Errorf("%s: outputs %v are too flat or saturated to compare", name, want.Data)
	}
	t.Logf("%s: ratio %.3f, max |p-1/k| %.3f (%v)", name, res.Ratio(), spread, time.Since(start).Round(time.Millisecond))
	return res
}

func sameWeights(a, b model.Weights) bool {
	if len(a) != len(b) {
		return false
	}
	for k, t := range a {
		u := b[k]
		if u == nil || !slices.Equal(t.Shape, u.Shape) || !slices.Equal(t.Data, u.Data) {
			return false
		}
	}
	return true
}

func predict(t *testing.T, eng *engine.Engine, g *model.Graph, w model.Weights, x *model.Tensor) *model.Tensor {
	t.Helper()
	m, err := eng.NewModel(g, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
