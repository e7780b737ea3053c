package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// openTest opens the pure-Go backend (Bonsai's purego, which trains CNNs).
func openTest(t *testing.T) *Engine {
	t.Helper()
	e, err := Open("go")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != PureGoBackend {
		t.Fatalf("Open(go) gave %q, want %q", e.Name, PureGoBackend)
	}
	return e
}

func tensorOf(data []float32, shape ...int) *model.Tensor {
	return &model.Tensor{Shape: shape, Data: data}
}

func iota32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i)
	}
	return out
}

func filled(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// inputLayer is the first layer of every test graph.
func inputLayer() *model.Layer { return &model.Layer{Name: "input", Op: model.OpInput, Block: -1} }

// layerOutputs runs g in inference mode on images and returns every layer's output; parameters
// missing from w get their Keras initial values (seed 1).
func layerOutputs(t *testing.T, e *Engine, g *model.Graph, w model.Weights, images *model.Tensor) map[string]*model.Tensor {
	t.Helper()
	shp, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{eng: e, ir: g, shapes: shp, keys: keys, params: params}
	args := []any{tensors.FromFlatDataAndDimensions(images.Data, images.Shape...)}
	for _, k := range keys {
		v := w[k]
		if v == nil {
			v = initialParam(k, params[k], 1)
		}
		tt, err := m.toTensor(k, v)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, tt)
	}
	var names []string
	exec, err := NewExec(e.Backend, func(in []*Node) []*Node {
		b := &forwardBuilder{ir: g, shapes: shp, params: m.paramMap(in[1:]), keepAll: true}
		if _, err := b.forward(in[0]); err != nil {
			panic(err)
		}
		var outs []*Node
		names = names[:0]
		for _, l := range g.Layers[1:] {
			names = append(names, l.Name)
			outs = append(outs, b.outs[l.Name])
		}
		return outs
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*model.Tensor{}
	for i, name := range names {
		v, err := fromTensor(res[i])
		if err != nil {
			t.Fatal(err)
		}
		out[name] = v
	}
	return out
}
