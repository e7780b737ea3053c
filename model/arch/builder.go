package arch

import (
	"fmt"
	"slices"

	"github.com/bonsai-ml/bonsai/model"
)

// builder appends layers to a graph, applying the options every family shares: the current
// freeze_blocks id (Frozen on convolutions only, as TAO), freeze_bn, batch-norm settings, the
// padding mode ('same' layers become TAO's symmetric ones in PaddingTAO) and Keras-style
// automatic names (activation_1, add_1, ...).
type builder struct {
	g      *model.Graph
	cfg    Config
	block  int
	auto   map[string]int         // Keras auto-name counters by base name
	shapes map[string]model.Shape // output shapes so far (for input-dependent padding)
}

func newBuilder(cfg Config) *builder {
	g := &model.Graph{Arch: cfg.Arch, NLayers: cfg.NLayers, Input: cfg.InputSize}
	b := &builder{g: g, cfg: cfg, auto: map[string]int{}, shapes: map[string]model.Shape{}}
	b.block = -1
	b.add(&model.Layer{Name: "input_1", Op: model.OpInput})
	return b
}

// add appends a layer tagged with the current block and returns its name. It records the
// layer's output shape when it can be inferred (Build validates the whole graph afterwards).
func (b *builder) add(l *model.Layer) string {
	l.Block = b.block
	if l.Padding == model.PadSame && b.cfg.Padding == model.PaddingTAO {
		l.Padding = model.PadSameSymmetric
	}
	b.g.Layers = append(b.g.Layers, l)
	if l.Op == model.OpInput {
		b.shapes[l.Name] = model.Shape{b.cfg.InputSize[1], b.cfg.InputSize[2], b.cfg.InputSize[0]}
		return l.Name
	}
	ins := make([]model.Shape, len(l.Inputs))
	for i, in := range l.Inputs {
		if ins[i] = b.shapes[in]; ins[i] == nil {
			return l.Name
		}
	}
	if s, err := model.OutputShape(l, ins); err == nil {
		b.shapes[l.Name] = s
	}
	return l.Name
}

// autoName returns Keras' automatic layer name: base_1, base_2, ...
func (b *builder) autoName(base string) string {
	b.auto[base]++
	return fmt.Sprintf("%s_%d", base, b.auto[base])
}

func (b *builder) frozen() bool { return slices.Contains(b.cfg.FreezeBlocks, b.block) }

// conv adds a square conv2d with the config's use_bias.
func (b *builder) conv(name, in string, filters, kernel, stride int, padding string) string {
	return b.add(&model.Layer{Name: name, Op: model.OpConv, Inputs: []string{in}, Filters: filters,
		Kernel: [2]int{kernel, kernel}, Strides: [2]int{stride, stride}, Padding: padding,
		UseBias: b.cfg.UseBias, Frozen: b.frozen()})
}

// bn adds a batch norm when use_batch_norm is set; otherwise it returns in unchanged.
func (b *builder) bn(name, in string) string {
	if !b.cfg.UseBatchNorm {
		return in
	}
	return b.add(&model.Layer{Name: name, Op: model.OpBatchNorm, Inputs: []string{in},
		Epsilon: b.cfg.BNEpsilon, Momentum: b.cfg.BNMomentum, FrozenBN: b.cfg.FreezeBN})
}

func (b *builder) act(name, in, activation string, alpha float32) string {
	return b.add(&model.Layer{Name: name, Op: model.OpActivation, Inputs: []string{in},
		Activation: activation, Alpha: alpha})
}

func (b *builder) pool(op model.Op, name, in string, kernel, stride int, padding string) string {
	return b.add(&model.Layer{Name: name, Op: op, Inputs: []string{in},
		Kernel: [2]int{kernel, kernel}, Strides: [2]int{stride, stride}, Padding: padding})
}

// taoHead adds TAO's classification head (makenet model_builder.add_dense_head):
// avg_pool over the whole feature map -> flatten -> dense predictions. The engine applies softmax.
func (b *builder) taoHead(in string) {
	b.block = -1
	x := b.add(&model.Layer{Name: "avg_pool", Op: model.OpGlobalAvgPool, Inputs: []string{in}, KeepDims: true})
	x = b.add(&model.Layer{Name: "flatten", Op: model.OpFlatten, Inputs: []string{x}})
	b.g.Output = b.add(&model.Layer{Name: "predictions", Op: model.OpDense, Inputs: []string{x},
		Units: b.cfg.NumClasses, UseBias: true})
}

// templateHead adds the templates' own head used with retain_head (templates/utils
// add_dense_head): flatten -> dense head_fc<N>.
func (b *builder) templateHead(in string) {
	b.block = -1
	x := b.add(&model.Layer{Name: b.autoName("flatten"), Op: model.OpFlatten, Inputs: []string{in}})
	b.g.Output = b.add(&model.Layer{Name: fmt.Sprintf("head_fc%d", b.cfg.NumClasses), Op: model.OpDense,
		Inputs: []string{x}, Units: b.cfg.NumClasses, UseBias: true})
}

// subblockID is TAO's subblock letter: 0 -> a, 25 -> z, 26 -> aa, ...
func subblockID(i int) string {
	id := ""
	for cur := i; cur >= 0; cur = cur/26 - 1 {
		id = string(rune('a'+cur%26)) + id
	}
	return id
}

// stridedPad adds the zero padding in front of a 3x3 convolution with the given stride: one
// pixel on every side (TAO's), or, for a stride-2 convolution in model.PaddingKeras, Keras'
// correct_pad (bottom/right only on even sizes).
func (b *builder) stridedPad(name, in string, stride int) string {
	if stride == 2 && b.cfg.Padding == model.PaddingKeras {
		return b.add(&model.Layer{Name: name, Op: model.OpZeroPad, Inputs: []string{in}, Pad: correctPad(b.shapes[in], 3)})
	}
	return b.zeroPad(name, in, 1)
}

// zeroPad adds symmetric zero padding of p pixels on every side.
func (b *builder) zeroPad(name, in string, p int) string {
	return b.add(&model.Layer{Name: name, Op: model.OpZeroPad, Inputs: []string{in}, Pad: [4]int{p, p, p, p}})
}

// depthwise adds a 3x3 depthwise conv (multiplier 1, VALID: callers pad explicitly).
func (b *builder) depthwise(name, in string, stride int) string {
	return b.add(&model.Layer{Name: name, Op: model.OpDepthwiseConv, Inputs: []string{in},
		Kernel: [2]int{3, 3}, Strides: [2]int{stride, stride}, Padding: model.PadValid,
		DepthMultiplier: 1, UseBias: b.cfg.UseBias, Frozen: b.frozen()})
}
