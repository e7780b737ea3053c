package onnx

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
)

// Keras defaults the engine applies when a layer leaves an attribute at zero.
const (
	defaultBNEpsilon  = 1e-3
	defaultLeakyAlpha = 0.3
)

// layer emits one IR layer.
func (e *exporter) layer(l *model.Layer) error {
	switch l.Op {
	case model.OpInput:
		return e.input(l)
	case model.OpConv, model.OpDepthwiseConv:
		return e.conv(l)
	case model.OpDense:
		return e.dense(l)
	case model.OpBatchNorm:
		return e.batchNorm(l)
	case model.OpActivation:
		return e.activation(l)
	case model.OpMaxPool, model.OpAvgPool:
		e.pool(l)
	case model.OpGlobalAvgPool:
		e.globalAvgPool(l)
	case model.OpFlatten:
		e.flatten(l)
	case model.OpDropout, model.OpDropPath:
		e.out[l.Name] = e.in(l, 0)
	case model.OpAdd, model.OpMultiply:
		e.elementwise(l)
	case model.OpConcat:
		e.concat(l)
	case model.OpZeroPad:
		e.zeroPad(l)
	case model.OpChannelSlice:
		e.channelSlice(l)
	default:
		return fmt.Errorf("op %q has no ONNX export", l.Op)
	}
	return nil
}

// in is the ONNX tensor of a layer's i-th input.
func (e *exporter) in(l *model.Layer, i int) string { return e.out[l.Inputs[i]] }

func (e *exporter) ins(l *model.Layer) []string {
	out := make([]string, len(l.Inputs))
	for i := range l.Inputs {
		out[i] = e.in(l, i)
	}
	return out
}

// emit appends a node computing layer l's output and records it as l's tensor.
func (e *exporter) emit(l *model.Layer, op string, inputs []string, attrs ...*onnxpb.AttributeProto) {
	e.out[l.Name] = e.node(op, inputs, l.Name, e.outputDims(l.Name), Tensor{Layer: l.Name}, attrs...)
}

// input declares input_1 and, when Options.InputScale cannot be folded into convolutions,
// multiplies it by the factors.
func (e *exporter) input(l *model.Layer) error {
	c, h, w := e.g.Input[0], e.g.Input[1], e.g.Input[2]
	dims := []int{e.batch, c, h, w}
	e.gp.Input = []*onnxpb.ValueInfoProto{TensorValueInfo(InputName, onnxpb.TensorProto_FLOAT, BatchParam, dims...)}
	e.tensors = append(e.tensors, Tensor{Name: InputName, Layer: l.Name, Divisor: e.opts.InputScale})
	e.out[l.Name] = InputName
	if len(e.opts.InputScale) == 0 {
		return nil
	}
	if e.onlyConvsRead(l.Name) {
		e.scaleInput = true
		return nil
	}
	k := e.initializer(InputName+"/scale", []int{1, c, 1, 1}, e.opts.InputScale)
	e.out[l.Name] = e.node("Mul", []string{InputName, k}, InputName+"_scaled", dims, Tensor{Layer: l.Name})
	return nil
}

// onlyConvsRead reports whether every reader of layer name is a convolution or a zero-padding
// layer that merges into convolutions.
func (e *exporter) onlyConvsRead(name string) bool {
	for _, c := range e.consumers[name] {
		if !isConv(c) && !(c.Op == model.OpZeroPad && e.padMerges(c)) {
			return false
		}
	}
	return len(e.consumers[name]) > 0
}

func isConv(l *model.Layer) bool { return l.Op == model.OpConv || l.Op == model.OpDepthwiseConv }

// padMerges reports whether a zero-padding layer is read by convolutions only, which then take
// its padding into their own pads.
func (e *exporter) padMerges(l *model.Layer) bool {
	for _, c := range e.consumers[l.Name] {
		if !isConv(c) {
			return false
		}
	}
	return len(e.consumers[l.Name]) > 0 && l.Name != e.g.Output
}

// conv emits Conv for conv2d and depthwise_conv2d, with a following batch norm folded in, a
// zero-padding input merged into its pads and the input scale folded into its kernel.
func (e *exporter) conv(l *model.Layer) error {
	k, err := e.param(l, "kernel")
	if err != nil {
		return err
	}
	var wt *weights
	group := max(l.Groups, 1)
	if l.Op == model.OpDepthwiseConv {
		wt = depthwiseOIHW(k)
		group = k.Shape[2]
	} else {
		wt = convOIHW(k)
	}
	if err := e.bias(l, wt); err != nil {
		return err
	}
	src, extra := l.Inputs[0], [4]int{}
	if e.padInto[src] {
		p := e.index[src]
		src, extra = p.Inputs[0], p.Pad
	}
	if e.scaleInput && e.index[src].Op == model.OpInput {
		wt.scaleInputChannels(e.opts.InputScale, group)
	}
	name, err := e.foldBatchNorm(l, wt)
	if err != nil {
		return err
	}
	pads := e.pads(l)
	pads[0], pads[1], pads[2], pads[3] = pads[0]+extra[0], pads[1]+extra[2], pads[2]+extra[1], pads[3]+extra[3]
	d, s := dilation(l), strides(l)
	inputs := []string{e.out[src], e.initializer(l.Name+"/W", wt.dims, wt.data)}
	if wt.bias != nil {
		inputs = append(inputs, e.initializer(l.Name+"/B", []int{len(wt.bias)}, wt.bias))
	}
	e.out[name] = e.node("Conv", inputs, name, e.outputDims(name), Tensor{Layer: name},
		AttrInts("kernel_shape", l.Kernel[0], l.Kernel[1]), AttrInts("strides", s[0], s[1]),
		AttrInts("dilations", d[0], d[1]), AttrInts("pads", pads[:]...), AttrInt("group", group))
	return nil
}

// bias loads a layer's bias into wt when it has one.
func (e *exporter) bias(l *model.Layer, wt *weights) error {
	if !l.UseBias {
		return nil
	}
	b, err := e.param(l, "bias")
	if err != nil {
		return err
	}
	wt.bias = append([]float32(nil), b.Data...)
	return nil
}

// foldBatchNorm folds the batch norm that alone reads l into wt and returns the name of the
// layer whose output the folded node computes (the batch norm's, or l's when none folds).
func (e *exporter) foldBatchNorm(l *model.Layer, wt *weights) (string, error) {
	readers := e.consumers[l.Name]
	if l.Name == e.g.Output || len(readers) != 1 || readers[0].Op != model.OpBatchNorm {
		return l.Name, nil
	}
	bn := readers[0]
	p, err := e.bnParams(bn)
	if err != nil {
		return "", err
	}
	wt.foldBatchNorm(p)
	e.done[bn.Name] = true
	return bn.Name, nil
}

// bnParams reads a batch norm's parameters.
func (e *exporter) bnParams(l *model.Layer) (*bnParams, error) {
	var p bnParams
	for _, f := range []struct {
		name string
		dst  **model.Tensor
	}{{"gamma", &p.gamma}, {"beta", &p.beta}, {"moving_mean", &p.mean}, {"moving_variance", &p.variance}} {
		t, err := e.param(l, f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = t
	}
	p.epsilon = float64(l.Epsilon)
	if p.epsilon == 0 {
		p.epsilon = defaultBNEpsilon
	}
	return &p, nil
}

// pads is the ONNX pads attribute [top, left, bottom, right] of the layer's 'same' padding:
// TensorFlow's (the extra zero at the bottom and right) or TAO's symmetric one.
func (e *exporter) pads(l *model.Layer) [4]int {
	p := model.Pads(l, e.shapes[l.Inputs[0]]) // top, bottom, left, right
	return [4]int{p[0], p[2], p[1], p[3]}
}

func strides(l *model.Layer) [2]int { return [2]int{max(l.Strides[0], 1), max(l.Strides[1], 1)} }

func dilation(l *model.Layer) [2]int { return [2]int{max(l.Dilation[0], 1), max(l.Dilation[1], 1)} }

// dense emits Gemm with the kernel as B transposed ([units, in], transB=1) and a following
// batch norm folded in.
func (e *exporter) dense(l *model.Layer) error {
	k, err := e.param(l, "kernel")
	if err != nil {
		return err
	}
	wt := denseWeights(k)
	if err := e.bias(l, wt); err != nil {
		return err
	}
	name, err := e.foldBatchNorm(l, wt)
	if err != nil {
		return err
	}
	inputs := []string{e.in(l, 0), e.initializer(l.Name+"/W", wt.dims, wt.data)}
	if wt.bias != nil {
		inputs = append(inputs, e.initializer(l.Name+"/B", []int{len(wt.bias)}, wt.bias))
	}
	e.out[name] = e.node("Gemm", inputs, name, e.outputDims(name), Tensor{Layer: name}, AttrInt("transB", 1))
	return nil
}

// batchNorm emits a batch norm that could not be folded.
func (e *exporter) batchNorm(l *model.Layer) error {
	p, err := e.bnParams(l)
	if err != nil {
		return err
	}
	c := len(p.gamma.Data)
	inputs := []string{e.in(l, 0),
		e.initializer(l.Name+"/gamma", []int{c}, p.gamma.Data),
		e.initializer(l.Name+"/beta", []int{c}, p.beta.Data),
		e.initializer(l.Name+"/moving_mean", []int{c}, p.mean.Data),
		e.initializer(l.Name+"/moving_variance", []int{c}, p.variance.Data)}
	e.emit(l, "BatchNormalization", inputs, AttrFloat("epsilon", float32(p.epsilon)))
	return nil
}

// activation emits an activation layer; swish and mish become Sigmoid/Mul and
// Softplus/Tanh/Mul (opsets before 18 have neither).
func (e *exporter) activation(l *model.Layer) error {
	x := e.in(l, 0)
	dims := e.outputDims(l.Name)
	switch l.Activation {
	case model.ActLinear, "":
		e.out[l.Name] = x
	case model.ActReLU:
		e.emit(l, "Relu", []string{x})
	case model.ActReLU6:
		e.emit(l, "Clip", []string{x, e.scalar("zero", 0), e.scalar("six", 6)})
	case model.ActLeakyReLU:
		alpha := l.Alpha
		if alpha == 0 {
			alpha = defaultLeakyAlpha
		}
		e.emit(l, "LeakyRelu", []string{x}, AttrFloat("alpha", alpha))
	case model.ActSigmoid:
		e.emit(l, "Sigmoid", []string{x})
	case model.ActTanh:
		e.emit(l, "Tanh", []string{x})
	case model.ActSwish:
		s := e.node("Sigmoid", []string{x}, l.Name+"_sigmoid", dims, Tensor{Layer: l.Inputs[0], Fn: FnSigmoid})
		e.emit(l, "Mul", []string{x, s})
	case model.ActMish:
		sp := e.node("Softplus", []string{x}, l.Name+"_softplus", dims, Tensor{Layer: l.Inputs[0], Fn: FnSoftplus})
		t := e.node("Tanh", []string{sp}, l.Name+"_tanh", dims, Tensor{Layer: l.Inputs[0], Fn: FnTanhSoftplus})
		e.emit(l, "Mul", []string{x, t})
	case model.ActSoftmax:
		if len(dims) != 2 && e.opts.Opset < 13 {
			return fmt.Errorf("a softmax over channels of a feature map needs opset 13 or later (asked: %d)", e.opts.Opset)
		}
		e.emit(l, "Softmax", []string{x}, AttrInt("axis", 1))
	default:
		return fmt.Errorf("activation %q has no ONNX export", l.Activation)
	}
	return nil
}

// scalar returns a shared float32 scalar constant.
func (e *exporter) scalar(base string, v float32) string {
	name := "const_" + base
	if e.used[name] {
		return name
	}
	e.used[name] = true
	e.gp.Initializer = append(e.gp.Initializer, FloatTensor(name, nil, []float32{v}))
	return name
}

// pool emits MaxPool or AveragePool; average pooling leaves the padding out of the count, as
// Keras does.
func (e *exporter) pool(l *model.Layer) {
	s, p := strides(l), e.pads(l)
	x := e.in(l, 0)
	if l.Op == model.OpMaxPool && l.Padding == model.PadSameSymmetric && p != [4]int{} {
		// TAO pads a max pool with zeros, ONNX's pads with -inf: pad explicitly first.
		in := e.shapes[l.Inputs[0]]
		pads := e.int64Initializer(l.Name+"/pads", 0, 0, int64(p[0]), int64(p[1]), 0, 0, int64(p[2]), int64(p[3]))
		x = e.node("Pad", []string{x, pads}, l.Name+"_pad", []int{e.batch, in[2], in[0] + p[0] + p[2], in[1] + p[1] + p[3]},
			Tensor{Layer: l.Inputs[0]})
		p = [4]int{}
	}
	attrs := []*onnxpb.AttributeProto{AttrInts("kernel_shape", l.Kernel[0], l.Kernel[1]),
		AttrInts("strides", s[0], s[1]), AttrInts("pads", p[:]...)}
	if l.Op == model.OpMaxPool {
		e.emit(l, "MaxPool", []string{x}, attrs...)
		return
	}
	countPad := 0
	if model.CountsPadding(l) {
		countPad = 1
	}
	e.emit(l, "AveragePool", []string{x}, append(attrs, AttrInt("count_include_pad", countPad))...)
}

// globalAvgPool emits GlobalAveragePool ([N,C,1,1]), flattened unless the layer keeps dims.
func (e *exporter) globalAvgPool(l *model.Layer) {
	if l.KeepDims {
		e.emit(l, "GlobalAveragePool", []string{e.in(l, 0)})
		return
	}
	c := e.shapes[l.Name][0]
	p := e.node("GlobalAveragePool", []string{e.in(l, 0)}, l.Name+"_4d", []int{e.batch, c, 1, 1}, Tensor{Layer: l.Name})
	e.emit(l, "Flatten", []string{p}, AttrInt("axis", 1))
}

// flatten emits Flatten; over a map larger than 1x1 it first transposes NCHW back to NHWC so
// that the flattened order is Bonsai's (and Keras') H, W, C.
func (e *exporter) flatten(l *model.Layer) {
	x := e.in(l, 0)
	in := e.shapes[l.Inputs[0]]
	if len(in) != 3 {
		e.out[l.Name] = x
		return
	}
	if in[0]*in[1] > 1 {
		x = e.node("Transpose", []string{x}, l.Name+"_nhwc", []int{e.batch, in[0], in[1], in[2]},
			Tensor{Layer: l.Inputs[0]}, AttrInts("perm", 0, 2, 3, 1))
	}
	e.emit(l, "Flatten", []string{x}, AttrInt("axis", 1))
}

// elementwise emits add (Add, or Sum for more than two inputs) and multiply (a chain of Mul,
// broadcasting [N,C,1,1] against [N,C,H,W] as squeeze-and-excitation needs).
func (e *exporter) elementwise(l *model.Layer) {
	ins := e.ins(l)
	switch {
	case l.Op == model.OpAdd && len(ins) > 2:
		e.emit(l, "Sum", ins)
	case l.Op == model.OpAdd:
		e.emit(l, "Add", ins)
	default:
		y := ins[0]
		for _, x := range ins[1 : len(ins)-1] {
			y = e.node("Mul", []string{y, x}, l.Name+"_partial", e.outputDims(l.Name), Tensor{})
		}
		e.emit(l, "Mul", []string{y, ins[len(ins)-1]})
	}
}

// concat emits Concat along channels.
func (e *exporter) concat(l *model.Layer) {
	if len(l.Inputs) == 1 {
		e.out[l.Name] = e.in(l, 0)
		return
	}
	e.emit(l, "Concat", e.ins(l), AttrInt("axis", 1))
}

// zeroPad merges the padding into the convolutions that read it when only convolutions do
// (zero padding then convolution is a convolution with larger pads), else emits Pad.
func (e *exporter) zeroPad(l *model.Layer) {
	if e.padMerges(l) {
		e.padInto[l.Name] = true
		e.out[l.Name] = e.in(l, 0)
		return
	}
	p := l.Pad
	pads := e.int64Initializer(l.Name+"/pads", 0, 0, int64(p[0]), int64(p[2]), 0, 0, int64(p[1]), int64(p[3]))
	e.emit(l, "Pad", []string{e.in(l, 0), pads})
}

// channelSlice emits Slice over the channel axis.
func (e *exporter) channelSlice(l *model.Layer) {
	starts := e.int64Initializer(l.Name+"/starts", int64(l.ChannelStart))
	ends := e.int64Initializer(l.Name+"/ends", int64(l.ChannelEnd))
	axes := e.int64Initializer(l.Name+"/axes", 1)
	e.emit(l, "Slice", []string{e.in(l, 0), starts, ends, axes})
}
