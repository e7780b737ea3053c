package pretrained

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/onnx"
)

// loadONNX reads an ONNX classifier (package onnx).
func loadONNX(path string, opts Options) (*Source, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	im, err := onnx.Import(m, onnx.ImportOptions{InputSize: opts.InputSize})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.PaddingMode != "" {
		if err := im.Graph.SetPaddingMode(opts.PaddingMode); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	src := &Source{Graph: im.Graph, Weights: im.Weights}
	if p := m.GetProducerName(); p != "" {
		src.Notes = append(src.Notes, fmt.Sprintf("ONNX opset %d, produced by %s %s", onnx.Opset(m), p, m.GetProducerVersion()))
	}
	for _, n := range im.Nodes {
		if n.Op == "Constant" {
			continue
		}
		src.Layers = append(src.Layers, LayerInfo{Name: n.Name, Type: n.Op, Op: n.Layer, Note: n.Note})
		if n.Note != "" && n.Layer == "" {
			src.Notes = append(src.Notes, n.Name+": "+n.Note)
		}
	}
	return src, nil
}
