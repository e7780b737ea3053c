package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func bnBench(b *testing.B, fused bool) {
	e, err := Open("go")
	if err != nil {
		b.Fatal(err)
	}
	l := &model.Layer{Name: "bn", Op: model.OpBatchNorm, Momentum: 0.9}
	exec, err := NewExec(e.Backend, func(x, gamma, beta, mm, mv *Node) []*Node {
		fb := &forwardBuilder{training: true, fusedBN: fused, bnUpdates: map[string]*Node{},
			params: map[string]*Node{"bn/gamma": gamma, "bn/beta": beta, "bn/moving_mean": mm, "bn/moving_variance": mv}}
		y := fb.batchNorm(l, x)
		loss := ReduceAllSum(Mul(y, x))
		g := Gradient(loss, x, gamma, beta)
		return append(g, fb.bnUpdates["bn/moving_mean"])
	})
	if err != nil {
		b.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(iota32(16*32*32*64), 16, 32, 32, 64)
	c := func(v float32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(filled(64, v), 64) }
	for b.Loop() {
		if _, err := exec.Exec(x, c(1), c(0), c(0), c(1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBNComposed(b *testing.B) { bnBench(b, false) }
func BenchmarkBNFused(b *testing.B)    { bnBench(b, true) }
