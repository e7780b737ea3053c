package model

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SummaryRow is one line of a model summary.
type SummaryRow struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"` // Keras class name, e.g. Conv2D
	Shape  Shape    `json:"output_shape"`
	Params int      `json:"params"`
	FLOPs  int64    `json:"flops"`
	Block  int      `json:"block"`            // freeze_blocks id, -1 for none
	Frozen bool     `json:"frozen,omitempty"` // weights do not train
	Inputs []string `json:"connected_to,omitempty"`
}

// Summary is a Keras-like model summary: one row per layer and the totals.
//
// Params follow Keras: batch-norm moving statistics count as non-trainable parameters, and so do
// the weights of frozen layers (freeze_blocks). SizeMB is the fp32 size of all parameters in
// MiB (2^20 bytes), as Keras prints it.
type Summary struct {
	Arch         string       `json:"arch"`
	NLayers      int          `json:"n_layers,omitempty"`
	Input        [3]int       `json:"input"`
	Rows         []SummaryRow `json:"layers"`
	TotalParams  int          `json:"total_params"`
	Trainable    int          `json:"trainable_params"`
	NonTrainable int          `json:"non_trainable_params"`
	MACs         int64        `json:"macs"`
	FLOPs        int64        `json:"flops"`
	SizeMB       float64      `json:"size_mb_fp32"`
}

var kerasTypes = map[Op]string{
	OpInput: "InputLayer", OpConv: "Conv2D", OpDepthwiseConv: "DepthwiseConv2D", OpDense: "Dense",
	OpBatchNorm: "BatchNormalization", OpActivation: "Activation", OpMaxPool: "MaxPooling2D",
	OpAvgPool: "AveragePooling2D", OpGlobalAvgPool: "GlobalAveragePooling2D", OpFlatten: "Flatten",
	OpDropout: "Dropout", OpDropPath: "DropPath", OpAdd: "Add", OpMultiply: "Multiply",
	OpConcat: "Concatenate", OpZeroPad: "ZeroPadding2D", OpChannelSlice: "Split",
}

// KerasType is the Keras layer class that matches an op (the op itself when there is none).
func KerasType(op Op) string {
	if t, ok := kerasTypes[op]; ok {
		return t
	}
	return string(op)
}

// Summarize computes the summary of a graph.
func (g *Graph) Summarize() (*Summary, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	costs, total, err := g.Costs()
	if err != nil {
		return nil, err
	}
	s := &Summary{Arch: g.Arch, NLayers: g.NLayers, Input: g.Input, MACs: total.MACs, FLOPs: total.FLOPs}
	for i, l := range g.Layers {
		ins := make([]Shape, len(l.Inputs))
		for j, in := range l.Inputs {
			ins[j] = shapes[in]
		}
		n := 0
		for _, p := range Params(l, ins) {
			k := Shape(p.Shape).size()
			n += int(k)
			if p.Trainable && !l.Frozen {
				s.Trainable += int(k)
			}
		}
		s.TotalParams += n
		s.Rows = append(s.Rows, SummaryRow{Name: l.Name, Type: KerasType(l.Op), Shape: shapes[l.Name],
			Params: n, FLOPs: costs[i].FLOPs, Block: l.Block, Frozen: l.Frozen, Inputs: l.Inputs})
	}
	s.NonTrainable = s.TotalParams - s.Trainable
	s.SizeMB = float64(s.TotalParams) * 4 / (1 << 20)
	return s, nil
}

// blockLabel is the Block column: the id, "*" when frozen, "" for no block.
func (r SummaryRow) blockLabel() string {
	if r.Block < 0 {
		return ""
	}
	l := strconv.Itoa(r.Block)
	if r.Frozen {
		l += "*"
	}
	return l
}

// CHW formats an activation shape in TAO's channels-first order: (C, H, W) or (N).
func (s Shape) CHW() string {
	if len(s) == 3 {
		return fmt.Sprintf("(%d, %d, %d)", s[2], s[0], s[1])
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Group writes n with thousands separators: 11689512 -> "11,689,512".
func Group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// HumanCount writes n with a G/M/K suffix: 1814083944 -> "1.81 G".
func HumanCount(n int64) string {
	switch f := float64(n); {
	case n >= 1e9:
		return fmt.Sprintf("%.2f G", f/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", f/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2f K", f/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// Print writes the summary as a table like Keras' model.summary(), shapes in (C, H, W) order.
func (s *Summary) Print(w io.Writer) error {
	nameW, shapeW := len("Layer (type)"), len("Output Shape")
	for _, r := range s.Rows {
		nameW = max(nameW, len(r.Name)+len(r.Type)+3)
		shapeW = max(shapeW, len(r.Shape.CHW()))
	}
	line := strings.Repeat("=", nameW+shapeW+12+12+5+5*2+len("Connected to"))
	title := fmt.Sprintf("Model: %s", s.Arch)
	if s.NLayers > 0 {
		title += strconv.Itoa(s.NLayers)
	}
	title += fmt.Sprintf("   input %d,%d,%d (C,H,W)", s.Input[0], s.Input[1], s.Input[2])
	var b strings.Builder
	fmt.Fprintln(&b, title)
	fmt.Fprintln(&b, strings.Repeat("_", len(line)))
	fmt.Fprintf(&b, "%-*s  %-*s  %12s  %12s  %-5s  %s\n", nameW, "Layer (type)", shapeW, "Output Shape", "Param #", "FLOPs", "Block", "Connected to")
	fmt.Fprintln(&b, line)
	for _, r := range s.Rows {
		row := fmt.Sprintf("%-*s  %-*s  %12s  %12s  %-5s  %s", nameW, r.Name+" ("+r.Type+")", shapeW, r.Shape.CHW(),
			Group(int64(r.Params)), HumanCount(r.FLOPs), r.blockLabel(), strings.Join(r.Inputs, ", "))
		fmt.Fprintln(&b, strings.TrimRight(row, " "))
	}
	fmt.Fprintln(&b, line)
	fmt.Fprintln(&b, "Block: the freeze_blocks id of the layer; * marks frozen weights.")
	fmt.Fprintf(&b, "Total params: %s (%.2f MB at fp32)\n", Group(int64(s.TotalParams)), s.SizeMB)
	fmt.Fprintf(&b, "Trainable params: %s\n", Group(int64(s.Trainable)))
	fmt.Fprintf(&b, "Non-trainable params: %s (batch-norm moving statistics and frozen layers)\n", Group(int64(s.NonTrainable)))
	fmt.Fprintf(&b, "MACs: %s (%sMAC)   FLOPs: %s (%sFLOP; a multiply-add counts as 2)\n",
		Group(s.MACs), HumanCount(s.MACs), Group(s.FLOPs), HumanCount(s.FLOPs))
	_, err := io.WriteString(w, b.String())
	return err
}
