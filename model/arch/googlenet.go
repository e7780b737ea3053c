package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// GoogLeNet (Inception v1) as TAO's core/templates/googlenet.py and utils.py InceptionV1Block
// build it: conv1 7x7/2 (64), pool1 2x2/2, conv2_reduce 1x1 (64), conv2 3x3 (192), pool2 2x2/2,
// inception 3a, 3b, pool3 2x2/2, 4a..4e, 5a, 5b. TAO's pools are 2x2 (the paper's are 3x3) and,
// without retain_head, there is no pool4, so the backbone's output stride is 16.
// An inception block has four branches concatenated in inception_<i>_output: 1x1; 3x3_reduce ->
// 3x3; 5x5_reduce -> 5x5; 3x3/1 max pool -> pool_proj. Each conv is followed by <conv>_bn and an
// unnamed activation (activation_<n>). freeze_blocks: 0 = the stem convs, 1..9 = 3a..5b.
// retain_head adds pool4, avg_pool 7x7/1 SAME, flatten, dropout 0.4 and output_fc, as TAO does.
var googlenetBlocks = []struct {
	index    string
	branches [6]int // 1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj
}{
	{"3a", [6]int{64, 96, 128, 16, 32, 32}},
	{"3b", [6]int{128, 128, 192, 32, 96, 64}},
	{"4a", [6]int{192, 96, 208, 16, 48, 64}},
	{"4b", [6]int{160, 112, 224, 24, 64, 64}},
	{"4c", [6]int{128, 128, 256, 24, 64, 64}},
	{"4d", [6]int{112, 144, 288, 32, 64, 64}},
	{"4e", [6]int{256, 160, 320, 32, 128, 128}},
	{"5a", [6]int{256, 160, 320, 32, 128, 128}},
	{"5b", [6]int{384, 192, 384, 48, 128, 128}},
}

func init() {
	register("googlenet", family{maxBlock: 9, build: buildGoogLeNet})
}

func buildGoogLeNet(cfg Config) (*model.Graph, error) {
	act, alpha, err := activation(cfg, model.ActReLU)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	b.block = 0
	convBNAct := func(name, bnName, in string, filters, kernel, stride int) string {
		x := b.conv(name, in, filters, kernel, stride, model.PadSame)
		x = b.bn(bnName, x)
		return b.act(b.autoName("activation"), x, act, alpha)
	}
	x := convBNAct("conv1", "bn_conv1", "input_1", 64, 7, 2)
	x = b.pool(model.OpMaxPool, "pool1", x, 2, 2, model.PadSame)
	x = convBNAct("conv2_reduce", "bn_conv2_reduce", x, 64, 1, 1)
	x = convBNAct("conv2", "bn_conv2", x, 192, 3, 1)
	x = b.pool(model.OpMaxPool, "pool2", x, 2, 2, model.PadSame)
	for i, blk := range googlenetBlocks {
		b.block = i + 1
		x = b.inceptionV1(x, "inception_"+blk.index, blk.branches, act, alpha)
		switch {
		case blk.index == "3b":
			x = b.pool(model.OpMaxPool, "pool3", x, 2, 2, model.PadSame)
		case blk.index == "4e" && cfg.RetainHead:
			x = b.pool(model.OpMaxPool, "pool4", x, 2, 2, model.PadSame)
		}
	}
	if !cfg.RetainHead {
		b.taoHead(x)
		return b.g, nil
	}
	b.block = -1
	x = b.pool(model.OpAvgPool, "avg_pool", x, 7, 1, model.PadSame)
	x = b.add(&model.Layer{Name: "flatten", Op: model.OpFlatten, Inputs: []string{x}})
	x = b.add(&model.Layer{Name: b.autoName("dropout"), Op: model.OpDropout, Inputs: []string{x}, Rate: 0.4})
	b.g.Output = b.add(&model.Layer{Name: "output_fc", Op: model.OpDense, Inputs: []string{x}, Units: cfg.NumClasses, UseBias: true})
	return b.g, nil
}

// inceptionV1 adds one Inception v1 block in TAO's layer order and returns its concat.
func (b *builder) inceptionV1(in, prefix string, f [6]int, act string, alpha float32) string {
	convBNAct := func(id, in string, filters, kernel int) string {
		name := fmt.Sprintf("%s_%s", prefix, id)
		x := b.conv(name, in, filters, kernel, 1, model.PadSame)
		x = b.bn(name+"_bn", x)
		return b.act(b.autoName("activation"), x, act, alpha)
	}
	x1 := convBNAct("1x1", in, f[0], 1)
	x2 := convBNAct("3x3_reduce", in, f[1], 1)
	x2 = convBNAct("3x3", x2, f[2], 3)
	x3 := convBNAct("5x5_reduce", in, f[3], 1)
	x3 = convBNAct("5x5", x3, f[4], 5)
	x4 := b.pool(model.OpMaxPool, prefix+"_pool", in, 3, 1, model.PadSame)
	x4 = convBNAct("pool_proj", x4, f[5], 1)
	return b.add(&model.Layer{Name: prefix + "_output", Op: model.OpConcat, Inputs: []string{x1, x2, x3, x4}})
}
