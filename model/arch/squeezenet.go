package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// SqueezeNet (v1.0) and AlexNet as TAO's core/templates squeezenet.py, utils.py fire_module and
// alexnet.py build them. Both always use conv biases and no batch norm, and TAO passes them
// neither use_batch_norm nor use_bias nor activation.
//
// SqueezeNet: conv1 7x7/2 (96) -> conv1_relu -> pool1 3x3/2 -> fire2..fire9 with pool4 and
// pool8 (3x3/2) after fire4 and fire8; a fire module is fire<i>_squeeze_conv (1x1) ->
// fire<i>_squeeze, then fire<i>_expand_conv1x1 / _conv3x3 -> fire<i>_expand_1x1 / _3x3,
// concatenated in fire<i>. freeze_blocks: 0 = conv1, 1..8 = fire2..fire9. retain_head adds
// fire9_dropout (TAO hard-codes 1e-3), conv10 (1x1, classes) -> conv10_relu -> pool10.
//
// AlexNet (TAO's variant: no groups, no pool5): conv1 11x11/4 (96), pool1, conv2 5x5 (256), pool2,
// conv3, conv4 (384), conv5 (256), each conv followed by <conv>_relu; pools 3x3/2 SAME.
// freeze_blocks: 1..5 = conv1..conv5, 6..8 = fc6, fc7, head_fc8 of retain_head's head.

func init() {
	register("squeezenet", family{maxBlock: 8, build: buildSqueezeNet})
	register("alexnet", family{maxBlock: 8, build: buildAlexNet})
}

// squeezeNetFires lists squeeze and expand filters of fire2..fire9.
var squeezeNetFires = [][2]int{{16, 64}, {16, 64}, {32, 128}, {32, 128}, {48, 192}, {48, 192}, {64, 256}, {64, 256}}

// biasedConv adds a SAME conv with a bias, whatever use_bias says.
func (b *builder) biasedConv(name, in string, filters, kernel, stride int) string {
	return b.add(&model.Layer{Name: name, Op: model.OpConv, Inputs: []string{in}, Filters: filters,
		Kernel: [2]int{kernel, kernel}, Strides: [2]int{stride, stride}, Padding: model.PadSame,
		UseBias: true, Frozen: b.frozen()})
}

func buildSqueezeNet(cfg Config) (*model.Graph, error) {
	b := newBuilder(cfg)
	b.block = 0
	x := b.biasedConv("conv1", "input_1", 96, 7, 2)
	x = b.act("conv1_relu", x, model.ActReLU, 0)
	x = b.pool(model.OpMaxPool, "pool1", x, 3, 2, model.PadSame)
	for i, f := range squeezeNetFires {
		id := i + 2
		b.block = i + 1
		x = b.fireModule(x, id, f[0], f[1])
		if id == 4 || id == 8 {
			x = b.pool(model.OpMaxPool, fmt.Sprintf("pool%d", id), x, 3, 2, model.PadSame)
		}
	}
	if !cfg.RetainHead {
		b.taoHead(x)
		return b.g, nil
	}
	b.block = -1
	x = b.add(&model.Layer{Name: "fire9_dropout", Op: model.OpDropout, Inputs: []string{x}, Rate: 1e-3})
	x = b.biasedConv("conv10", x, cfg.NumClasses, 1, 1)
	x = b.act("conv10_relu", x, model.ActReLU, 0)
	b.g.Output = b.add(&model.Layer{Name: "pool10", Op: model.OpGlobalAvgPool, Inputs: []string{x}})
	return b.g, nil
}

// fireModule adds SqueezeNet's fire module <id>.
func (b *builder) fireModule(in string, id, squeeze, expand int) string {
	p := fmt.Sprintf("fire%d", id)
	x := b.biasedConv(p+"_squeeze_conv", in, squeeze, 1, 1)
	x = b.act(p+"_squeeze", x, model.ActReLU, 0)
	e1 := b.biasedConv(p+"_expand_conv1x1", x, expand, 1, 1)
	e1 = b.act(p+"_expand_1x1", e1, model.ActReLU, 0)
	e3 := b.biasedConv(p+"_expand_conv3x3", x, expand, 3, 1)
	e3 = b.act(p+"_expand_3x3", e3, model.ActReLU, 0)
	return b.add(&model.Layer{Name: p, Op: model.OpConcat, Inputs: []string{e1, e3}})
}

func buildAlexNet(cfg Config) (*model.Graph, error) {
	b := newBuilder(cfg)
	x := "input_1"
	for i, c := range []struct{ filters, kernel, stride int }{{96, 11, 4}, {256, 5, 1}, {384, 3, 1}, {384, 3, 1}, {256, 3, 1}} {
		b.block = i + 1
		name := fmt.Sprintf("conv%d", i+1)
		x = b.biasedConv(name, x, c.filters, c.kernel, c.stride)
		x = b.act(name+"_relu", x, model.ActReLU, 0)
		if i < 2 {
			x = b.pool(model.OpMaxPool, fmt.Sprintf("pool%d", i+1), x, 3, 2, model.PadSame)
		}
	}
	if !cfg.RetainHead {
		b.taoHead(x)
		return b.g, nil
	}
	b.block = -1
	x = b.add(&model.Layer{Name: "flatten", Op: model.OpFlatten, Inputs: []string{x}})
	for i, fc := range []string{"fc6", "fc7", "head_fc8"} {
		b.block = i + 6
		units := 4096
		if fc == "head_fc8" {
			units = cfg.NumClasses
		}
		x = b.add(&model.Layer{Name: fc, Op: model.OpDense, Inputs: []string{x}, Units: units, UseBias: true, Frozen: b.frozen()})
		if fc != "head_fc8" {
			x = b.act(fc+"_relu", x, model.ActReLU, 0)
		}
	}
	b.g.Output = x
	return b.g, nil
}
