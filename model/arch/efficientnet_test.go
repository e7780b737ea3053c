package arch

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestEfficientNetPublishedCounts: torchvision's efficientnet_b0 / b1 have 5,288,548 /
// 7,794,184 parameters (pytorch.org/vision/stable/models), equal to the trainable counts of
// Keras Applications' EfficientNetB0 / B1, whose totals (5,330,571 / 7,856,239) add the BN
// moving statistics and 7 statistics of Keras' input Normalization layer, which TAO lacks.
// The paper (Tan & Le 2019, Table 2) gives B0 0.39 B and B1 0.70 B FLOPs (mult-adds) at 224 and
// 240.
func TestEfficientNetPublishedCounts(t *testing.T) {
	for _, c := range []struct {
		arch             string
		size             int
		trainable, total int
		macsB            float64
	}{
		{"efficientnet_b0", 224, 5_288_548, 5_330_571 - 7, 0.39},
		{"efficientnet_b1", 240, 7_794_184, 7_856_239 - 7, 0.70},
	} {
		s := summarize(t, mustBuild(t, Config{Arch: c.arch, InputSize: [3]int{3, c.size, c.size}, NumClasses: 1000}))
		if s.Trainable != c.trainable || s.TotalParams != c.total {
			t.Errorf("%s: trainable %d total %d, want %d and %d", c.arch, s.Trainable, s.TotalParams, c.trainable, c.total)
		}
		if b := float64(s.MACs) / 1e9; b < c.macsB*0.97 || b > c.macsB*1.03 {
			t.Errorf("%s: %.3f B mult-adds, paper %.2f", c.arch, b, c.macsB)
		}
	}
}

// TestEfficientNetB2toB7TorchvisionCounts: torchvision efficientnet_b2..b7 (pytorch.org/vision/
// stable/models) have 9,109,994 / 12,233,232 / 19,341,616 / 30,389,784 / 43,040,704 / 66,347,960
// parameters. The counts do not depend on the input size.
func TestEfficientNetB2toB7TorchvisionCounts(t *testing.T) {
	for arch, want := range map[string]int{
		"efficientnet_b2": 9_109_994, "efficientnet_b3": 12_233_232, "efficientnet_b4": 19_341_616,
		"efficientnet_b5": 30_389_784, "efficientnet_b6": 43_040_704, "efficientnet_b7": 66_347_960,
	} {
		s := summarize(t, mustBuild(t, Config{Arch: arch, InputSize: [3]int{3, 64, 64}, NumClasses: 1000}))
		if s.Trainable != want {
			t.Errorf("%s: trainable %d, want %d", arch, s.Trainable, want)
		}
	}
}

func TestEfficientNetStructure(t *testing.T) {
	g := mustBuild(t, Config{Arch: "efficientnet_b0", InputSize: [3]int{3, 64, 96}, NumClasses: 3, FreezeBlocks: []int{2, 8}})
	shapes, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if got := shapes["top_activation"]; !slices.Equal(got, model.Shape{2, 3, 1280}) {
		t.Errorf("top_activation %v", got)
	}
	idx := g.Index()
	// Even input, kernel 5, stride 2: Keras' correct_pad pads 1 before and 2 after.
	if p := idx["block3a_dwconv_pad"].Pad; p != [4]int{1, 2, 1, 2} {
		t.Errorf("block3a_dwconv_pad %v", p)
	}
	if idx["block1a_add"] != nil || idx["block2b_add"] == nil || idx["block2b_drop"].Op != model.OpDropPath {
		t.Error("residual adds / drop-connect misplaced")
	}
	// Drop-connect grows linearly: block index 2 of 16 -> 0.2*2/16.
	if r := idx["block2b_drop"].Rate; r < 0.0249 || r > 0.0251 {
		t.Errorf("block2b drop rate %g, want 0.025", r)
	}
	if idx["block2b_se_excite"].Op != model.OpMultiply || !slices.Equal(shapes["block2b_se_squeeze"], model.Shape{1, 1, 144}) {
		t.Error("squeeze-and-excitation wiring")
	}
	for _, l := range g.Layers {
		frozenBlock := l.Block == 2 || l.Block == 8
		isConv := l.Op == model.OpConv || l.Op == model.OpDepthwiseConv
		if l.Frozen != (frozenBlock && isConv) {
			t.Errorf("%s (block %d) frozen %v", l.Name, l.Block, l.Frozen)
		}
		if l.Op == model.OpActivation && !strings.Contains(l.Name, "se_expand") && l.Activation != model.ActSwish {
			t.Errorf("%s: activation %s, want swish", l.Name, l.Activation)
		}
	}
	relu := mustBuild(t, Config{Arch: "efficientnet_b1", InputSize: [3]int{3, 32, 32}, NumClasses: 3, Activation: "relu"})
	if a := relu.Index()["stem_activation"].Activation; a != model.ActReLU {
		t.Errorf("activation_type relu gave %s", a)
	}
}

// TestEfficientNetDropConnectAsTAO: TAO divides the block index by B0's 16 blocks whatever the
// variant. B1 repeats ceil(1.1*[1 2 2 3 3 4 1]) = [2 3 3 4 4 5 2] = 23 blocks; its last, block7b,
// is block 22: 0.2*22/16 = 0.275 (Keras Applications: 0.2*22/23 = 0.191); block3a is block 5:
// 0.2*5/16 = 0.0625 (block3a has no residual, so no drop layer: check block3b, block 6, 0.075).
func TestEfficientNetDropConnectAsTAO(t *testing.T) {
	idx := mustBuild(t, Config{Arch: "efficientnet_b1", InputSize: [3]int{3, 32, 32}, NumClasses: 3}).Index()
	for name, want := range map[string]float32{"block7b_drop": 0.275, "block3b_drop": 0.075, "block1b_drop": 0.0125} {
		l := idx[name]
		if l == nil || l.Op != model.OpDropPath {
			t.Fatalf("%s missing", name)
		}
		if math.Abs(float64(l.Rate-want)) > 1e-6 {
			t.Errorf("%s rate %g, want %g", name, l.Rate, want)
		}
	}
}
