package prune

import (
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// convBNGraph is input 8x8x3 -> conv(32) -> bn -> relu -> global average pool -> dense(4).
func convBNGraph() *model.Graph {
	return &model.Graph{Input: [3]int{3, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input", Op: model.OpInput, Block: -1},
		{Name: "conv", Op: model.OpConv, Inputs: []string{"input"}, Filters: 32, Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Padding: "same", Block: -1},
		{Name: "bn", Op: model.OpBatchNorm, Inputs: []string{"conv"}, Epsilon: 1e-3, Momentum: 0.9, Block: -1},
		{Name: "relu", Op: model.OpActivation, Inputs: []string{"bn"}, Activation: "relu", Block: -1},
		{Name: "gap", Op: model.OpGlobalAvgPool, Inputs: []string{"relu"}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"gap"}, Units: 4, Block: -1},
	}}
}

// TestCriterionBNSeesFadedGammas: every filter has the same kernel norm, but 24 of the 32
// channels have |gamma| 0.05: TAO's kernel statistic keeps them all, the gamma one removes them.
// A large moving variance alone removes nothing.
func TestCriterionBNSeesFadedGammas(t *testing.T) {
	g := convBNGraph()
	w := randomWeights(t, g, 3)
	k := w["conv/kernel"]
	for i := range k.Data {
		k.Data[i] = 0.1 // all filters equal
	}
	gamma, variance := w["bn/gamma"], w["bn/moving_variance"]
	for c := range 32 {
		gamma.Data[c], variance.Data[c] = 1, 1
		switch {
		case c < 4:
			variance.Data[c] = 400
		case c >= 8 && c < 20:
			gamma.Data[c] = -0.05 // the sign does not matter
		case c >= 20:
			gamma.Data[c] = 0.05
		}
	}
	opts := Options{Threshold: 0.5, Granularity: 1, MinFilters: 1}
	for _, c := range []struct {
		criterion string
		kept      int
	}{{CriterionKernel, 32}, {CriterionBN, 8}} {
		opts.Criterion = c.criterion
		res, err := Prune(g, w, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Graph.Index()["conv"].Filters; got != c.kept {
			t.Errorf("criterion %s: kept %d filters, want %d", c.criterion, got, c.kept)
		}
	}
	opts.Criterion = "gamma"
	if _, err := Prune(g, w, opts); err == nil || !strings.Contains(err.Error(), `criterion "gamma": want kernel or bn`) {
		t.Errorf("unknown criterion: %v", err)
	}
}
