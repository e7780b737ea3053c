package model

import (
	"fmt"
)

// Shape of one example's activation: [H, W, C] for feature maps, [N] after flatten/dense.
type Shape []int

// Channels is the last dimension.
func (s Shape) Channels() int { return s[len(s)-1] }

// Param is one learnable (or running-statistics) tensor of a layer.
type Param struct {
	Name  string // kernel, bias, gamma, beta, moving_mean, moving_variance
	Shape []int
	// Trainable is false for batch-norm running statistics.
	Trainable bool
}

// Index returns a map from layer name to layer.
func (g *Graph) Index() map[string]*Layer {
	m := make(map[string]*Layer, len(g.Layers))
	for _, l := range g.Layers {
		m[l.Name] = l
	}
	return m
}

// Shapes infers every layer's output shape. It also checks the wiring: unknown inputs,
// duplicate names, mismatched element-wise shapes and bad attributes are errors.
func (g *Graph) Shapes() (map[string]Shape, error) {
	out := make(map[string]Shape, len(g.Layers))
	for i, l := range g.Layers {
		if _, dup := out[l.Name]; dup {
			return nil, fmt.Errorf("layer %q: duplicate name", l.Name)
		}
		var ins []Shape
		for _, in := range l.Inputs {
			s, ok := out[in]
			if !ok {
				return nil, fmt.Errorf("layer %q: input %q is not an earlier layer", l.Name, in)
			}
			ins = append(ins, s)
		}
		if l.Op == OpInput {
			if i != 0 {
				return nil, fmt.Errorf("layer %q: the input layer must come first", l.Name)
			}
			out[l.Name] = Shape{g.Input[1], g.Input[2], g.Input[0]}
			continue
		}
		s, err := OutputShape(l, ins)
		if err != nil {
			return nil, fmt.Errorf("layer %q (%s): %w", l.Name, l.Op, err)
		}
		out[l.Name] = s
	}
	if _, ok := out[g.Output]; !ok {
		return nil, fmt.Errorf("output layer %q not found", g.Output)
	}
	return out, nil
}

// ConvOutputSize is the spatial output size of a convolution or pooling window.
func ConvOutputSize(in, kernel, stride, dilation int, padding string) int {
	if dilation < 1 {
		dilation = 1
	}
	if stride < 1 {
		stride = 1
	}
	if padding == PadSame {
		return (in + stride - 1) / stride
	}
	eff := (kernel-1)*dilation + 1
	if in < eff {
		return 0
	}
	return (in-eff)/stride + 1
}

// SamePadding returns TensorFlow's SAME padding (before, after) for one spatial axis.
func SamePadding(in, kernel, stride, dilation int) (int, int) {
	if dilation < 1 {
		dilation = 1
	}
	if stride < 1 {
		stride = 1
	}
	out := (in + stride - 1) / stride
	eff := (kernel-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return total / 2, total - total/2
}

// symmetricPad is TAO's padding on each side of one axis (PadSameSymmetric).
func symmetricPad(op Op, kernel, dilation int) int {
	if op == OpMaxPool || op == OpAvgPool {
		return (kernel - 1) / 2
	}
	return ((kernel-1)*max(dilation, 1) + 1) / 2
}

// Pads returns the zeros a conv, depthwise conv or pooling layer adds around an input of
// spatial size in ([H, W, ...]) under its Padding: [top, bottom, left, right].
func Pads(l *Layer, in Shape) [4]int {
	var p [4]int
	s, d := strides(l), dilation(l)
	for i := range 2 {
		switch l.Padding {
		case PadSame:
			p[2*i], p[2*i+1] = SamePadding(in[i], l.Kernel[i], s[i], d[i])
		case PadSameSymmetric:
			n := symmetricPad(l.Op, l.Kernel[i], d[i])
			p[2*i], p[2*i+1] = n, n
		}
	}
	return p
}

// CountsPadding reports whether an average pool divides by the whole window, padding included
// (TAO's symmetric padding), rather than by the input elements it covers (Keras' SAME).
func CountsPadding(l *Layer) bool {
	return l.Op == OpAvgPool && l.Padding == PadSameSymmetric
}

// SetPaddingMode makes every 'same' layer use mode's padding: PaddingTAO (PadSameSymmetric) or
// PaddingTF, PaddingKeras or "" (PadSame). Shapes can change (TAO's 2x2/2 pools floor odd sizes), so the graph
// is validated again.
func (g *Graph) SetPaddingMode(mode string) error {
	from, to := PadSameSymmetric, PadSame
	switch mode {
	case PaddingTAO:
		from, to = PadSame, PadSameSymmetric
	case PaddingTF, PaddingKeras, "":
	default:
		return fmt.Errorf("padding mode %q: want %q, %q or %q", mode, PaddingTF, PaddingTAO, PaddingKeras)
	}
	for _, l := range g.Layers {
		if l.Padding == from {
			l.Padding = to
		}
	}
	return g.Validate()
}

// PaddingMode is PaddingTAO when a layer uses TAO's symmetric padding, else PaddingTF.
func (g *Graph) PaddingMode() string {
	for _, l := range g.Layers {
		if l.Padding == PadSameSymmetric {
			return PaddingTAO
		}
	}
	return PaddingTF
}

func one(ins []Shape, rank int) (Shape, error) {
	if len(ins) != 1 {
		return nil, fmt.Errorf("want 1 input, got %d", len(ins))
	}
	if rank > 0 && len(ins[0]) != rank {
		return nil, fmt.Errorf("want a rank-%d input, got %v", rank, ins[0])
	}
	return ins[0], nil
}

func strides(l *Layer) [2]int {
	s := l.Strides
	for i := range s {
		if s[i] < 1 {
			s[i] = 1
		}
	}
	return s
}

func dilation(l *Layer) [2]int {
	d := l.Dilation
	for i := range d {
		if d[i] < 1 {
			d[i] = 1
		}
	}
	return d
}

func spatial(l *Layer, in Shape, channels int) (Shape, error) {
	s, d := strides(l), dilation(l)
	if l.Kernel[0] < 1 || l.Kernel[1] < 1 {
		return nil, fmt.Errorf("kernel %v must be positive", l.Kernel)
	}
	if l.Padding != PadSame && l.Padding != PadValid && l.Padding != PadSameSymmetric {
		return nil, fmt.Errorf("padding %q must be %q, %q or %q", l.Padding, PadSame, PadValid, PadSameSymmetric)
	}
	p := Pads(l, in)
	h := ConvOutputSize(in[0]+p[0]+p[1], l.Kernel[0], s[0], d[0], PadValid)
	w := ConvOutputSize(in[1]+p[2]+p[3], l.Kernel[1], s[1], d[1], PadValid)
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("input %dx%d is too small for kernel %v", in[0], in[1], l.Kernel)
	}
	return Shape{h, w, channels}, nil
}

// OutputShape infers a non-input layer's output shape from its input shapes.
func OutputShape(l *Layer, ins []Shape) (Shape, error) {
	switch l.Op {
	case OpConv:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		g := max(l.Groups, 1)
		if l.Filters < 1 || in.Channels()%g != 0 || l.Filters%g != 0 {
			return nil, fmt.Errorf("filters %d and input channels %d must be positive multiples of groups %d", l.Filters, in.Channels(), g)
		}
		return spatial(l, in, l.Filters)
	case OpDepthwiseConv:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		return spatial(l, in, in.Channels()*max(l.DepthMultiplier, 1))
	case OpMaxPool, OpAvgPool:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		return spatial(l, in, in.Channels())
	case OpGlobalAvgPool:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		if l.KeepDims {
			return Shape{1, 1, in.Channels()}, nil
		}
		return Shape{in.Channels()}, nil
	case OpFlatten:
		in, err := one(ins, 0)
		if err != nil {
			return nil, err
		}
		n := 1
		for _, d := range in {
			n *= d
		}
		return Shape{n}, nil
	case OpDense:
		if _, err := one(ins, 1); err != nil {
			return nil, err
		}
		if l.Units < 1 {
			return nil, fmt.Errorf("units %d must be positive", l.Units)
		}
		return Shape{l.Units}, nil
	case OpBatchNorm, OpActivation, OpDropout, OpDropPath:
		return one(ins, 0)
	case OpZeroPad:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		return Shape{in[0] + l.Pad[0] + l.Pad[1], in[1] + l.Pad[2] + l.Pad[3], in[2]}, nil
	case OpChannelSlice:
		in, err := one(ins, 3)
		if err != nil {
			return nil, err
		}
		if l.ChannelStart < 0 || l.ChannelEnd > in.Channels() || l.ChannelStart >= l.ChannelEnd {
			return nil, fmt.Errorf("channel range [%d,%d) outside %d channels", l.ChannelStart, l.ChannelEnd, in.Channels())
		}
		return Shape{in[0], in[1], l.ChannelEnd - l.ChannelStart}, nil
	case OpAdd, OpMultiply:
		if len(ins) < 2 {
			return nil, fmt.Errorf("want at least 2 inputs, got %d", len(ins))
		}
		out := ins[0]
		for _, s := range ins[1:] {
			b, ok := broadcast(out, s, l.Op == OpMultiply)
			if !ok {
				return nil, fmt.Errorf("input shapes %v and %v do not match", out, s)
			}
			out = b
		}
		return out, nil
	case OpConcat:
		if len(ins) < 1 {
			return nil, fmt.Errorf("want inputs")
		}
		c := 0
		for _, s := range ins {
			if len(s) != 3 || s[0] != ins[0][0] || s[1] != ins[0][1] {
				return nil, fmt.Errorf("input shapes %v do not share H and W", ins)
			}
			c += s[2]
		}
		return Shape{ins[0][0], ins[0][1], c}, nil
	}
	return nil, fmt.Errorf("unknown op %q", l.Op)
}

// broadcast allows [1,1,C] against [H,W,C] for multiply (squeeze-and-excitation).
func broadcast(a, b Shape, allow bool) (Shape, bool) {
	if len(a) != len(b) {
		return nil, false
	}
	out := make(Shape, len(a))
	for i := range a {
		switch {
		case a[i] == b[i]:
			out[i] = a[i]
		case allow && a[i] == 1:
			out[i] = b[i]
		case allow && b[i] == 1:
			out[i] = a[i]
		default:
			return nil, false
		}
	}
	return out, true
}

// Params lists a layer's parameter tensors given its input shapes.
func Params(l *Layer, ins []Shape) []Param {
	switch l.Op {
	case OpConv:
		cin := ins[0].Channels()
		ps := []Param{{"kernel", []int{l.Kernel[0], l.Kernel[1], cin / max(l.Groups, 1), l.Filters}, true}}
		if l.UseBias {
			ps = append(ps, Param{"bias", []int{l.Filters}, true})
		}
		return ps
	case OpDepthwiseConv:
		c, m := ins[0].Channels(), max(l.DepthMultiplier, 1)
		ps := []Param{{"kernel", []int{l.Kernel[0], l.Kernel[1], c, m}, true}}
		if l.UseBias {
			ps = append(ps, Param{"bias", []int{c * m}, true})
		}
		return ps
	case OpDense:
		ps := []Param{{"kernel", []int{ins[0][0], l.Units}, true}}
		if l.UseBias {
			ps = append(ps, Param{"bias", []int{l.Units}, true})
		}
		return ps
	case OpBatchNorm:
		c := ins[0].Channels()
		return []Param{
			{"gamma", []int{c}, true}, {"beta", []int{c}, true},
			{"moving_mean", []int{c}, false}, {"moving_variance", []int{c}, false},
		}
	}
	return nil
}

// AllParams lists every layer's parameters, in layer order, keyed by ParamKey.
func (g *Graph) AllParams() ([]string, map[string]Param, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	m := map[string]Param{}
	for _, l := range g.Layers {
		var ins []Shape
		for _, in := range l.Inputs {
			ins = append(ins, shapes[in])
		}
		for _, p := range Params(l, ins) {
			k := ParamKey(l.Name, p.Name)
			keys = append(keys, k)
			m[k] = p
		}
	}
	return keys, m, nil
}

// ParamCount is the number of parameters (Keras' count: BN running statistics included) and of
// learnable ones (all but the BN statistics, frozen layers included; Summarize's Trainable
// leaves frozen layers out, as Keras does).
func (g *Graph) ParamCount() (total, trainable int, err error) {
	keys, m, err := g.AllParams()
	if err != nil {
		return 0, 0, err
	}
	for _, k := range keys {
		n := 1
		for _, d := range m[k].Shape {
			n *= d
		}
		total += n
		if m[k].Trainable {
			trainable += n
		}
	}
	return total, trainable, nil
}

// OutputUnits is the channel count of the output layer (a classifier's class count), or -1
// when the graph's shapes cannot be computed.
func (g *Graph) OutputUnits() int {
	shapes, err := g.Shapes()
	if err != nil {
		return -1
	}
	return shapes[g.Output].Channels()
}

// PermuteFlattenRows reorders a dense kernel [C*H*W, units] whose rows follow a channels-first
// flatten (c, h, w), as ONNX and Keras' channels_first write them, into the graph's flatten
// order (h, w, c).
func PermuteFlattenRows(k *Tensor, c, h, w int) (*Tensor, error) {
	if len(k.Shape) != 2 || k.Shape[0] != c*h*w {
		return nil, fmt.Errorf("kernel shape %v does not follow a flatten of %dx%dx%d", k.Shape, c, h, w)
	}
	units := k.Shape[1]
	out := NewTensor(k.Shape...)
	for ch := range c {
		for y := range h {
			for x := range w {
				from, to := ((ch*h+y)*w+x)*units, ((y*w+x)*c+ch)*units
				copy(out.Data[to:to+units], k.Data[from:from+units])
			}
		}
	}
	return out, nil
}
