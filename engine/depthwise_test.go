package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestDepthwiseConvMatchesGroupedConvolution: the tap-sum depthwise convolution and the grouped
// one with its recorded gradient give the same output and the same gradients (input, kernel,
// bias) as GoMLX's grouped convolution and gradient.
func TestDepthwiseConvMatchesGroupedConvolution(t *testing.T) {
	e := openTest(t)
	cases := []struct {
		h, w, c, m, k, stride, dilation int
		padding                         string
		bias                            bool
	}{
		{8, 7, 3, 1, 3, 1, 1, model.PadSame, false},
		{9, 8, 4, 1, 3, 2, 1, model.PadSame, true}, // asymmetric padding
		{11, 10, 2, 1, 5, 2, 1, model.PadSame, false},
		{8, 8, 3, 2, 3, 1, 1, model.PadSame, true}, // depth multiplier 2
		{10, 9, 2, 1, 3, 1, 2, model.PadSame, false},
		{7, 9, 3, 1, 3, 2, 1, model.PadValid, false},
		{8, 8, 16, 1, 3, 2, 1, model.PadValid, true}, // VALID stride 2 on an even size
		{12, 12, 24, 1, 3, 2, 1, model.PadSame, false},
		{9, 9, 8, 2, 5, 2, 1, model.PadSame, true},
	}
	for i, cc := range cases {
		name := fmt.Sprintf("%dx%dx%d m%d k%d s%d d%d %s", cc.h, cc.w, cc.c, cc.m, cc.k, cc.stride, cc.dilation, cc.padding)
		t.Run(name, func(t *testing.T) {
			l := &model.Layer{Name: "dw", Op: model.OpDepthwiseConv, Inputs: []string{"input"}, Kernel: [2]int{cc.k, cc.k},
				Strides: [2]int{cc.stride, cc.stride}, Dilation: [2]int{cc.dilation, cc.dilation}, Padding: cc.padding,
				DepthMultiplier: cc.m, UseBias: cc.bias, Block: -1}
			g := &model.Graph{Input: [3]int{cc.c, cc.h, cc.w}, Output: "dw", Layers: []*model.Layer{inputLayer(), l}}
			shp, err := g.Shapes()
			if err != nil {
				t.Fatal(err)
			}
			out := shp["dw"]
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			random := func(dims ...int) *tensors.Tensor {
				n := 1
				for _, d := range dims {
					n *= d
				}
				v := make([]float32, n)
				for j := range v {
					v[j] = rng.Float32()*2 - 1
				}
				return tensors.FromFlatDataAndDimensions(v, dims...)
			}
			x, k, bias := random(2, cc.h, cc.w, cc.c), random(cc.k, cc.k, cc.c, cc.m), random(cc.c*cc.m)
			r := random(2, out[0], out[1], cc.c*cc.m)
			// Variants: the tap sum, the grouped convolution with the recorded gradient (purego's
			// default), and the reference, GoMLX's grouped convolution and gradient.
			variants := []string{"tap sum", "grouped depthwise", "reference"}
			graphFn := func(variant int) func(in []*Node) []*Node {
				return func(in []*Node) []*Node {
					x, k, bias, r := in[0], in[1], in[2], in[3]
					b := &forwardBuilder{ir: g, shapes: shp, params: map[string]*Node{"dw/kernel": k, "dw/bias": bias},
						tapSumDepthwise: variant == 0}
					var y *Node
					if variant < 2 {
						y = b.depthwiseConv(l, x)
					} else {
						y = b.conv(l, x, cc.c, Reshape(k, cc.k, cc.k, 1, cc.c*cc.m))
					}
					grads := Gradient(ReduceAllSum(Mul(y, r)), x, k, bias)
					return append([]*Node{y}, grads...)
				}
			}
			results := make([][]*tensors.Tensor, len(variants))
			for j := range variants {
				exec, err := NewExec(e.Backend, graphFn(j))
				if err != nil {
					t.Fatal(err)
				}
				if results[j], err = exec.Exec(x, k, bias, r); err != nil {
					t.Fatal(err)
				}
			}
			for v, variant := range variants[:2] {
				for j, what := range []string{"output", "input gradient", "kernel gradient", "bias gradient"} {
					if !cc.bias && what == "bias gradient" {
						continue
					}
					got, err1 := tensors.CopyFlatData[float32](results[v][j])
					want, err2 := tensors.CopyFlatData[float32](results[2][j])
					if err1 != nil || err2 != nil || results[v][j].Shape().DType != dtypes.Float32 || len(got) != len(want) {
						t.Fatalf("%s %s: shape %s vs %s", variant, what, results[v][j].Shape(), results[2][j].Shape())
					}
					for n := range want {
						if !testutil.Near(float64(got[n]), float64(want[n]), 1e-4) {
							t.Fatalf("%s %s[%d] = %v, grouped convolution gives %v", variant, what, n, got[n], want[n])
						}
					}
				}
			}
		})
	}
}
