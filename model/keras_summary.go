package model

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PrintKeras writes the summary exactly as Keras 2.2.4's model.summary() prints it, which is
// what TAO's train, evaluate and inference print: output shapes channels-first with the batch
// as None, each row cut and padded to Keras' column positions (98 columns and a "Connected to"
// column for graphs with branches, 65 columns for a plain chain of layers), a line of "_"
// between layers, and the parameter totals (batch-norm moving statistics and frozen layers are
// non-trainable).
func (s *Summary) PrintKeras(w io.Writer) error {
	var b strings.Builder
	width, positions := 98, []int{32, 53, 65, 98} // int(98 * [.33 .55 .67 1])
	header := []string{"Layer (type)", "Output Shape", "Param #", "Connected to"}
	chain := s.isChain()
	if chain {
		width, positions = 65, []int{29, 55, 65} // int(65 * [.45 .85 1])
		header = header[:3]
	}
	b.WriteString(strings.Repeat("_", width) + "\n")
	b.WriteString(kerasRow(header, positions))
	b.WriteString(strings.Repeat("=", width) + "\n")
	for i, r := range s.Rows {
		fields := []string{r.Name + " (" + r.Type + ")", r.Shape.kerasShape(), strconv.Itoa(r.Params)}
		var more []string
		if !chain {
			conns := make([]string, len(r.Inputs))
			for j, in := range r.Inputs {
				conns[j] = in + "[0][0]"
			}
			first := ""
			if len(conns) > 0 {
				first, more = conns[0], conns[1:]
			}
			fields = append(fields, first)
		}
		b.WriteString(kerasRow(fields, positions))
		for _, c := range more {
			b.WriteString(kerasRow([]string{"", "", "", c}, positions))
		}
		sep := "_"
		if i == len(s.Rows)-1 {
			sep = "="
		}
		b.WriteString(strings.Repeat(sep, width) + "\n")
	}
	fmt.Fprintf(&b, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n",
		Group(int64(s.TotalParams)), Group(int64(s.Trainable)), Group(int64(s.NonTrainable)))
	b.WriteString(strings.Repeat("_", width) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// kerasRow is Keras' print_row: each field appended after replacing the previous character with
// a space, cut at its column's end and padded to it.
func kerasRow(fields []string, positions []int) string {
	line := ""
	for i, f := range fields {
		if i > 0 {
			line = line[:len(line)-1] + " "
		}
		line += f
		if len(line) > positions[i] {
			line = line[:positions[i]]
		}
		line += strings.Repeat(" ", positions[i]-len(line))
	}
	return line + "\n"
}

// isChain is Keras' "sequential_like": no layer takes several inputs and no layer feeds
// several others.
func (s *Summary) isChain() bool {
	consumers := map[string]int{}
	for _, r := range s.Rows {
		if len(r.Inputs) > 1 {
			return false
		}
		for _, in := range r.Inputs {
			if consumers[in]++; consumers[in] > 1 {
				return false
			}
		}
	}
	return true
}

// kerasShape is the layer's output shape as Keras prints it for channels-first models:
// (None, C, H, W) or (None, N).
func (s Shape) kerasShape() string {
	dims := []string{"None"}
	if len(s) == 3 {
		s = Shape{s[2], s[0], s[1]}
	}
	for _, d := range s {
		dims = append(dims, strconv.Itoa(d))
	}
	return "(" + strings.Join(dims, ", ") + ")"
}
