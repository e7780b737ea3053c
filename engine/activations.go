package engine

import (
	"fmt"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Activations runs the inference graph on images [N,H,W,C] and returns the outputs of the named
// layers ([N,H,W,C] feature maps, [N,units] vectors), for INT8 calibration and inspection. The
// graph is compiled once per batch size; call it with batches of one size to compile once.
func (m *Model) Activations(images *model.Tensor, layers []string) (map[string]*model.Tensor, error) {
	if err := m.checkImages(images); err != nil {
		return nil, err
	}
	for _, name := range layers {
		if _, ok := m.shapes[name]; !ok {
			return nil, fmt.Errorf("activations: no layer %q in the model graph", name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := strings.Join(layers, "\x00")
	exec := m.actExecs[key]
	if exec == nil {
		var err error
		if exec, err = m.activationsExec(layers); err != nil {
			return nil, err
		}
		if m.actExecs == nil {
			m.actExecs = map[string]*Exec{}
		}
		m.actExecs[key] = exec
	}
	x := tensors.FromFlatDataAndDimensions(append([]float32(nil), images.Data...), images.Shape...)
	defer release(x)
	res, err := exec.ExecOnDevice(m.device, append([]any{x}, tensorArgs(m.values)...)...)
	if err != nil {
		return nil, fmt.Errorf("running the activations graph: %w", err)
	}
	defer release(res...)
	out := make(map[string]*model.Tensor, len(layers))
	for i, name := range layers {
		if out[name], err = fromTensor(res[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// activationsExec compiles the inference graph returning the named layers' outputs.
func (m *Model) activationsExec(layers []string) (*Exec, error) {
	exec, err := NewExec(m.eng.Backend, func(in []*Node) []*Node {
		b := &forwardBuilder{ir: m.ir, shapes: m.shapes, params: m.paramMap(in[1:]), keepAll: true}
		if _, err := b.forward(in[0]); err != nil {
			panic(err)
		}
		outs := make([]*Node, len(layers))
		for i, name := range layers {
			// A copy, so that no two outputs (nor an output and the input) are the same node.
			outs[i] = Identity(b.outs[name])
		}
		return outs
	})
	if err != nil {
		return nil, fmt.Errorf("building the activations graph: %w", err)
	}
	return exec, nil
}
