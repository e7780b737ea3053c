package engine

import (
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// TestActivationsAreTheLayerOutputs checks Activations against the forward builder's own record of
// every layer's output (layerOutputs), and the output layer against Logits.
func TestActivationsAreTheLayerOutputs(t *testing.T) {
	e := openTest(t)
	g := denseGraph()
	m, err := e.NewModel(g, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensorOf([]float32{1, 2, -1, 0.5, 0.3, -2}, 3, 1, 1, 2)
	for range 2 { // the second call reuses the compiled graph
		got, err := m.Activations(x, []string{"fc", "flat"})
		if err != nil {
			t.Fatal(err)
		}
		want := layerOutputs(t, e, g, nil, x)
		logits, err := m.Logits(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"fc", "flat"} {
			testutil.AssertClose(t, name, got[name].Data, float64s(want[name].Data), 0)
		}
		testutil.AssertClose(t, "logits", got["fc"].Data, float64s(logits.Data), 0)
	}
	if _, err := m.Activations(x, []string{"nope"}); err == nil {
		t.Error("an unknown layer was accepted")
	}
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
