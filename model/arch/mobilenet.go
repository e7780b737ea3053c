package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// MobileNet v1 and v2 as TAO's core/templates/mobilenet.py and utils.py (_conv_block,
// _depthwise_conv_block, _inverted_res_block) build them, at output stride 32:
//
//   - 3x3 convolutions use explicit 1-pixel zero padding and VALID convolution (conv1_pad,
//     conv_pad_<i>, block_<i>_depthwise_pad), as TAO does for TensorRT. With padding_mode
//     "keras" the stride-2 ones pad bottom/right as Keras Applications does (correct_pad), so
//     that its ImageNet weights (e.g. MobileNetV2-0.35) see the inputs they were trained on.
//   - TAO's activation is relu (relu6 when activation_type says so; names follow TAO's: re_lu_<i>
//     or conv_dw_<i>_relu6, ...). TAO fixes the width multiplier at 1; Bonsai exposes it
//     (Config.WidthMultiplier, Keras' alpha).
//   - freeze_blocks: v1 0 = conv1, i = depthwise block i (1..13); v2 0 = conv1, i = inverted
//     residual block i-1 (1..17), 18 = conv_1. Depthwise and pointwise convs both freeze.
//   - v2 with all_projections replaces identity shortcuts by a bias-free 1x1 conv
//     (block_<i>_projected_inputs).

func init() {
	register("mobilenet_v1", family{maxBlock: 13, build: buildMobileNetV1})
	register("mobilenet_v2", family{maxBlock: 18, build: buildMobileNetV2})
}

// mobilenetV1Blocks lists the pointwise filters and stride of depthwise blocks 1..13.
var mobilenetV1Blocks = []struct{ filters, stride int }{
	{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
	{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
}

// reluNames picks TAO's layer name for relu or relu6 variants.
func reluNames(act, relu, relu6 string) string {
	if act == model.ActReLU6 {
		return relu6
	}
	return relu
}

func buildMobileNetV1(cfg Config) (*model.Graph, error) {
	act, alpha, err := activation(cfg, model.ActReLU)
	if err != nil {
		return nil, err
	}
	width := float64(cfg.WidthMultiplier)
	b := newBuilder(cfg)
	b.block = 0
	x := b.stridedPad("conv1_pad", "input_1", 2)
	x = b.conv("conv1", x, int(32*width), 3, 2, model.PadValid)
	x = b.bn("conv1_bn", x)
	x = b.act(reluNames(act, "conv_block_relu", "conv_block_relu6"), x, act, alpha)
	for i, blk := range mobilenetV1Blocks {
		id := i + 1
		b.block = id
		x = b.stridedPad(fmt.Sprintf("conv_pad_%d", id), x, blk.stride)
		x = b.depthwise(fmt.Sprintf("conv_dw_%d", id), x, blk.stride)
		x = b.bn(fmt.Sprintf("conv_dw_%d_bn", id), x)
		x = b.act(fmt.Sprintf(reluNames(act, "conv_dw_%d_relu", "conv_dw_%d_relu6"), id), x, act, alpha)
		x = b.conv(fmt.Sprintf("conv_pw_%d", id), x, int(float64(blk.filters)*width), 1, 1, model.PadValid)
		x = b.bn(fmt.Sprintf("conv_pw_%d_bn", id), x)
		x = b.act(fmt.Sprintf(reluNames(act, "conv_pw_relu_%d", "conv_pw_relu6_%d"), id), x, act, alpha)
	}
	if cfg.RetainHead {
		b.block = -1
		x = b.pool(model.OpAvgPool, b.autoName("average_pooling2d"), x, 7, 7, model.PadValid)
		x = b.add(&model.Layer{Name: "flatten_1", Op: model.OpFlatten, Inputs: []string{x}})
		// TAO hard-codes the head's dropout to 0 (model_config.dropout is not passed on).
		x = b.add(&model.Layer{Name: "dropout", Op: model.OpDropout, Inputs: []string{x}, Rate: 0})
		b.g.Output = b.add(&model.Layer{Name: "predictions", Op: model.OpDense, Inputs: []string{x},
			Units: cfg.NumClasses, UseBias: true})
		return b.g, nil
	}
	b.taoHead(x)
	return b.g, nil
}

// mobilenetV2Blocks lists expansion, output filters and stride of inverted residual blocks 0..16.
var mobilenetV2Blocks = []struct{ expansion, filters, stride int }{
	{1, 16, 1},
	{6, 24, 2}, {6, 24, 1},
	{6, 32, 2}, {6, 32, 1}, {6, 32, 1},
	{6, 64, 2}, {6, 64, 1}, {6, 64, 1}, {6, 64, 1},
	{6, 96, 1}, {6, 96, 1}, {6, 96, 1},
	{6, 160, 2}, {6, 160, 1}, {6, 160, 1},
	{6, 320, 1},
}

// makeDivisible rounds v to the nearest multiple of divisor, never below divisor and never more
// than 10% below v (Keras applications' _make_divisible).
func makeDivisible(v float64, divisor int) int {
	n := max(divisor, int(v+float64(divisor)/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

func buildMobileNetV2(cfg Config) (*model.Graph, error) {
	act, alpha, err := activation(cfg, model.ActReLU)
	if err != nil {
		return nil, err
	}
	width := float64(cfg.WidthMultiplier)
	b := newBuilder(cfg)
	b.block = 0
	x := b.stridedPad("conv1_pad", "input_1", 2)
	x = b.conv("conv1", x, makeDivisible(32*width, 8), 3, 2, model.PadValid)
	x = b.bn("bn_conv1", x)
	x = b.act("re_lu_0", x, act, alpha)
	channels := makeDivisible(32*width, 8)
	for id, blk := range mobilenetV2Blocks {
		b.block = id + 1
		filters := makeDivisible(float64(int(float64(blk.filters)*width)), 8)
		x = b.invertedResidual(x, id, channels, blk.expansion, filters, blk.stride, act, alpha)
		channels = filters
	}
	last := 1280
	if width > 1 {
		last = makeDivisible(1280*width, 8)
	}
	b.block = 18
	x = b.conv("conv_1", x, last, 1, 1, model.PadValid)
	x = b.bn("conv_1_bn", x)
	x = b.act("re_lu_head", x, act, alpha)
	if cfg.RetainHead {
		b.block = -1
		x = b.pool(model.OpAvgPool, b.autoName("average_pooling2d"), x, 7, 7, model.PadValid)
		x = b.add(&model.Layer{Name: "flatten_1", Op: model.OpFlatten, Inputs: []string{x}})
		b.g.Output = b.add(&model.Layer{Name: "predictions", Op: model.OpDense, Inputs: []string{x},
			Units: cfg.NumClasses, UseBias: true})
		return b.g, nil
	}
	b.taoHead(x)
	return b.g, nil
}

// invertedResidual adds MobileNet v2 block id: 1x1 expand (not for block 0), padded 3x3
// depthwise, 1x1 linear projection, and the residual add when shapes allow.
func (b *builder) invertedResidual(in string, id, inChannels, expansion, filters, stride int, act string, alpha float32) string {
	prefix := fmt.Sprintf("block_%d_", id)
	x := in
	if id > 0 {
		x = b.conv(prefix+"expand", x, expansion*inChannels, 1, 1, model.PadValid)
		x = b.bn(prefix+"expand_bn", x)
		x = b.act(fmt.Sprintf("re_lu_%d", id+1), x, act, alpha)
	} else {
		prefix = "expanded_conv_"
	}
	x = b.stridedPad(prefix+"depthwise_pad", x, stride)
	x = b.depthwise(prefix+"depthwise", x, stride)
	x = b.bn(prefix+"depthwise_bn", x)
	x = b.act(prefix+reluNames(act, "relu", "relu6"), x, act, alpha)
	x = b.conv(prefix+"project", x, filters, 1, 1, model.PadValid)
	x = b.bn(prefix+"project_bn", x)
	if inChannels != filters || stride != 1 {
		return x
	}
	short := in
	if b.cfg.AllProjections {
		short = b.add(&model.Layer{Name: prefix + "projected_inputs", Op: model.OpConv, Inputs: []string{in},
			Filters: inChannels, Kernel: [2]int{1, 1}, Padding: model.PadValid, Frozen: b.frozen()})
	}
	return b.add(&model.Layer{Name: prefix + "add", Op: model.OpAdd, Inputs: []string{short, x}})
}
