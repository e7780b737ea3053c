package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
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

// TestFusedBatchNormMatchesComposed compares the backend's batch-norm training op (and its
// gradient) with the composed definition: outputs, gradients and moving statistics.
func TestFusedBatchNormMatchesComposed(t *testing.T) {
	e := openTest(t)
	if !hasFusedBN(e.Backend) {
		t.Skip("backend has no fused batch norm")
	}
	l := &model.Layer{Name: "bn", Op: model.OpBatchNorm, Momentum: 0.8, Epsilon: 1e-3}
	run := func(fused bool) [][]float32 {
		exec, err := NewExec(e.Backend, func(x, gamma, beta, mm, mv *Node) []*Node {
			fb := &forwardBuilder{training: true, fusedBN: fused, bnUpdates: map[string]*Node{},
				params: map[string]*Node{"bn/gamma": gamma, "bn/beta": beta, "bn/moving_mean": mm, "bn/moving_variance": mv}}
			y := fb.batchNorm(l, x)
			g := Gradient(ReduceAllSum(Mul(y, Sin(x))), x, gamma, beta)
			return append([]*Node{y, fb.bnUpdates["bn/moving_mean"], fb.bnUpdates["bn/moving_variance"]}, g...)
		})
		if err != nil {
			t.Fatal(err)
		}
		xs := make([]float32, 2*3*3*2)
		for i := range xs {
			xs[i] = float32(i%7) - float32(i%3)*0.5
		}
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(xs, 2, 3, 3, 2),
			tensors.FromFlatDataAndDimensions([]float32{1.5, 0.5}, 2), tensors.FromFlatDataAndDimensions([]float32{0.1, -0.2}, 2),
			tensors.FromFlatDataAndDimensions([]float32{0.3, 0.4}, 2), tensors.FromFlatDataAndDimensions([]float32{2, 3}, 2))
		if err != nil {
			t.Fatal(err)
		}
		var res [][]float32
		for _, o := range out {
			res = append(res, tensors.MustCopyFlatData[float32](o))
		}
		return res
	}
	composed, fused := run(false), run(true)
	names := []string{"output", "moving_mean", "moving_variance", "grad x", "grad gamma", "grad beta"}
	for i := range composed {
		want := make([]float64, len(composed[i]))
		for j, v := range composed[i] {
			want[j] = float64(v)
		}
		testutil.AssertClose(t, names[i], fused[i], want, 1e-4)
	}
}
