package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx"
)

// Source yields the calibration images, [N,H,W,C] batches preprocessed as the model expects.
// Calibrate reads it twice (each tensor's largest |value| first, then the histograms), so it
// must yield the same images each time.
type Source func(yield func(images *model.Tensor) error) error

// Options of Calibrate.
type Options struct {
	Algorithm  string  // Entropy (default), Percentile or MaxAbs
	Percentile float64 // for Percentile, in percent (default 99.99)
	// Chunk is the number of images run through the model at once (default 8): every layer's
	// output is kept for a chunk, so memory grows with it.
	Chunk int
}

// Calibrate runs the calibration images through the Bonsai model m and returns the amax of each
// tensor of an export (onnx.Exported.Tensors) that has a source layer, by tensor name.
func Calibrate(m *engine.Model, tensors []onnx.Tensor, src Source, opts Options) (map[string]float64, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = Entropy
	}
	if opts.Percentile == 0 {
		opts.Percentile = 99.99
	}
	if opts.Chunk <= 0 {
		opts.Chunk = 8
	}
	if _, err := Amax(NewHistogram(1), opts.Algorithm, opts.Percentile); err != nil {
		return nil, err
	}
	c := &collector{m: m, chunk: opts.Chunk, max: map[string]float64{}, hist: map[string]*Histogram{}}
	for _, t := range tensors {
		if t.Layer != "" {
			c.tensors = append(c.tensors, t)
			if !slices.Contains(c.layers, t.Layer) {
				c.layers = append(c.layers, t.Layer)
			}
		}
	}
	if err := c.pass(src, c.recordMax); err != nil {
		return nil, err
	}
	if c.images == 0 {
		return nil, fmt.Errorf("calibration: no images")
	}
	for _, t := range c.tensors {
		c.hist[t.Name] = NewHistogram(c.max[t.Name])
	}
	if err := c.pass(src, func(t onnx.Tensor, v []float32) { c.hist[t.Name].Add(v) }); err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(c.tensors))
	for _, t := range c.tensors {
		a, err := Amax(c.hist[t.Name], opts.Algorithm, opts.Percentile)
		if err != nil {
			return nil, err
		}
		out[t.Name] = a
	}
	return out, nil
}

// collector gathers per-tensor statistics over the calibration images.
type collector struct {
	m       *engine.Model
	chunk   int
	tensors []onnx.Tensor
	layers  []string
	images  int
	max     map[string]float64
	hist    map[string]*Histogram
}

// pass runs every image through the model, in chunks, and hands each tensor's values to fn.
func (c *collector) pass(src Source, fn func(onnx.Tensor, []float32)) error {
	c.images = 0
	return src(func(images *model.Tensor) error {
		n := images.Shape[0]
		row := images.Size() / max(n, 1)
		for start := 0; start < n; start += c.chunk {
			k := min(c.chunk, n-start)
			part := &model.Tensor{Shape: append([]int{k}, images.Shape[1:]...), Data: images.Data[start*row : (start+k)*row]}
			acts, err := c.m.Activations(part, c.layers)
			if err != nil {
				return fmt.Errorf("calibration: %w", err)
			}
			for _, t := range c.tensors {
				fn(t, tensorValues(t, acts[t.Layer]))
			}
			c.images += k
		}
		return nil
	})
}

func (c *collector) recordMax(t onnx.Tensor, v []float32) {
	m := c.max[t.Name]
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	c.max[t.Name] = m
}

// tensorValues computes an ONNX tensor's values from its source layer's output (layout does not
// matter for per-tensor statistics).
func tensorValues(t onnx.Tensor, act *model.Tensor) []float32 {
	v := act.Data
	if len(t.Divisor) > 0 || t.Fn != "" {
		v = append([]float32(nil), v...)
	}
	if d := t.Divisor; len(d) > 0 {
		for i := range v {
			v[i] /= d[i%len(d)]
		}
	}
	switch t.Fn {
	case onnx.FnSigmoid:
		for i, x := range v {
			v[i] = float32(1 / (1 + math.Exp(-float64(x))))
		}
	case onnx.FnSoftplus, onnx.FnTanhSoftplus:
		for i, x := range v {
			sp := softplus(float64(x))
			if t.Fn == onnx.FnTanhSoftplus {
				sp = math.Tanh(sp)
			}
			v[i] = float32(sp)
		}
	case onnx.FnSoftmax:
		softmaxRows(v, act.Shape[len(act.Shape)-1])
	}
	return v
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// softmaxRows applies a softmax to each row of k values.
func softmaxRows(v []float32, k int) {
	for r := 0; r+k <= len(v); r += k {
		row := v[r : r+k]
		top := row[0]
		for _, x := range row {
			top = max(top, x)
		}
		sum := 0.0
		for i, x := range row {
			e := math.Exp(float64(x - top))
			row[i] = float32(e)
			sum += e
		}
		for i := range row {
			row[i] = float32(float64(row[i]) / sum)
		}
	}
}
