package prune

import (
	"fmt"
	"slices"

	"github.com/bonsai-ml/bonsai/model"
)

// propagate returns the kept channel indices of every layer's output (in the original layer's
// channel numbering), from the decided prunable layers: pass-through layers keep their input's,
// concat offsets its inputs', channel_slice keeps those in its range, and flatten expands
// channels into rows (NHWC: the channel mask is tiled over the H*W positions).
func (a *analysis) propagate(d *decision) (map[string][]int, error) {
	out := make(map[string][]int, len(a.g.Layers))
	for _, l := range a.g.Layers {
		var in []int
		if len(l.Inputs) > 0 {
			in = out[l.Inputs[0]]
		}
		switch l.Op {
		case model.OpInput:
			out[l.Name] = allChannels(a.shapes[l.Name].Channels())
		case model.OpConv, model.OpDense:
			out[l.Name] = d.kept[l.Name]
		case model.OpDepthwiseConv:
			if !slices.Equal(d.kept[l.Name], in) {
				return nil, fmt.Errorf("internal: depthwise conv %q keeps channels that differ from its input's", l.Name)
			}
			out[l.Name] = in
		case model.OpAdd, model.OpMultiply:
			k, err := a.elementwiseKept(l, out)
			if err != nil {
				return nil, err
			}
			out[l.Name] = k
		case model.OpConcat:
			var k []int
			offset := 0
			for _, name := range l.Inputs {
				for _, c := range out[name] {
					k = append(k, c+offset)
				}
				offset += a.shapes[name].Channels()
			}
			out[l.Name] = k
		case model.OpChannelSlice:
			var k []int
			for _, c := range in {
				if c >= l.ChannelStart && c < l.ChannelEnd {
					k = append(k, c-l.ChannelStart)
				}
			}
			out[l.Name] = k
		case model.OpFlatten:
			out[l.Name] = flattenKept(a.shapes[l.Inputs[0]], in)
		default: // batch norm, activations, pooling, padding, dropout: channels pass through
			out[l.Name] = in
		}
	}
	return out, nil
}

// elementwiseKept checks that the full-width inputs of an add/multiply keep the same channels
// (equalization guarantees it) and returns them. Single-channel broadcast inputs are ignored.
func (a *analysis) elementwiseKept(l *model.Layer, out map[string][]int) ([]int, error) {
	width := a.shapes[l.Name].Channels()
	var k []int
	var from string
	for _, name := range l.Inputs {
		if a.shapes[name].Channels() != width {
			continue
		}
		if k == nil {
			k, from = out[name], name
			continue
		}
		if !slices.Equal(k, out[name]) {
			return nil, fmt.Errorf("internal: inputs %q and %q of %s keep different channels", from, name, l.Name)
		}
	}
	return k, nil
}

// flattenKept turns kept channels of an [H,W,C] map into kept rows of its NHWC flattening.
func flattenKept(in model.Shape, kept []int) []int {
	if len(in) != 3 {
		return kept
	}
	positions, channels := in[0]*in[1], in[2]
	out := make([]int, 0, positions*len(kept))
	for p := range positions {
		for _, c := range kept {
			out = append(out, p*channels+c)
		}
	}
	return out
}

// rewriteGraph returns a copy of the graph with the kept widths: conv filters, dense units and
// channel_slice ranges.
func (a *analysis) rewriteGraph(kept map[string][]int) (*model.Graph, error) {
	g := *a.g
	g.Layers = make([]*model.Layer, len(a.g.Layers))
	for i, l := range a.g.Layers {
		c := *l
		c.Inputs = slices.Clone(l.Inputs)
		switch l.Op {
		case model.OpConv:
			c.Filters = len(kept[l.Name])
		case model.OpDense:
			c.Units = len(kept[l.Name])
		case model.OpChannelSlice:
			in := kept[l.Inputs[0]]
			c.ChannelStart = countBelow(in, l.ChannelStart)
			c.ChannelEnd = countBelow(in, l.ChannelEnd)
			if c.ChannelStart == c.ChannelEnd {
				return nil, fmt.Errorf("channel_slice %q would keep no channels; exclude the layer before it from pruning: %w", l.Name, ErrExcludeLayer)
			}
		}
		g.Layers[i] = &c
	}
	if _, err := g.Shapes(); err != nil {
		return nil, fmt.Errorf("internal: pruned graph: %w", err)
	}
	return &g, nil
}

func countBelow(sorted []int, v int) int {
	n, _ := slices.BinarySearch(sorted, v)
	return n
}

// sliceWeights cuts every parameter to the kept channels: conv kernels [kh,kw,cin,cout] on cin
// by the input's kept channels and on cout by their own; dense kernels [in,units] likewise on
// rows and columns; depthwise kernels on C; biases by the layer's own; batch norm's four
// parameters by its input's.
func (a *analysis) sliceWeights(kept map[string][]int) (model.Weights, error) {
	out := model.Weights{}
	for _, l := range a.g.Layers {
		var in []int
		if len(l.Inputs) > 0 {
			in = kept[l.Inputs[0]]
		}
		own := kept[l.Name]
		var params map[string][2][]int // param -> kept indices on (second-to-last or C axis, last axis)
		switch l.Op {
		case model.OpConv, model.OpDense:
			params = map[string][2][]int{"kernel": {in, own}, "bias": {nil, own}}
		case model.OpDepthwiseConv:
			params = map[string][2][]int{"kernel": {own, nil}, "bias": {nil, own}}
		case model.OpBatchNorm:
			params = map[string][2][]int{"gamma": {nil, in}, "beta": {nil, in}, "moving_mean": {nil, in}, "moving_variance": {nil, in}}
		}
		for p, idx := range params {
			key := model.ParamKey(l.Name, p)
			t := a.w[key]
			if t == nil {
				continue
			}
			s, err := sliceParam(l, t, idx)
			if err != nil {
				return nil, fmt.Errorf("slicing %s: %w", key, err)
			}
			out[key] = s
		}
	}
	for key := range a.w {
		if _, ok := out[key]; !ok {
			return nil, fmt.Errorf("weights: %q belongs to no prunable or batch-norm layer of the graph", key)
		}
	}
	return out, nil
}

// sliceParam slices one tensor. For rank-1 params idx[1] applies; for dense kernels idx[0] is
// rows and idx[1] columns; for conv kernels idx[0] is cin (axis 2) and idx[1] cout (axis 3); for
// depthwise kernels idx[0] is C (axis 2).
func sliceParam(l *model.Layer, t *model.Tensor, idx [2][]int) (*model.Tensor, error) {
	switch len(t.Shape) {
	case 1:
		return take(t, 0, idx[1])
	case 2:
		r, err := take(t, 0, idx[0])
		if err != nil {
			return nil, err
		}
		return take(r, 1, idx[1])
	case 4:
		r, err := take(t, 2, idx[0])
		if err != nil {
			return nil, err
		}
		if l.Op == model.OpDepthwiseConv {
			return r, nil
		}
		return take(r, 3, idx[1])
	}
	return nil, fmt.Errorf("unexpected shape %v", t.Shape)
}

// take returns a new tensor with the given indices of one axis (nil: all).
func take(t *model.Tensor, axis int, idx []int) (*model.Tensor, error) {
	if idx == nil {
		return &model.Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}, nil
	}
	dim := t.Shape[axis]
	for _, i := range idx {
		if i < 0 || i >= dim {
			return nil, fmt.Errorf("index %d outside axis %d of shape %v", i, axis, t.Shape)
		}
	}
	outer, inner := 1, 1
	for _, d := range t.Shape[:axis] {
		outer *= d
	}
	for _, d := range t.Shape[axis+1:] {
		inner *= d
	}
	shape := slices.Clone(t.Shape)
	shape[axis] = len(idx)
	r := model.NewTensor(shape...)
	pos := 0
	for o := range outer {
		base := o * dim * inner
		if inner == 1 {
			for _, i := range idx {
				r.Data[pos] = t.Data[base+i]
				pos++
			}
			continue
		}
		for _, i := range idx {
			copy(r.Data[pos:pos+inner], t.Data[base+i*inner:base+(i+1)*inner])
			pos += inner
		}
	}
	return r, nil
}
