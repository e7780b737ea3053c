package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestMaskedActivationsMatch checks that the training-mode (masked) relu, relu6 and leaky_relu
// give the same values and gradients as the plain definitions.
func TestMaskedActivationsMatch(t *testing.T) {
	e := openTest(t)
	xs := []float32{-3, -0.5, 0.25, 1, 5.5, 6, 7.5}
	for _, name := range []string{model.ActReLU, model.ActReLU6, model.ActLeakyReLU} {
		exec, err := NewExec(e.Backend, func(x *Node) []*Node {
			plain, err := activation(name, 0.2, x)
			if err != nil {
				panic(err)
			}
			masked := maskedActivation(name, 0.2, x)
			gp := Gradient(ReduceAllSum(Mul(plain, x)), x)[0]
			gm := Gradient(ReduceAllSum(Mul(masked, x)), x)[0]
			return []*Node{plain, masked, gp, gm}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(xs, len(xs)))
		if err != nil {
			t.Fatal(err)
		}
		v := make([][]float32, 4)
		for i := range v {
			v[i] = tensors.MustCopyFlatData[float32](out[i])
		}
		for i := range xs {
			if v[0][i] != v[1][i] || v[2][i] != v[3][i] {
				t.Errorf("%s(%v): plain %v grad %v, masked %v grad %v", name, xs[i], v[0][i], v[2][i], v[1][i], v[3][i])
			}
		}
	}
}
