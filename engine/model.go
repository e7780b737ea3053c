package engine

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// PredictBatch is the default largest batch Predict and Evaluate compile (see SetPredictBatch).
const PredictBatch = 32

// Model is a model graph bound to an engine with its parameter values (on the engine's device).
type Model struct {
	eng    *Engine
	ir     *model.Graph
	shapes map[string]model.Shape
	keys   []string // parameter keys in graph order
	params map[string]model.Param

	mu     sync.Mutex
	values []*tensors.Tensor // current parameter values, by keys index
	gen    int               // counts SetWeights calls (data-parallel replicas recopy after one)
	device backends.DeviceNum

	predictExec  *Exec
	logitsExec   *Exec
	actExecs     map[string]*Exec // Activations' graphs, by requested layer list
	predictBatch int
}

// NewModel binds g to the engine. Parameters missing from w are initialised as Keras does
// (glorot_uniform kernels, zero biases, BN gamma 1 / beta 0 / mean 0 / variance 1) from seed;
// a parameter of the wrong shape, or one the graph does not have, is an error naming it.
func (e *Engine) NewModel(g *model.Graph, w model.Weights, seed int64) (*Model, error) {
	shp, err := g.Shapes()
	if err != nil {
		return nil, fmt.Errorf("model graph: %w", err)
	}
	keys, params, err := g.AllParams()
	if err != nil {
		return nil, fmt.Errorf("model graph: %w", err)
	}
	if len(shp[g.Output]) != 1 {
		return nil, fmt.Errorf("model graph: output layer %q has shape %v, want [classes]", g.Output, shp[g.Output])
	}
	m := &Model{eng: e, ir: g, shapes: shp, keys: keys, params: params, predictBatch: PredictBatch}
	m.values = make([]*tensors.Tensor, len(keys))
	for i, k := range keys {
		t := w[k]
		if t == nil {
			t = initialParam(k, params[k], seed)
		}
		if m.values[i], err = m.toTensor(k, t); err != nil {
			return nil, err
		}
	}
	for k := range w {
		if _, ok := params[k]; !ok {
			return nil, fmt.Errorf("weights: parameter %q does not exist in the model graph", k)
		}
	}
	return m, nil
}

// Graph is the model graph the model was built from.
func (m *Model) Graph() *model.Graph { return m.ir }

// SetPredictBatch sets the largest batch Predict and Evaluate run at once (default PredictBatch):
// larger inputs run in chunks of this size, and a smaller last chunk is padded to the next power
// of two, so a handful of graph sizes are compiled whatever the number of images.
func (m *Model) SetPredictBatch(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.predictBatch = max(n, 1)
}

// SetDevice makes inference and evaluation run on device d of the engine (default 0); a
// data-parallel Trainer sets it to its first device.
func (m *Model) SetDevice(d int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.device = backends.DeviceNum(d)
}

// Classes is the number of model outputs.
func (m *Model) Classes() int { return m.shapes[m.ir.Output][0] }

// Engine is the engine the model runs on.
func (m *Model) Engine() *Engine { return m.eng }

func (m *Model) toTensor(key string, t *model.Tensor) (*tensors.Tensor, error) {
	want := m.params[key].Shape
	if !slices.Equal(t.Shape, want) {
		return nil, fmt.Errorf("weights: parameter %q has shape %v, the model graph needs %v", key, t.Shape, want)
	}
	if len(t.Data) != t.Size() {
		return nil, fmt.Errorf("weights: parameter %q has %d values for shape %v", key, len(t.Data), t.Shape)
	}
	return tensors.FromFlatDataAndDimensions(slices.Clone(t.Data), want...), nil
}

// Weights copies the current parameter values (BN moving statistics included) to host tensors.
func (m *Model) Weights() (model.Weights, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := make(model.Weights, len(m.keys))
	for i, k := range m.keys {
		t, err := fromTensor(m.values[i])
		if err != nil {
			return nil, fmt.Errorf("reading parameter %q: %w", k, err)
		}
		w[k] = t
	}
	return w, nil
}

// SetWeights replaces the parameters given in w (others keep their values).
func (m *Model) SetWeights(w model.Weights) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := map[string]int{}
	for i, k := range m.keys {
		idx[k] = i
	}
	next := slices.Clone(m.values)
	for k, t := range w {
		i, ok := idx[k]
		if !ok {
			return fmt.Errorf("weights: parameter %q does not exist in the model graph", k)
		}
		v, err := m.toTensor(k, t)
		if err != nil {
			return err
		}
		next[i] = v
	}
	for i, v := range m.values {
		if next[i] != v {
			release(v)
		}
	}
	m.values = next
	m.gen++
	return nil
}

// release frees tensors' host and device memory now: device buffers are invisible to Go's
// garbage collector, which would otherwise let them pile up on a GPU.
func release(ts ...*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			_ = t.FinalizeAll()
		}
	}
}

func fromTensor(t *tensors.Tensor) (*model.Tensor, error) {
	data, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, err
	}
	return &model.Tensor{Shape: slices.Clone(t.Shape().Dimensions), Data: data}, nil
}

// initialParam returns Keras' default initial value of a parameter. Each parameter draws from
// its own stream seeded by (seed, key), so values do not depend on the order of layers.
func initialParam(key string, p model.Param, seed int64) *model.Tensor {
	t := model.NewTensor(p.Shape...)
	switch p.Name {
	case "kernel":
		h := fnv.New64a()
		h.Write([]byte(key))
		rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
		fanIn, fanOut := fans(p.Shape)
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range t.Data {
			t.Data[i] = float32((rng.Float64()*2 - 1) * limit)
		}
	case "gamma", "moving_variance":
		for i := range t.Data {
			t.Data[i] = 1
		}
	}
	return t
}

// fans computes Keras' fan_in / fan_out for a kernel shape (receptive field times the last two dims).
func fans(shape []int) (int, int) {
	if len(shape) < 2 {
		return shape[0], shape[0]
	}
	rf := 1
	for _, d := range shape[:len(shape)-2] {
		rf *= d
	}
	return shape[len(shape)-2] * rf, shape[len(shape)-1] * rf
}

// paramNodes creates one graph parameter per model parameter, in key order, after the given
// leading inputs.
func (m *Model) paramMap(nodes []*Node) map[string]*Node {
	pm := make(map[string]*Node, len(m.keys))
	for i, k := range m.keys {
		pm[k] = nodes[i]
	}
	return pm
}

// checkImages verifies that images is [N,H,W,C] for this model.
func (m *Model) checkImages(images *model.Tensor) error {
	in := m.ir.Input
	want := []int{in[1], in[2], in[0]}
	if images == nil || len(images.Shape) != 4 || !slices.Equal(images.Shape[1:], want) {
		var got []int
		if images != nil {
			got = images.Shape
		}
		return fmt.Errorf("images have shape %v, the model takes [N %d %d %d] (NHWC)", got, want[0], want[1], want[2])
	}
	if len(images.Data) != images.Size() {
		return fmt.Errorf("images: %d values for shape %v", len(images.Data), images.Shape)
	}
	return nil
}

// Predict returns softmax probabilities [N, classes] for images [N,H,W,C] (inference mode).
func (m *Model) Predict(images *model.Tensor) (*model.Tensor, error) {
	return m.infer(images, true)
}

// Logits returns the output layer's values before the softmax, [N, classes], for images
// [N,H,W,C] (inference mode); a distillation teacher gives these.
func (m *Model) Logits(images *model.Tensor) (*model.Tensor, error) {
	return m.infer(images, false)
}

// infer runs the inference graph, ending in a softmax when probs is set.
func (m *Model) infer(images *model.Tensor, probs bool) (*model.Tensor, error) {
	if err := m.checkImages(images); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	exec := &m.logitsExec
	if probs {
		exec = &m.predictExec
	}
	if *exec == nil {
		e, err := NewExec(m.eng.Backend, func(in []*Node) *Node {
			b := &forwardBuilder{ir: m.ir, shapes: m.shapes, params: m.paramMap(in[1:])}
			logits, err := b.forward(in[0])
			if err != nil {
				panic(err)
			}
			if probs {
				return Softmax(logits, -1)
			}
			return logits
		})
		if err != nil {
			return nil, fmt.Errorf("building the inference graph: %w", err)
		}
		*exec = e
	}
	classes := m.shapes[m.ir.Output][0]
	out := model.NewTensor(images.Shape[0], classes)
	err := forChunks(images, nil, m.predictBatch, func(x, _ *tensors.Tensor, start, n int) error {
		args := append([]any{x}, tensorArgs(m.values)...)
		res, err := (*exec).ExecOnDevice(m.device, args...)
		if err != nil {
			return fmt.Errorf("running inference: %w", err)
		}
		vals, err := tensors.CopyFlatData[float32](res[0])
		if err != nil {
			return err
		}
		copy(out.Data[start*classes:], vals[:n*classes])
		release(x)
		release(res...)
		return nil
	})
	return out, err
}

func tensorArgs(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// forChunks splits images (and optional labels) into chunks of at most batch rows, padding a
// smaller last chunk with zeros to the next power of two (at most batch), and calls fn with each
// chunk, its first row and its number of real rows.
func forChunks(images, labels *model.Tensor, batch int, fn func(x, y *tensors.Tensor, start, n int) error) error {
	total := images.Shape[0]
	for start := 0; start < total; start += batch {
		n := min(batch, total-start)
		padded := batch
		if n < batch {
			padded = 1
			for padded < n {
				padded *= 2
			}
			padded = min(padded, batch)
		}
		x := padRows(images, start, n, padded)
		var y *tensors.Tensor
		if labels != nil {
			y = padRows(labels, start, n, padded)
		}
		if err := fn(x, y, start, n); err != nil {
			return err
		}
	}
	return nil
}

// padRows copies rows [start, start+n) of t into a tensor of `rows` rows (zero padded).
func padRows(t *model.Tensor, start, n, rows int) *tensors.Tensor {
	row := t.Size() / t.Shape[0]
	data := make([]float32, rows*row)
	copy(data, t.Data[start*row:(start+n)*row])
	dims := append([]int{rows}, t.Shape[1:]...)
	return tensors.FromFlatDataAndDimensions(data, dims...)
}
