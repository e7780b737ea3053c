package pretrained

import "fmt"

// loadONNX reads an ONNX model (package onnx).
func loadONNX(path string, _ Options) (*Source, error) {
	return nil, fmt.Errorf("%s: ONNX import is not available yet: %w", path, ErrUnsupported)
}
