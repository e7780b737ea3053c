package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
)

// penaltyGraph is input [1,1,2] -> conv 1x1 (2 filters, frozen) -> depthwise 1x1 -> bn -> gap ->
// dense(2): one layer of each type the regularizer scope can name.
func penaltyGraph() *model.Graph {
	return &model.Graph{Input: [3]int{2, 1, 1}, Output: "fc", Layers: []*model.Layer{
		inputLayer(),
		{Name: "conv", Op: model.OpConv, Inputs: []string{"input"}, Filters: 2, Kernel: [2]int{1, 1}, Padding: model.PadSame, Frozen: true, Block: -1},
		{Name: "dw", Op: model.OpDepthwiseConv, Inputs: []string{"conv"}, Kernel: [2]int{1, 1}, Padding: model.PadSame, DepthMultiplier: 1, Block: -1},
		{Name: "bn", Op: model.OpBatchNorm, Inputs: []string{"dw"}, Momentum: 0.9, Epsilon: 1e-3, Block: -1},
		{Name: "gap", Op: model.OpGlobalAvgPool, Inputs: []string{"bn"}, Block: -1},
		{Name: "fc", Op: model.OpDense, Inputs: []string{"gap"}, Units: 2, UseBias: true, Block: -1},
	}}
}

func penaltyWeights() model.Weights {
	return model.Weights{
		"conv/kernel": tensorOf([]float32{1, -2, 0.5, 1}, 1, 1, 2, 2), // sum x^2 = 6.25, sum |x| = 4.5
		"dw/kernel":   tensorOf([]float32{3, -4}, 1, 1, 2, 1),         // never penalised (TAO: exact type)
		"bn/gamma":    tensorOf([]float32{2, -1}, 2),                  // sum x^2 = 5, sum |x| = 3
		"fc/kernel":   tensorOf([]float32{0.5, 0.5, -1, 1}, 2, 2),     // sum x^2 = 2.5, sum |x| = 3
		"fc/bias":     tensorOf([]float32{7, 7}, 2),                   // never penalised
	}
}

// TestPenaltyScopeAsTAO: "Conv2D" covers Conv2D kernels only, frozen ones included (Keras adds
// every layer's regularization loss); depthwise kernels and biases never; the values below are
// worked by hand from penaltyWeights.
func TestPenaltyScopeAsTAO(t *testing.T) {
	cases := []struct {
		name string
		cfg  TrainConfig
		want float64
	}{
		{"L2 Conv2D,Dense", TrainConfig{RegType: "L2", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 0.01}, 0.01 * (6.25 + 2.5)},
		{"L1 Conv2D", TrainConfig{RegType: "L1", RegScope: []string{"Conv2D"}, WeightDecay: 0.1}, 0.1 * 4.5},
		{"L2 Dense", TrainConfig{RegType: "L2", RegScope: []string{"Dense"}, WeightDecay: 0.5}, 0.5 * 2.5},
		{"None", TrainConfig{RegType: "None", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 0.5}, 0},
		{"explicit DepthwiseConv2D", TrainConfig{RegType: "L2", RegScope: []string{"DepthwiseConv2D"}, WeightDecay: 1}, 25},
		{"L2 Dense + L1 gamma", TrainConfig{RegType: "L2", RegScope: []string{"Dense"}, WeightDecay: 0.5, BNRegType: "L1", BNWeightDecay: 0.2}, 0.5*2.5 + 0.2*3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Penalty(penaltyGraph(), penaltyWeights(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !testutil.Near(got, c.want, 1e-9) {
				t.Fatalf("penalty %v, want %v", got, c.want)
			}
		})
	}
}

// TestTrainerLossIncludesPenalty: the trainer's evaluation loss is the cross-entropy plus
// Penalty, frozen conv kernel included, depthwise kernel left out.
func TestTrainerLossIncludesPenalty(t *testing.T) {
	e := openTest(t)
	cfg := TrainConfig{Optimizer: "sgd", RegType: "L2", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 0.01}
	x := tensorOf([]float32{1, 2, -1, 0.5}, 2, 1, 1, 2)
	y := tensorOf([]float32{1, 0, 0, 1}, 2, 2)
	losses := map[string]float64{}
	for _, c := range []struct {
		name string
		cfg  TrainConfig
	}{{"plain", TrainConfig{Optimizer: "sgd"}}, {"regularised", cfg}} {
		m, err := e.NewModel(penaltyGraph(), penaltyWeights(), 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		loss, _, err := tr.Evaluate(x, y)
		if err != nil {
			t.Fatal(err)
		}
		losses[c.name] = float64(loss)
	}
	if d := losses["regularised"] - losses["plain"]; !testutil.Near(d, 0.01*(6.25+2.5), 1e-5) {
		t.Fatalf("the penalty adds %v to the loss, want %v", d, 0.01*(6.25+2.5))
	}
}
