package model

import "testing"

func TestShapesTinyGraph(t *testing.T) {
	g := &Graph{Arch: "tiny", Input: [3]int{3, 32, 30}, Output: "predictions", Layers: []*Layer{
		{Name: "input", Op: OpInput},
		{Name: "conv1", Op: OpConv, Inputs: []string{"input"}, Filters: 8, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: PadSame},
		{Name: "bn", Op: OpBatchNorm, Inputs: []string{"conv1"}},
		{Name: "pool", Op: OpGlobalAvgPool, Inputs: []string{"bn"}},
		{Name: "predictions", Op: OpDense, Inputs: []string{"pool"}, Units: 5, UseBias: true},
	}}
	s, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if got := s["conv1"]; got[0] != 16 || got[1] != 15 || got[2] != 8 {
		t.Fatalf("conv1 shape %v", got)
	}
	total, trainable, err := g.ParamCount()
	if err != nil {
		t.Fatal(err)
	}
	// conv 3*3*3*8=216, bn 4*8=32 (16 trainable), dense 8*5+5=45.
	if total != 216+32+45 || trainable != 216+16+45 {
		t.Fatalf("params total %d trainable %d", total, trainable)
	}
}

func TestSamePadding(t *testing.T) {
	for _, c := range []struct{ in, k, s, before, after int }{
		{224, 7, 2, 2, 3}, {224, 3, 1, 1, 1}, {224, 1, 2, 0, 0}, {7, 3, 2, 1, 1},
	} {
		b, a := SamePadding(c.in, c.k, c.s, 1)
		if b != c.before || a != c.after {
			t.Errorf("SamePadding(%d,%d,%d) = %d,%d want %d,%d", c.in, c.k, c.s, b, a, c.before, c.after)
		}
	}
}
