package prune_test

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/prune"
)

// A conv layer whose filter j has norm proportional to j+1: at -pth 0.5 the 16 strongest of 32
// survive, batch norm follows them and the output layer loses the matching input rows.
func Example() {
	g := &model.Graph{Input: [3]int{3, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput},
		{Name: "conv1", Op: model.OpConv, Inputs: []string{"input_1"}, Filters: 32, Kernel: [2]int{3, 3}, Padding: model.PadSame},
		{Name: "bn_conv1", Op: model.OpBatchNorm, Inputs: []string{"conv1"}, Epsilon: 1e-5, Momentum: 0.9},
		{Name: "avg_pool", Op: model.OpGlobalAvgPool, Inputs: []string{"bn_conv1"}},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"avg_pool"}, Units: 2, UseBias: true},
	}}
	w := model.Weights{}
	_, params, _ := g.AllParams()
	for key, p := range params {
		t := model.NewTensor(p.Shape...)
		for i := range t.Data {
			t.Data[i] = 1
			if key == "conv1/kernel" {
				t.Data[i] = float32(i%32+1) / 32
			}
		}
		w[key] = t
	}
	opts := prune.DefaultOptions()
	opts.Threshold = 0.5
	res, err := prune.Prune(g, w, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Layers[0].Name, res.Layers[0].Before, "->", res.Layers[0].After)
	fmt.Println("bn gamma", res.Weights["bn_conv1/gamma"].Shape, "predictions kernel", res.Weights["predictions/kernel"].Shape)
	fmt.Println(res)
	// Output:
	// conv1 32 -> 16
	// bn gamma [16] predictions kernel [16 2]
	// Pruning ratio (pruned model / original model): 0.500945179584121
}
