package arch

import (
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestVGGPublishedParamCounts: with retain_head, use_pooling and conv biases TAO's VGG is the
// paper's configuration D/E, which Keras Applications (keras.io/api/applications/vgg, model
// summaries) and torchvision (pytorch.org/vision/stable/models) count as vgg16 138,357,544 and
// vgg19 143,667,240. With batch norm torchvision's vgg16_bn / vgg19_bn have 138,365,992 /
// 143,678,248 (BN gamma and beta; our trainable count).
func TestVGGPublishedParamCounts(t *testing.T) {
	for _, c := range []struct {
		depth int
		bn    bool
		want  int
	}{
		{16, false, 138_357_544},
		{19, false, 143_667_240},
		{16, true, 138_365_992},
		{19, true, 143_678_248},
	} {
		cfg := Config{Arch: "vgg", NLayers: c.depth, InputSize: [3]int{3, 224, 224}, NumClasses: 1000,
			UseBias: true, UsePooling: true, RetainHead: true, Dropout: 0.5, UseBatchNorm: c.bn}
		s := summarize(t, mustBuild(t, cfg))
		if s.Trainable != c.want {
			t.Errorf("vgg%d bn=%v: trainable %d, want %d", c.depth, c.bn, s.Trainable, c.want)
		}
	}
}

func TestVGGShapesAndNames(t *testing.T) {
	for _, c := range []struct {
		input   [3]int
		pooling bool
		last    model.Shape
	}{
		{[3]int{3, 224, 224}, true, model.Shape{14, 14, 512}},
		{[3]int{3, 224, 224}, false, model.Shape{14, 14, 512}},
		{[3]int{3, 64, 96}, true, model.Shape{4, 6, 512}},
		{[3]int{1, 32, 48}, false, model.Shape{2, 3, 512}},
	} {
		g := mustBuild(t, Config{Arch: "vgg", NLayers: 19, InputSize: c.input, NumClasses: 3, UsePooling: c.pooling, FreezeBlocks: []int{1, 5}})
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes["block_5d_relu"]; !slices.Equal(got, c.last) {
			t.Errorf("%v pooling=%v: block_5d_relu %v, want %v", c.input, c.pooling, got, c.last)
		}
		idx := g.Index()
		if (idx["block1_pool"] != nil) != c.pooling || idx["block5_pool"] != nil {
			t.Errorf("pooling=%v: wrong pool layers", c.pooling)
		}
		if !idx["block_1b_conv_1"].Frozen || !idx["block_5a_conv_1"].Frozen || idx["block_3a_conv_1"].Frozen {
			t.Error("freeze_blocks 1 5 not applied to the right convs")
		}
	}
}
