package train

import (
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

func tinyGraph(filters, classes int) (*model.Graph, model.Weights) {
	g := &model.Graph{Arch: "tiny", Input: [3]int{3, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput, Block: -1},
		{Name: "conv1", Op: model.OpConv, Inputs: []string{"input_1"}, Filters: filters, Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Padding: model.PadSame, Block: 0},
		{Name: "pool", Op: model.OpGlobalAvgPool, Inputs: []string{"conv1"}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"pool"}, Units: classes, UseBias: true, Block: -1},
	}}
	w := model.Weights{
		"conv1/kernel":       model.NewTensor(3, 3, 3, filters),
		"predictions/kernel": model.NewTensor(filters, classes),
		"predictions/bias":   model.NewTensor(classes),
	}
	return g, w
}

func fill(w model.Weights, v float32) {
	for _, t := range w {
		for i := range t.Data {
			t.Data[i] = v
		}
	}
}

func TestTransferByName(t *testing.T) {
	srcG, src := tinyGraph(4, 10)
	fill(src, 1)
	dstG, _ := tinyGraph(4, 5) // same backbone, new class count
	got, rep, err := Transfer(dstG, srcG, src)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pruned || len(rep.Copied) != 1 || rep.Copied[0] != "conv1" || len(rep.Skipped) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if len(got) != 1 || got["conv1/kernel"].Data[0] != 1 {
		t.Errorf("want only conv1/kernel copied, got %v", got)
	}
	src["conv1/kernel"].Data[0] = 7
	if got["conv1/kernel"].Data[0] != 1 {
		t.Error("Transfer aliases the pretrained tensors")
	}
	// Without a graph (a foreign safetensors file) layers match by name only.
	if got, rep, _ := Transfer(dstG, nil, src); rep.Pruned || len(got) != 1 {
		t.Errorf("graph-less transfer: %+v", rep)
	}

	prunedG, pruned := tinyGraph(2, 5)
	if got, rep, _ := Transfer(dstG, prunedG, pruned); !rep.Pruned || len(got) != 0 {
		t.Errorf("pruned backbone not detected: %+v", rep)
	}
}

func TestApplyModelConfig(t *testing.T) {
	g := tinyCNN(16, 2)
	ApplyModelConfig(g, []int{0}, true, 0.99, 1e-3)
	idx := g.Index()
	if !idx["conv1"].Frozen || !idx["bn_conv1"].FrozenBN || idx["bn_conv1"].Momentum != 0.99 || idx["predictions"].Frozen {
		t.Errorf("freeze/BN config not applied: %+v %+v", idx["conv1"], idx["bn_conv1"])
	}
}
