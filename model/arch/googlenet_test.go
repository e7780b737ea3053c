package arch

import (
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestGoogLeNetTorchvisionCount: torchvision's googlenet (pytorch.org/vision/stable/models,
// IMAGENET1K_V1: 6,624,904 params, BN and bias-free convs, no aux heads, fc 1024->1000) has
// TAO's topology except that its "5x5" branch uses 3x3 kernels. TAO's trainable count minus
// (25-9) weights per 5x5_reduce x 5x5 channel pair must equal torchvision's.
func TestGoogLeNetTorchvisionCount(t *testing.T) {
	g := mustBuild(t, Config{Arch: "googlenet", InputSize: [3]int{3, 224, 224}, NumClasses: 1000, UseBatchNorm: true})
	s := summarize(t, g)
	extra := 0
	for _, blk := range googlenetBlocks {
		extra += (25 - 9) * blk.branches[3] * blk.branches[4]
	}
	if s.Trainable-extra != 6_624_904 {
		t.Errorf("trainable %d - 5x5 extra %d = %d, want torchvision's 6,624,904", s.Trainable, extra, s.Trainable-extra)
	}
}

func TestGoogLeNetShapesAndNames(t *testing.T) {
	for _, c := range []struct {
		input [3]int
		want  model.Shape
	}{
		{[3]int{3, 224, 224}, model.Shape{14, 14, 1024}},
		{[3]int{3, 64, 96}, model.Shape{4, 6, 1024}},
		{[3]int{1, 32, 32}, model.Shape{2, 2, 1024}},
	} {
		g := mustBuild(t, Config{Arch: "googlenet", InputSize: c.input, NumClasses: 4, UseBatchNorm: true, FreezeBlocks: []int{0, 9}})
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes["inception_5b_output"]; !slices.Equal(got, c.want) {
			t.Errorf("%v: inception_5b_output %v, want %v", c.input, got, c.want)
		}
		idx := g.Index()
		for name, frozen := range map[string]bool{"conv2": true, "inception_5b_5x5": true, "inception_5a_1x1": false, "inception_5b_5x5_bn": false} {
			if idx[name] == nil || idx[name].Frozen != frozen {
				t.Errorf("%s: missing or frozen != %v", name, frozen)
			}
		}
	}
	g := mustBuild(t, Config{Arch: "googlenet", InputSize: [3]int{3, 224, 224}, NumClasses: 4, RetainHead: true})
	shapes, _ := g.Shapes()
	if !slices.Equal(shapes["flatten"], model.Shape{7 * 7 * 1024}) || g.Output != "output_fc" {
		t.Errorf("retain_head: flatten %v output %q", shapes["flatten"], g.Output)
	}
}
