package arch

import (
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestSqueezeNetTorchvisionCount: TAO's SqueezeNet with its own head (retain_head: conv10 to
// 1000 classes) is torchvision's squeezenet1_0, 1,248,424 parameters
// (pytorch.org/vision/stable/models).
func TestSqueezeNetTorchvisionCount(t *testing.T) {
	s := summarize(t, mustBuild(t, Config{Arch: "squeezenet", InputSize: [3]int{3, 224, 224}, NumClasses: 1000, RetainHead: true}))
	if s.TotalParams != 1_248_424 {
		t.Errorf("params %d, want 1,248,424", s.TotalParams)
	}
}

// TestAlexNetHandCount: TAO's AlexNet has no groups and no pool5, so no published count
// applies; kernels and biases by hand, plus TAO's dense head on conv5's 256 channels.
func TestAlexNetHandCount(t *testing.T) {
	convs := 11*11*3*96 + 96 + 5*5*96*256 + 256 + 3*3*256*384 + 384 + 3*3*384*384 + 384 + 3*3*384*256 + 256
	s := summarize(t, mustBuild(t, Config{Arch: "alexnet", InputSize: [3]int{3, 224, 224}, NumClasses: 10}))
	if want := convs + 256*10 + 10; s.TotalParams != want {
		t.Errorf("params %d, want %d", s.TotalParams, want)
	}
	// retain_head: flatten 14x14x256 (no pool5) -> fc6, fc7 (4096) -> head_fc8.
	g := mustBuild(t, Config{Arch: "alexnet", InputSize: [3]int{3, 224, 224}, NumClasses: 10, RetainHead: true, FreezeBlocks: []int{1, 7}})
	sr := summarize(t, g)
	fcs := 14*14*256*4096 + 4096 + 4096*4096 + 4096 + 4096*10 + 10
	if sr.TotalParams != convs+fcs {
		t.Errorf("retain_head params %d, want %d", sr.TotalParams, convs+fcs)
	}
	idx := g.Index()
	if !idx["conv1"].Frozen || !idx["fc7"].Frozen || idx["fc6"].Frozen || idx["conv2"].Frozen {
		t.Error("freeze_blocks 1 7 should freeze conv1 and fc7 only")
	}
}

func TestSqueezeNetShapes(t *testing.T) {
	for _, c := range []struct {
		input [3]int
		want  model.Shape
	}{
		{[3]int{3, 224, 224}, model.Shape{14, 14, 512}},
		{[3]int{3, 64, 96}, model.Shape{4, 6, 512}},
		{[3]int{1, 32, 32}, model.Shape{2, 2, 512}},
	} {
		g := mustBuild(t, Config{Arch: "squeezenet", InputSize: c.input, NumClasses: 5})
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes["fire9"]; !slices.Equal(got, c.want) {
			t.Errorf("%v: fire9 %v, want %v", c.input, got, c.want)
		}
	}
}
