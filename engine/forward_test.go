package engine

import (
	"math"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
)

// singleLayerGraph is input [4,4,1] -> l (output of the graph is l; shape checks are skipped
// for rank-3 outputs by predicting through identity softmax is not wanted, so outputs are read
// with layerOutputs).
func singleLayer(l *model.Layer) *model.Graph {
	l.Inputs = []string{"input"}
	return &model.Graph{Input: [3]int{1, 4, 4}, Layers: []*model.Layer{inputLayer(), l}, Output: l.Name}
}

func TestConvSamePaddingIsAsymmetric(t *testing.T) {
	simple, err := Open("simplego")
	if err != nil {
		t.Fatal(err)
	}
	// On purego and on GoMLX's SimpleGo (which needs explicit unit strides).
	for _, e := range []*Engine{openTest(t), simple} {
		// 3x3 stride 2 SAME on 4x4: TF pads 0 rows/cols before and 1 after (GoMLX's PadSame would pad 1 and 1).
		g := singleLayer(&model.Layer{Name: "c", Op: model.OpConv, Filters: 1, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: model.PadSame})
		w := model.Weights{"c/kernel": tensorOf(filled(9, 1), 3, 3, 1, 1)}
		out := layerOutputs(t, e, g, w, tensorOf(iota32(16), 1, 4, 4, 1))
		testutil.AssertClose(t, e.Name+" conv", out["c"].Data, []float64{45, 39, 66, 50}, 1e-6)
		// Stride 1 (no explicit strides in the IR).
		g = singleLayer(&model.Layer{Name: "c", Op: model.OpConv, Filters: 1, Kernel: [2]int{2, 2}, Padding: model.PadSame})
		w = model.Weights{"c/kernel": tensorOf(filled(4, 1), 2, 2, 1, 1)}
		out = layerOutputs(t, e, g, w, tensorOf(iota32(16), 1, 4, 4, 1))
		// 2x2 SAME stride 1: pad 0 before, 1 after; out[0][0] = 0+1+4+5, out[3][3] = 15.
		if got := out["c"].Data; got[0] != 10 || got[15] != 15 {
			t.Fatalf("%s stride-1 conv: %v", e.Name, got)
		}
	}
}

func TestBatchNormInference(t *testing.T) {
	e := openTest(t)
	g := singleLayer(&model.Layer{Name: "bn", Op: model.OpBatchNorm, Epsilon: 1e-3})
	w := model.Weights{
		"bn/gamma": tensorOf([]float32{2}, 1), "bn/beta": tensorOf([]float32{1}, 1),
		"bn/moving_mean": tensorOf([]float32{3}, 1), "bn/moving_variance": tensorOf([]float32{4}, 1),
	}
	out := layerOutputs(t, e, g, w, tensorOf(iota32(16), 1, 4, 4, 1))
	want := make([]float64, 16)
	for i := range want {
		want[i] = 2*(float64(i)-3)/math.Sqrt(4.001) + 1
	}
	testutil.AssertClose(t, "bn", out["bn"].Data, want, 1e-5)
}

func TestAvgPoolExcludesPadding(t *testing.T) {
	e := openTest(t)
	g := singleLayer(&model.Layer{Name: "p", Op: model.OpAvgPool, Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}, Padding: model.PadSame})
	out := layerOutputs(t, e, g, nil, tensorOf(iota32(16), 1, 4, 4, 1))
	got := out["p"].Data
	// Corner: 4 real elements, edge: 6, interior: 9.
	testutil.AssertClose(t, "avg corner/edge/interior", []float32{got[0], got[1], got[5]}, []float64{(0 + 1 + 4 + 5) / 4.0, (0 + 1 + 2 + 4 + 5 + 6) / 6.0, 45 / 9.0}, 1e-6)
}

func TestMaxPoolValid(t *testing.T) {
	e := openTest(t)
	g := singleLayer(&model.Layer{Name: "p", Op: model.OpMaxPool, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: model.PadValid})
	out := layerOutputs(t, e, g, nil, tensorOf(iota32(16), 1, 4, 4, 1))
	testutil.AssertClose(t, "maxpool", out["p"].Data, []float64{5, 7, 13, 15}, 0)
}
