package engine

import (
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// everyOpGraph uses every model.Op (and every activation) on an 8x8x3 input.
func everyOpGraph() *model.Graph {
	L := func(name string, op model.Op, inputs ...string) *model.Layer {
		return &model.Layer{Name: name, Op: op, Inputs: inputs, Block: -1}
	}
	act := func(name, a, in string) *model.Layer {
		l := L(name, model.OpActivation, in)
		l.Activation = a
		return l
	}
	zp := L("zp", model.OpZeroPad, "input")
	zp.Pad = [4]int{1, 0, 2, 1}
	conv := L("conv1", model.OpConv, "zp")
	conv.Filters, conv.Kernel, conv.Strides, conv.Padding, conv.UseBias = 4, [2]int{3, 3}, [2]int{2, 2}, model.PadSame, true
	bn := L("bn1", model.OpBatchNorm, "conv1")
	bn.Momentum, bn.Epsilon = 0.9, 1e-5
	dw := L("dw", model.OpDepthwiseConv, "relu1")
	dw.Kernel, dw.Padding, dw.DepthMultiplier, dw.UseBias = [2]int{3, 3}, model.PadSame, 2, true
	gc := L("gconv", model.OpConv, "dw")
	gc.Filters, gc.Kernel, gc.Padding, gc.Groups = 4, [2]int{1, 1}, model.PadValid, 2
	dil := L("dil", model.OpConv, "gconv")
	dil.Filters, dil.Kernel, dil.Padding, dil.Dilation = 4, [2]int{3, 3}, model.PadSame, [2]int{2, 2}
	mp := L("mp", model.OpMaxPool, "dil")
	mp.Kernel, mp.Strides, mp.Padding = [2]int{2, 2}, [2]int{1, 1}, model.PadValid
	ap := L("ap", model.OpAvgPool, "mp")
	ap.Kernel, ap.Strides, ap.Padding = [2]int{3, 3}, [2]int{2, 2}, model.PadSame
	cs1 := L("cs1", model.OpChannelSlice, "ap")
	cs1.ChannelStart, cs1.ChannelEnd = 0, 2
	cs2 := L("cs2", model.OpChannelSlice, "ap")
	cs2.ChannelStart, cs2.ChannelEnd = 2, 4
	gapk := L("gapk", model.OpGlobalAvgPool, "cat")
	gapk.KeepDims = true
	dp := L("dp", model.OpDropPath, "add")
	dp.Rate = 0.1
	do := L("do", model.OpDropout, "dp")
	do.Rate = 0.2
	leaky := act("leaky", model.ActLeakyReLU, "do")
	leaky.Alpha = 0.1
	d1 := L("d1", model.OpDense, "flat")
	d1.Units, d1.UseBias = 5, true
	d2 := L("d2", model.OpDense, "gap")
	d2.Units = 5
	return &model.Graph{Input: [3]int{3, 8, 8}, Output: "out", Layers: []*model.Layer{
		inputLayer(), zp, conv, bn, act("relu1", model.ActReLU, "bn1"), dw, gc, dil, mp, ap, cs1, cs2,
		L("cat", model.OpConcat, "cs1", "cs2"), gapk, act("sig", model.ActSigmoid, "gapk"),
		L("mul", model.OpMultiply, "cat", "sig"), L("add", model.OpAdd, "cat", "mul"), dp, do, leaky,
		act("swish", model.ActSwish, "leaky"), act("mish", model.ActMish, "swish"), act("relu6", model.ActReLU6, "mish"),
		act("tanh", model.ActTanh, "relu6"), act("soft", model.ActSoftmax, "tanh"), act("lin", model.ActLinear, "soft"),
		L("flat", model.OpFlatten, "lin"), L("gap", model.OpGlobalAvgPool, "lin"), d1, d2, L("out", model.OpAdd, "d1", "d2"),
	}}
}

func TestGraphShapesMatchIR(t *testing.T) {
	e := openTest(t)
	g := everyOpGraph()
	want, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[model.Op]bool{}
	for _, l := range g.Layers {
		seen[l.Op] = true
	}
	for _, op := range []model.Op{model.OpInput, model.OpConv, model.OpDepthwiseConv, model.OpDense, model.OpBatchNorm,
		model.OpActivation, model.OpMaxPool, model.OpAvgPool, model.OpGlobalAvgPool, model.OpFlatten, model.OpDropout,
		model.OpDropPath, model.OpAdd, model.OpMultiply, model.OpConcat, model.OpZeroPad, model.OpChannelSlice} {
		if !seen[op] {
			t.Fatalf("test graph lacks op %s", op)
		}
	}
	out := layerOutputs(t, e, g, nil, tensorOf(iota32(2*8*8*3), 2, 8, 8, 3))
	for _, l := range g.Layers[1:] {
		got := out[l.Name].Shape
		if got[0] != 2 || !slices.Equal(got[1:], want[l.Name]) {
			t.Errorf("layer %s: GoMLX shape %v, IR shape [2 %v]", l.Name, got, want[l.Name])
		}
	}
}

// TestEveryOpTrains runs training steps through every op (batch-norm statistics, dropout,
// drop_path and the gradients of each op) on the pure-Go backend.
func TestEveryOpTrains(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(everyOpGraph(), nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(TrainConfig{Optimizer: "adam", RegType: "L2", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 1e-4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := tensorOf(iota32(4*8*8*3), 4, 8, 8, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	y := tensorOf(make([]float32, 4*5), 4, 5)
	for i := range 4 {
		y.Data[i*5+i] = 1
	}
	before, _ := m.Weights()
	loss, _, err := tr.Step(x, y, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if loss <= 0 {
		t.Fatalf("loss %v", loss)
	}
	after, _ := m.Weights()
	for _, k := range []string{"conv1/kernel", "dw/kernel", "gconv/kernel", "dil/kernel", "d1/kernel", "bn1/gamma", "bn1/moving_mean"} {
		if slices.Equal(before[k].Data, after[k].Data) {
			t.Errorf("%s did not change after a training step", k)
		}
	}
}
