package model

import (
	"bytes"
	"strings"
	"testing"
)

// TestPrintKerasGraph: Keras 2.2.4's summary of a graph with a branch, worked out from its
// print_row rules: columns end at 32, 53, 65 and 98; a name longer than 31 characters is cut
// and followed by a space; a layer's second input gets a row of its own.
func TestPrintKerasGraph(t *testing.T) {
	s, err := tinyResidual().Summarize()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.PrintKeras(&b); err != nil {
		t.Fatal(err)
	}
	u, e := strings.Repeat("_", 98), strings.Repeat("=", 98)
	want := []string{u,
		"Layer (type)                    Output Shape         Param #     Connected to", e,
		"input_1 (InputLayer)            (None, 3, 8, 6)      0", u,
		"conv1 (Conv2D)                  (None, 4, 8, 6)      112         input_1[0][0]", u,
		"bn_conv1 (BatchNormalization)   (None, 4, 8, 6)      16          conv1[0][0]", u,
		"relu (Activation)               (None, 4, 8, 6)      0           bn_conv1[0][0]", u,
		"dw (DepthwiseConv2D)            (None, 4, 8, 6)      36          relu[0][0]", u,
		"add_1 (Add)                     (None, 4, 8, 6)      0           dw[0][0]",
		"                                                                 relu[0][0]", u,
		"pool (MaxPooling2D)             (None, 4, 4, 3)      0           add_1[0][0]", u,
		"avg_pool (GlobalAveragePooling2 (None, 4)            0           pool[0][0]", u,
		"predictions (Dense)             (None, 3)            15          avg_pool[0][0]", e,
		// 112 + 16 + 36 + 15; the batch norm's moving mean and variance are not trainable.
		"Total params: 179", "Trainable params: 171", "Non-trainable params: 8", u,
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, l := range lines {
		if strings.TrimRight(l, " ") != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, l, want[i])
		}
		if strings.Contains(want[i], "(None") && len(l) != 98 {
			t.Errorf("line %d is %d characters; Keras pads rows to 98", i+1, len(l))
		}
	}
}

// TestPrintKerasChain: a chain of layers prints in Keras' sequential layout, 65 columns ending
// at 29, 55 and 65, without the "Connected to" column.
func TestPrintKerasChain(t *testing.T) {
	g := &Graph{Arch: "chain", Input: [3]int{1, 4, 4}, Output: "predictions", Layers: []*Layer{
		{Name: "input_1", Op: OpInput, Block: -1},
		{Name: "conv1", Op: OpConv, Inputs: []string{"input_1"}, Filters: 2, Kernel: [2]int{3, 3}, Padding: PadValid, Frozen: true},
		{Name: "flatten", Op: OpFlatten, Inputs: []string{"conv1"}, Block: -1},
		{Name: "predictions", Op: OpDense, Inputs: []string{"flatten"}, Units: 2, UseBias: true, Block: -1},
	}}
	s, err := g.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.PrintKeras(&b); err != nil {
		t.Fatal(err)
	}
	u, e := strings.Repeat("_", 65), strings.Repeat("=", 65)
	want := strings.Join([]string{u,
		"Layer (type)                 Output Shape              Param #   ", e,
		"input_1 (InputLayer)         (None, 1, 4, 4)           0         ", u,
		"conv1 (Conv2D)               (None, 2, 2, 2)           18        ", u,
		"flatten (Flatten)            (None, 8)                 0         ", u,
		"predictions (Dense)          (None, 2)                 18        ", e,
		// conv1 is frozen: its 18 weights count as non-trainable.
		"Total params: 36", "Trainable params: 18", "Non-trainable params: 18", u, ""}, "\n")
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
