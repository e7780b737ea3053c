package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// TAO's symmetric SAME padding (model.PadSameSymmetric) against TensorFlow's SAME, on hand-computed
// cases. The 4x4 input is iota:
//
//	 0  1  2  3
//	 4  5  6  7
//	 8  9 10 11
//	12 13 14 15
func TestSymmetricPadding(t *testing.T) {
	e := openTest(t)
	iota4 := tensorOf(iota32(16), 1, 4, 4, 1)
	cases := []struct {
		name  string
		layer *model.Layer
		w     model.Weights
		in    *model.Tensor
		shape model.Shape
		want  []float64
	}{
		// 3x3/2: one zero row/column on every side, windows start at -1 and 1 (TF: 0 and 2,
		// giving 45, 39, 66, 50).
		{"conv 3x3/2", &model.Layer{Op: model.OpConv, Filters: 1, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}},
			model.Weights{"l/kernel": tensorOf(filled(9, 1), 3, 3, 1, 1)}, iota4, model.Shape{2, 2, 1},
			[]float64{0 + 1 + 4 + 5, 1 + 2 + 3 + 5 + 6 + 7, 4 + 5 + 8 + 9 + 12 + 13, 5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15}},
		{"depthwise 3x3/2", &model.Layer{Op: model.OpDepthwiseConv, DepthMultiplier: 1, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}},
			model.Weights{"l/kernel": tensorOf(filled(9, 1), 3, 3, 1, 1)}, iota4, model.Shape{2, 2, 1},
			[]float64{10, 24, 51, 90}},
		// An even kernel pads (2-1+1)/2 = 1 on both sides: the 4x4 map grows to 5x5 (TF keeps 4x4).
		{"conv 2x2/1", &model.Layer{Op: model.OpConv, Filters: 1, Kernel: [2]int{2, 2}},
			model.Weights{"l/kernel": tensorOf(filled(4, 1), 2, 2, 1, 1)}, iota4, model.Shape{5, 5, 1},
			[]float64{0, 0 + 1, 1 + 2, 2 + 3, 3, 0 + 4, 0 + 1 + 4 + 5}},
		// Max pooling pads zeros too: a negative map's border windows give 0 (TF: -1 at [0,0]).
		{"max pool 3x3/2 of -(x+1)", &model.Layer{Op: model.OpMaxPool, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}},
			nil, negate(iota4), model.Shape{2, 2, 1}, []float64{0, 0, 0, -6}},
		// Average pools count the padding: the corner window holds 4 real values of 9.
		{"avg pool 3x3/1", &model.Layer{Op: model.OpAvgPool, Kernel: [2]int{3, 3}, Strides: [2]int{1, 1}},
			nil, iota4, model.Shape{4, 4, 1}, []float64{(0 + 1 + 4 + 5) / 9.0, (0 + 1 + 2 + 4 + 5 + 6) / 9.0}},
		// 2x2/2 pools pad (2-1)/2 = 0: a 5x5 map gives 2x2 (TF: 3x3).
		{"avg pool 2x2/2 on 5x5", &model.Layer{Op: model.OpAvgPool, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}},
			nil, tensorOf(iota32(25), 1, 5, 5, 1), model.Shape{2, 2, 1},
			[]float64{(0 + 1 + 5 + 6) / 4.0, (2 + 3 + 7 + 8) / 4.0, (10 + 11 + 15 + 16) / 4.0, (12 + 13 + 17 + 18) / 4.0}},
		// ResNet's use_pooling head at 224: a 7x7/7 pool of a 7x7 map pads 3 on every side, and
		// its one window covers the top-left 4x4 block: (sum of 7i+j+1, i,j < 4) / 49 = 208/49
		// (TF: the mean of 1..49, 25).
		{"avg pool 7x7/7 on 7x7", &model.Layer{Op: model.OpAvgPool, Kernel: [2]int{7, 7}, Strides: [2]int{7, 7}},
			nil, plusOne(tensorOf(iota32(49), 1, 7, 7, 1)), model.Shape{1, 1, 1}, []float64{208.0 / 49}},
	}
	for _, c := range cases {
		c.layer.Name, c.layer.Padding = "l", model.PadSameSymmetric
		g := singleLayer(c.layer)
		g.Input = [3]int{1, c.in.Shape[1], c.in.Shape[2]}
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := shapes["l"]; !equalShape(got, c.shape) {
			t.Errorf("%s: shape %v, want %v", c.name, got, c.shape)
			continue
		}
		out := layerOutputs(t, e, g, c.w, c.in)["l"].Data
		testutil.AssertClose(t, c.name, out[:len(c.want)], c.want, 1e-6)
	}
}

func negate(t *model.Tensor) *model.Tensor {
	out := model.NewTensor(t.Shape...)
	for i, v := range t.Data {
		out.Data[i] = -(v + 1)
	}
	return out
}

func plusOne(t *model.Tensor) *model.Tensor {
	for i := range t.Data {
		t.Data[i]++
	}
	return t
}

func equalShape(a, b model.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestResNetUsePoolingTAO: in TAO's padding mode, ResNet-18 with use_pooling at 224 ends with
// average_pooling2d_1 = the top-left 4x4 block of the 7x7 feature map summed and divided by 49.
func TestResNetUsePoolingTAO(t *testing.T) {
	e := openTest(t)
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 3,
		UseBatchNorm: true, UsePooling: true, Padding: model.PaddingTAO})
	if err != nil {
		t.Fatal(err)
	}
	if g.PaddingMode() != model.PaddingTAO || g.Index()["conv1"].Padding != model.PadSameSymmetric {
		t.Fatalf("padding mode %q, conv1 %q", g.PaddingMode(), g.Index()["conv1"].Padding)
	}
	x := model.NewTensor(1, 224, 224, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%97) / 97
	}
	out := layerOutputs(t, e, g, nil, x)
	feat, pooled := out["block_4b_relu"], out["average_pooling2d_1"]
	if len(feat.Data) != 7*7*512 || len(pooled.Data) != 512 {
		t.Fatalf("feature map %v, pooled %v", feat.Shape, pooled.Shape)
	}
	want := make([]float64, 512)
	for i := range 4 {
		for j := range 4 {
			for c := range 512 {
				want[c] += float64(feat.Data[(i*7+j)*512+c]) / 49
			}
		}
	}
	testutil.AssertClose(t, "average_pooling2d_1", pooled.Data, want, 1e-4)
}
