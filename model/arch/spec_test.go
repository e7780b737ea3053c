package arch

import (
	"path/filepath"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/spec"
)

func loadSpec(t *testing.T, name string) *spec.Experiment {
	t.Helper()
	e, err := spec.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBuildFromTAOSampleSpec builds TAO's sample spec model and checks the count TAO printed for
// it (see TestResNet18TAOSampleSpecCount) and the freeze_blocks it sets.
func TestBuildFromTAOSampleSpec(t *testing.T) {
	g, err := BuildFromSpec(loadSpec(t, "resnet18_sample.cfg"), 2)
	if err != nil {
		t.Fatal(err)
	}
	total, _, err := g.ParamCount()
	if err != nil || total != 11_543_490 {
		t.Fatalf("params %d (%v), want 11,543,490", total, err)
	}
	idx := g.Index()
	if !idx["conv1"].Frozen || !idx["block_1b_conv_2"].Frozen || idx["block_2a_conv_1"].Frozen {
		t.Error("freeze_blocks 0 1 not applied")
	}
	if bn := idx["bn_conv1"]; bn.Momentum != 0.9 || bn.Epsilon != 1e-5 {
		t.Errorf("default batch_norm_config: momentum %g epsilon %g", bn.Momentum, bn.Epsilon)
	}
}

func TestFromSpecOptions(t *testing.T) {
	cfg, err := FromSpec(loadSpec(t, "cspdarknet_mish.cfg"), 7)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Arch != "cspdarknet" || cfg.NLayers != 53 || cfg.InputSize != [3]int{1, 96, 128} || cfg.NumClasses != 7 ||
		!cfg.FreezeBN || cfg.Activation != "mish" || cfg.BNMomentum != 0.99 || cfg.BNEpsilon != 0.001 {
		t.Fatalf("config %+v", cfg)
	}
	g := mustBuild(t, cfg)
	idx := g.Index()
	if a := idx["conv1_mish"]; a.Activation != model.ActMish {
		t.Errorf("conv1_mish is %s", a.Activation)
	}
	if bn := idx["conv1_bn"]; !bn.FrozenBN || bn.Momentum != 0.99 {
		t.Errorf("conv1_bn %+v", bn)
	}
}

// TestPaddingModeNames: the spec's padding_mode values are the graph's padding modes.
func TestPaddingModeNames(t *testing.T) {
	if spec.PaddingTF != model.PaddingTF || spec.PaddingTAO != model.PaddingTAO || spec.PaddingKeras != model.PaddingKeras {
		t.Errorf("spec %q/%q, model %q/%q", spec.PaddingTF, spec.PaddingTAO, model.PaddingTF, model.PaddingTAO)
	}
}
