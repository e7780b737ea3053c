package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestZeroPadFoldsIntoConvolutions: a zero-padding layer followed by VALID convolutions (the
// Keras form of TAO's stride-2 layers) gives the same outputs and gradients as the SAME
// convolutions it stands for, the padding folded into the convolutions.
func TestZeroPadFoldsIntoConvolutions(t *testing.T) {
	e := openTest(t)
	const h, c = 8, 8
	build := func(folded bool) *model.Graph {
		pad, in := model.PadSame, "input"
		layers := []*model.Layer{inputLayer()}
		if folded {
			pad, in = model.PadValid, "zp"
			layers = append(layers, &model.Layer{Name: "zp", Op: model.OpZeroPad, Inputs: []string{"input"}, Pad: [4]int{0, 1, 0, 1}})
		}
		layers = append(layers,
			&model.Layer{Name: "dw", Op: model.OpDepthwiseConv, Inputs: []string{in}, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2},
				Padding: pad, DepthMultiplier: 1},
			&model.Layer{Name: "conv", Op: model.OpConv, Inputs: []string{in}, Filters: c, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: pad},
			&model.Layer{Name: "sum", Op: model.OpAdd, Inputs: []string{"dw", "conv"}})
		return &model.Graph{Input: [3]int{c, h, h}, Output: "sum", Layers: layers}
	}
	rng := rand.New(rand.NewPCG(5, 5))
	random := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	x, dk, ck, r := random(2, h, h, c), random(3, 3, c, 1), random(3, 3, c, c), random(2, h/2, h/2, c)
	var results [2][]*tensors.Tensor
	for i, folded := range []bool{false, true} {
		g := build(folded)
		shp, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		exec, err := NewExec(e.Backend, func(in []*Node) []*Node {
			b := &forwardBuilder{ir: g, shapes: shp, params: map[string]*Node{"dw/kernel": in[1], "conv/kernel": in[2]}}
			y, err := b.forward(in[0])
			if err != nil {
				panic(err)
			}
			return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, in[3])), in[0], in[1], in[2])...)
		})
		if err != nil {
			t.Fatal(err)
		}
		if results[i], err = exec.Exec(x, dk, ck, r); err != nil {
			t.Fatal(err)
		}
	}
	for j, what := range []string{"output", "input gradient", "depthwise kernel gradient", "conv kernel gradient"} {
		want, got := tensors.MustCopyFlatData[float32](results[0][j]), tensors.MustCopyFlatData[float32](results[1][j])
		wantF := make([]float64, len(want))
		for k, v := range want {
			wantF[k] = float64(v)
		}
		testutil.AssertClose(t, what, got, wantF, 1e-5)
	}
}
