package arch

import (
	"fmt"
	"math"

	"github.com/bonsai-ml/bonsai/model"
)

// EfficientNet B0..B7 as TAO's core/templates/efficientnet.py and utils.py block() build them
// (the Keras Applications design): stem_conv 3x3/2 -> stem_bn -> stem_activation; seven stages
// of MBConv blocks block<stage><a,b,..>_ (expand_conv, dwconv, squeeze-and-excitation with
// biased 1x1 convs, project_conv, drop-connect before the residual add); top_conv 1x1 -> top_bn
// -> top_activation. Strided depthwise convs pad explicitly (Keras correct_pad), others are SAME.
// Batch norm is always on. Activation: swish unless activation_type says otherwise (TAO ignores
// activation_type for b0 because of a keyword typo in its template; Bonsai honours it).
// freeze_blocks: 0 = stem, 1..7 = the stages, 8 = top_conv. Drop-connect rate grows linearly
// over the blocks as TAO computes it: 0.2*b/16 for block b (0-based), where 16 is B0's block
// count even for the deeper variants (Keras Applications divides by the scaled count), so B1's
// last block reaches 0.2*22/16 = 0.275. retain_head adds top_dropout (the variant's rate).

// efficientNetStage is one row of the B0 block table.
type efficientNetStage struct {
	kernel, repeats, in, out, expand, stride int
}

var efficientNetB0Stages = []efficientNetStage{
	{3, 1, 32, 16, 1, 1},
	{3, 2, 16, 24, 6, 2},
	{5, 2, 24, 40, 6, 2},
	{3, 3, 40, 80, 6, 2},
	{5, 3, 80, 112, 6, 1},
	{5, 4, 112, 192, 6, 2},
	{3, 1, 192, 320, 6, 1},
}

// efficientNetScales are width and depth coefficients and head dropout per variant.
var efficientNetScales = map[string]struct{ width, depth, dropout float64 }{
	"efficientnet_b0": {1.0, 1.0, 0.2},
	"efficientnet_b1": {1.0, 1.1, 0.2},
	"efficientnet_b2": {1.1, 1.2, 0.3},
	"efficientnet_b3": {1.2, 1.4, 0.3},
	"efficientnet_b4": {1.4, 1.8, 0.4},
	"efficientnet_b5": {1.6, 2.2, 0.4},
	"efficientnet_b6": {1.8, 2.6, 0.5},
	"efficientnet_b7": {2.0, 3.1, 0.5},
}

const (
	efficientNetDropConnect = 0.2
	efficientNetSERatio     = 0.25
)

func init() {
	for name := range efficientNetScales {
		register(name, family{maxBlock: 8, build: buildEfficientNet})
	}
}

// roundFilters scales a channel count by the width coefficient, to a multiple of 8.
func roundFilters(filters int, width float64) int {
	return makeDivisible(float64(filters)*width, 8)
}

func roundRepeats(repeats int, depth float64) int {
	return int(math.Ceil(depth * float64(repeats)))
}

// correctPad is Keras' correct_pad for a strided conv: (top, bottom, left, right).
func correctPad(in model.Shape, kernel int) [4]int {
	c := kernel / 2
	return [4]int{c - (1 - in[0]%2), c, c - (1 - in[1]%2), c}
}

func buildEfficientNet(cfg Config) (*model.Graph, error) {
	scale := efficientNetScales[cfg.Arch]
	act, alpha, err := activation(cfg, model.ActSwish)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	b.block = 0
	x := b.add(&model.Layer{Name: "stem_conv_pad", Op: model.OpZeroPad, Inputs: []string{"input_1"},
		Pad: correctPad(b.shapes["input_1"], 3)})
	x = b.conv("stem_conv", x, roundFilters(32, scale.width), 3, 2, model.PadValid)
	x = b.alwaysBN("stem_bn", x)
	x = b.act("stem_activation", x, act, alpha)
	total := 0 // TAO: sum of the unscaled repeats
	for _, s := range efficientNetB0Stages {
		total += s.repeats
	}
	n := 0
	for i, s := range efficientNetB0Stages {
		b.block = i + 1
		in, out := roundFilters(s.in, scale.width), roundFilters(s.out, scale.width)
		for j := range roundRepeats(s.repeats, scale.depth) {
			stride := s.stride
			if j > 0 {
				stride, in = 1, out
			}
			name := fmt.Sprintf("block%d%c_", i+1, 'a'+j)
			rate := float32(efficientNetDropConnect * float64(n) / float64(total))
			x = b.mbConv(x, name, in, out, s.kernel, stride, s.expand, rate, act, alpha)
			n++
		}
	}
	b.block = 8
	x = b.conv("top_conv", x, roundFilters(1280, scale.width), 1, 1, model.PadSame)
	x = b.alwaysBN("top_bn", x)
	x = b.act("top_activation", x, act, alpha)
	if !cfg.RetainHead {
		b.taoHead(x)
		return b.g, nil
	}
	b.block = -1
	x = b.add(&model.Layer{Name: "avg_pool", Op: model.OpGlobalAvgPool, Inputs: []string{x}, KeepDims: true})
	x = b.add(&model.Layer{Name: "flatten", Op: model.OpFlatten, Inputs: []string{x}})
	x = b.add(&model.Layer{Name: "top_dropout", Op: model.OpDropout, Inputs: []string{x}, Rate: float32(scale.dropout)})
	b.g.Output = b.add(&model.Layer{Name: "predictions", Op: model.OpDense, Inputs: []string{x}, Units: cfg.NumClasses, UseBias: true})
	return b.g, nil
}

// alwaysBN adds a batch norm whatever use_batch_norm says (EfficientNet always has them).
func (b *builder) alwaysBN(name, in string) string {
	return b.add(&model.Layer{Name: name, Op: model.OpBatchNorm, Inputs: []string{in},
		Epsilon: b.cfg.BNEpsilon, Momentum: b.cfg.BNMomentum, FrozenBN: b.cfg.FreezeBN})
}

// mbConv adds one mobile inverted bottleneck block (utils.py block()).
func (b *builder) mbConv(in, name string, filtersIn, filtersOut, kernel, stride, expand int, dropRate float32, act string, alpha float32) string {
	x := in
	filters := filtersIn * expand
	if expand != 1 {
		x = b.conv(name+"expand_conv", x, filters, 1, 1, model.PadSame)
		x = b.alwaysBN(name+"expand_bn", x)
		x = b.act(name+"expand_activation", x, act, alpha)
	}
	padding := model.PadSame
	if stride == 2 {
		x = b.add(&model.Layer{Name: name + "dwconv_pad", Op: model.OpZeroPad, Inputs: []string{x},
			Pad: correctPad(b.shapes[x], kernel)})
		padding = model.PadValid
	}
	x = b.add(&model.Layer{Name: name + "dwconv", Op: model.OpDepthwiseConv, Inputs: []string{x},
		Kernel: [2]int{kernel, kernel}, Strides: [2]int{stride, stride}, Padding: padding,
		DepthMultiplier: 1, UseBias: b.cfg.UseBias, Frozen: b.frozen()})
	x = b.alwaysBN(name+"bn", x)
	x = b.act(name+"activation", x, act, alpha)
	x = b.squeezeExcite(x, name, filters, max(1, int(float64(filtersIn)*efficientNetSERatio)), act, alpha)
	x = b.add(&model.Layer{Name: name + "project_conv", Op: model.OpConv, Inputs: []string{x}, Filters: filtersOut,
		Kernel: [2]int{1, 1}, Padding: model.PadSame, Frozen: b.frozen()})
	x = b.alwaysBN(name+"project_bn", x)
	if stride != 1 || filtersIn != filtersOut {
		return x
	}
	if dropRate > 0 {
		x = b.add(&model.Layer{Name: name + "drop", Op: model.OpDropPath, Inputs: []string{x}, Rate: dropRate})
	}
	return b.add(&model.Layer{Name: name + "add", Op: model.OpAdd, Inputs: []string{x, in}})
}

// squeezeExcite adds SE: global pool -> 1x1 reduce (biased, activation) -> 1x1 expand (biased,
// sigmoid) -> multiply. Keras fuses the activations into the convs; here they are layers
// <conv>_activation.
func (b *builder) squeezeExcite(in, name string, filters, reduced int, act string, alpha float32) string {
	se := b.add(&model.Layer{Name: name + "se_squeeze", Op: model.OpGlobalAvgPool, Inputs: []string{in}, KeepDims: true})
	se = b.add(&model.Layer{Name: name + "se_reduce", Op: model.OpConv, Inputs: []string{se}, Filters: reduced,
		Kernel: [2]int{1, 1}, Padding: model.PadSame, UseBias: true, Frozen: b.frozen()})
	se = b.act(name+"se_reduce_activation", se, act, alpha)
	se = b.add(&model.Layer{Name: name + "se_expand", Op: model.OpConv, Inputs: []string{se}, Filters: filters,
		Kernel: [2]int{1, 1}, Padding: model.PadSame, UseBias: true, Frozen: b.frozen()})
	se = b.act(name+"se_expand_activation", se, model.ActSigmoid, 0)
	return b.add(&model.Layer{Name: name + "se_excite", Op: model.OpMultiply, Inputs: []string{in, se}})
}
