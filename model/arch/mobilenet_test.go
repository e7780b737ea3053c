package arch

import (
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestMobileNetPublishedParamCounts compares with Keras Applications' model summaries
// (keras.io/api/applications/mobilenet): MobileNet (alpha 1.0, 224, include_top) total
// 4,253,864 / trainable 4,231,976; MobileNetV2 total 3,538,984 / trainable 3,504,872 (the
// trainable count is also torchvision's mobilenet_v2, 3,504,872). Keras' top is a 1x1 conv or a
// dense layer from the pooled features to 1000 classes with a bias: the same count as TAO's head.
func TestMobileNetPublishedParamCounts(t *testing.T) {
	for _, c := range []struct {
		arch             string
		total, trainable int
	}{
		{"mobilenet_v1", 4_253_864, 4_231_976},
		{"mobilenet_v2", 3_538_984, 3_504_872},
	} {
		s := summarize(t, mustBuild(t, Config{Arch: c.arch, InputSize: [3]int{3, 224, 224}, NumClasses: 1000, UseBatchNorm: true}))
		if s.TotalParams != c.total || s.Trainable != c.trainable {
			t.Errorf("%s: total %d trainable %d, want %d and %d", c.arch, s.TotalParams, s.Trainable, c.total, c.trainable)
		}
	}
}

// TestMobileNetPaperWidths checks the MobileNet paper's Table 6 (Howard et al. 2017,
// arXiv:1704.04861): width 1.0 -> 569 M mult-adds, 4.2 M params; 0.75 -> 325 M, 2.6 M;
// 0.5 -> 149 M, 1.3 M; 0.25 -> 41 M, 0.5 M (224x224, 1000 classes; parameters without BN).
// And the MobileNetV2 paper's Table 4 (Sandler et al. 2018): 300 M mult-adds, 3.4 M params.
func TestMobileNetPaperWidths(t *testing.T) {
	for _, c := range []struct {
		arch       string
		width      float32
		macs, prms float64 // millions, as rounded in the paper
	}{
		{"mobilenet_v1", 1, 569, 4.2},
		{"mobilenet_v1", 0.75, 325, 2.6},
		{"mobilenet_v1", 0.5, 149, 1.3},
		{"mobilenet_v1", 0.25, 41, 0.5},
		{"mobilenet_v2", 1, 300, 3.4},
	} {
		s := summarize(t, mustBuild(t, Config{Arch: c.arch, InputSize: [3]int{3, 224, 224}, NumClasses: 1000, WidthMultiplier: c.width}))
		macs, prms := float64(s.MACs)/1e6, float64(s.TotalParams)/1e6
		// The paper rounds; allow 1.5% on mult-adds and half a unit of the last digit plus 0.1 M.
		if macs < c.macs*0.985 || macs > c.macs*1.015 || prms < c.prms-0.15 || prms > c.prms+0.15 {
			t.Errorf("%s width %g: %.1f M mult-adds, %.2f M params; paper %g M, %g M", c.arch, c.width, macs, prms, c.macs, c.prms)
		}
	}
}

func TestMobileNetShapes(t *testing.T) {
	for _, c := range []struct {
		arch, last string
		input      [3]int
		want       model.Shape
	}{
		{"mobilenet_v1", "conv_pw_relu_13", [3]int{3, 224, 224}, model.Shape{7, 7, 1024}},
		{"mobilenet_v1", "conv_pw_relu_13", [3]int{3, 64, 96}, model.Shape{2, 3, 1024}},
		{"mobilenet_v1", "conv_pw_relu_13", [3]int{1, 32, 32}, model.Shape{1, 1, 1024}},
		{"mobilenet_v2", "re_lu_head", [3]int{3, 224, 224}, model.Shape{7, 7, 1280}},
		{"mobilenet_v2", "re_lu_head", [3]int{3, 96, 160}, model.Shape{3, 5, 1280}},
		{"mobilenet_v2", "re_lu_head", [3]int{1, 32, 32}, model.Shape{1, 1, 1280}},
	} {
		g := mustBuild(t, Config{Arch: c.arch, InputSize: c.input, NumClasses: 10, UseBatchNorm: true})
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes[c.last]; !slices.Equal(got, c.want) {
			t.Errorf("%s %v: %s %v, want %v", c.arch, c.input, c.last, got, c.want)
		}
	}
}

func TestMobileNetV2AllProjectionsAndFreeze(t *testing.T) {
	cfg := Config{Arch: "mobilenet_v2", InputSize: [3]int{3, 64, 64}, NumClasses: 2, UseBatchNorm: true, FreezeBlocks: []int{0, 3, 18}}
	plain := mustBuild(t, cfg)
	cfg.AllProjections = true
	proj := mustBuild(t, cfg)
	adds, projected := 0, 0
	for _, l := range proj.Layers {
		if l.Op == model.OpAdd {
			adds++
		}
		if strings.HasSuffix(l.Name, "_projected_inputs") {
			projected++
		}
	}
	// Residual blocks: 2, 4, 5, 7, 8, 9, 11, 12, 14, 15 (same width, stride 1).
	if adds != 10 || projected != 10 {
		t.Errorf("%d adds and %d projections, want 10 each", adds, projected)
	}
	if len(proj.Layers) != len(plain.Layers)+10 {
		t.Errorf("all_projections added %d layers", len(proj.Layers)-len(plain.Layers))
	}
	idx := proj.Index()
	for name, want := range map[string]bool{"conv1": true, "block_2_expand": true, "block_2_depthwise": true,
		"block_2_projected_inputs": true, "conv_1": true, "block_1_expand": false, "bn_conv1": false} {
		if idx[name].Frozen != want {
			t.Errorf("%s frozen %v, want %v", name, idx[name].Frozen, want)
		}
	}
}

// TestMobileNetV1HeadDropoutAsTAO: TAO's retain_head head has a dropout layer of rate 0,
// whatever model_config.dropout says.
func TestMobileNetV1HeadDropoutAsTAO(t *testing.T) {
	g := mustBuild(t, Config{Arch: "mobilenet_v1", InputSize: [3]int{3, 224, 224}, NumClasses: 3, RetainHead: true, Dropout: 0.5})
	if l := g.Index()["dropout"]; l == nil || l.Op != model.OpDropout || l.Rate != 0 {
		t.Fatalf("head dropout %+v, want a Dropout layer of rate 0", l)
	}
}

func TestMakeDivisible(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want int
	}{{32, 32}, {16, 16}, {24 * 0.5, 16}, {8, 8}, {3, 8}, {96 * 0.35, 32}, {1280 * 1.4, 1792}} {
		if got := makeDivisible(c.v, 8); got != c.want {
			t.Errorf("makeDivisible(%g) = %d, want %d", c.v, got, c.want)
		}
	}
}
