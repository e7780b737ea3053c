package train

import (
	"testing"
)

func TestApplyModelConfig(t *testing.T) {
	g := tinyCNN(16, 2)
	ApplyModelConfig(g, []int{0}, true, 0.99, 1e-3)
	idx := g.Index()
	if !idx["conv1"].Frozen || !idx["bn_conv1"].FrozenBN || idx["bn_conv1"].Momentum != 0.99 || idx["predictions"].Frozen {
		t.Errorf("freeze/BN config not applied: %+v %+v", idx["conv1"], idx["bn_conv1"])
	}
}
