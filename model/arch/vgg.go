package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// VGG as TAO's core/templates/vgg.py builds it, with CNNBlock subblocks of one 3x3 conv and
// no shortcuts: block_<b><a,b,..>_conv_1 / _bn_1 / _relu, blocks 1..5 of 64, 128, 256, 512, 512
// filters. With use_pooling a 2x2/2 max pool (block<b>_pool) follows blocks 1..4; without it the
// first conv of blocks 2..5 has stride 2. Either way the output stride is 16.
// freeze_blocks ids are 1..5. retain_head adds block5_pool (with use_pooling), flatten,
// fc1/fc2 (4096, relu, dropout when model_config.dropout > 0) and output_fc.
var vggRepeats = map[int][5]int{
	16: {2, 2, 3, 3, 3},
	19: {2, 2, 4, 4, 4},
}

func init() {
	register("vgg", family{maxBlock: 5, build: buildVGG})
}

func buildVGG(cfg Config) (*model.Graph, error) {
	repeats, ok := vggRepeats[cfg.NLayers]
	if !ok {
		return nil, fmt.Errorf("no vgg with n_layers %d", cfg.NLayers)
	}
	act, alpha, err := activation(cfg, model.ActReLU)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	x := "input_1"
	for blk := range 5 {
		b.block = blk + 1
		stride := 2
		if blk == 0 || cfg.UsePooling {
			stride = 1
		}
		convs := []convSpec{{3, min(64<<blk, 512)}}
		for i := range repeats[blk] {
			s := 1
			if i == 0 {
				s = stride
			}
			prefix := fmt.Sprintf("block_%d%s_", blk+1, subblockID(i))
			x = b.cnnSubblock(x, prefix, convs, s, shortcutNone, act, alpha)
		}
		if cfg.UsePooling && (blk < 4 || cfg.RetainHead) {
			x = b.pool(model.OpMaxPool, fmt.Sprintf("block%d_pool", blk+1), x, 2, 2, model.PadSame)
		}
	}
	if cfg.RetainHead {
		b.vggHead(x, act, alpha)
	} else {
		b.taoHead(x)
	}
	return b.g, nil
}

// vggHead is the template's own head: flatten, fc1, fc2 (4096 each) and output_fc.
func (b *builder) vggHead(in, act string, alpha float32) {
	b.block = -1
	x := b.add(&model.Layer{Name: "flatten", Op: model.OpFlatten, Inputs: []string{in}})
	for _, fc := range []string{"fc1", "fc2"} {
		x = b.add(&model.Layer{Name: fc, Op: model.OpDense, Inputs: []string{x}, Units: 4096, UseBias: true})
		x = b.act(fc+"_"+act, x, act, alpha)
		if b.cfg.Dropout > 0 {
			x = b.add(&model.Layer{Name: b.autoName("dropout"), Op: model.OpDropout, Inputs: []string{x}, Rate: b.cfg.Dropout})
		}
	}
	b.g.Output = b.add(&model.Layer{Name: "output_fc", Op: model.OpDense, Inputs: []string{x},
		Units: b.cfg.NumClasses, UseBias: true})
}
