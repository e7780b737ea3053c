package purego

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// newBackend returns a purego backend with the given config, failing the test on error.
func newBackend(t testing.TB, config string) backends.Backend {
	t.Helper()
	b, err := New(config)
	if err != nil {
		t.Fatalf("New(%q): %v", config, err)
	}
	return b
}

// normalFloat32s returns n values drawn from the standard normal distribution.
func normalFloat32s(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// randomTensor returns a float64 tensor with uniform values in [-1, 1).
func randomTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	flat := make([]float64, n)
	for i := range flat {
		flat[i] = 2*rng.Float64() - 1
	}
	return tensors.FromFlatDataAndDimensions(flat, dims...)
}

// run executes fn on backend with the given inputs and returns the float64 outputs.
func run(t testing.TB, backend backends.Backend, fn func(inputs []*Node) []*Node, inputs ...*tensors.Tensor) [][]float64 {
	t.Helper()
	exec, err := NewExec(backend, fn)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = mustClone(in)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatalf("Exec on %s: %v", backend.Name(), err)
	}
	flats := make([][]float64, len(outs))
	for i, o := range outs {
		flats[i] = tensors.MustCopyFlatData[float64](o)
	}
	return flats
}

// mustClone returns a local copy of t, usable on any backend.
func mustClone(t *tensors.Tensor) *tensors.Tensor {
	c, err := t.LocalClone()
	if err != nil {
		panic(err)
	}
	return c
}

// mustOp returns a function that unwraps a builder's operation, failing the test on error.
func mustOp(t testing.TB) func(backends.Op, error) backends.Op {
	return func(op backends.Op, err error) backends.Op {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
}

// customSteps compiles outputs on b and returns the names of its custom steps that start
// with prefix, in order.
func customSteps(t testing.TB, b *Builder, prefix string, outputs ...backends.Op) []string {
	t.Helper()
	exec, err := b.Compile(outputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	var names []string
	for _, st := range exec.(*Executable).steps {
		if st.custom != nil && strings.HasPrefix(st.custom.name, prefix) {
			names = append(names, st.custom.name)
		}
	}
	return names
}
