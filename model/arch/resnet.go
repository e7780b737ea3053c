package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// ResNet as TAO's core/templates/resnet.py and utils.py CNNBlock build it:
//
//   - conv1 7x7/2 (64) -> bn_conv1 -> activation_1; with use_pooling a 3x3/2 max pool follows.
//   - four stages block_1 .. block_4 of repeated subblocks block_<stage><a,b,..>_conv_<i> /
//     _bn_<i> / _relu_<i>; the first conv of a subblock carries the stride. Stage strides are
//     2,2,2,1 without use_pooling (output stride 16) and 1,2,2,2 with it.
//   - the first subblock of every stage always has a 1x1 projection shortcut
//     (block_<s>a_conv_shortcut, padding valid), even where the shape does not change (so TAO's
//     resnet18 has 64x64 more weights in block_1a than torchvision's); with all_projections every
//     subblock has one. The shortcut and the main path meet in add_<n>, then block_..._relu.
//   - with use_pooling, a 7x7/7 SAME average pool (average_pooling2d_1) ends the backbone.
//   - freeze_blocks ids: 0 = conv1, 1..4 = the stages.
//
// TAO's classification wrapper forces activation relu for ResNet; Bonsai honours
// activation_type when it is set.
var resnetStages = map[int]struct {
	repeats    [4]int
	bottleneck bool
}{
	10:  {[4]int{1, 1, 1, 1}, false},
	18:  {[4]int{2, 2, 2, 2}, false},
	34:  {[4]int{3, 4, 6, 3}, false},
	50:  {[4]int{3, 4, 6, 3}, true},
	101: {[4]int{3, 4, 23, 3}, true},
	152: {[4]int{3, 8, 36, 3}, true},
	200: {[4]int{3, 24, 36, 3}, true},
}

func init() {
	register("resnet", family{maxBlock: 4, build: buildResNet})
}

// convSpec is one convolution of a subblock: kernel size and filters.
type convSpec struct{ kernel, filters int }

func resnetSubblocks(stage int, bottleneck bool) []convSpec {
	width := 64 << stage
	if bottleneck {
		return []convSpec{{1, width}, {3, width}, {1, 4 * width}}
	}
	return []convSpec{{3, width}, {3, width}}
}

func buildResNet(cfg Config) (*model.Graph, error) {
	spec, ok := resnetStages[cfg.NLayers]
	if !ok {
		return nil, fmt.Errorf("no resnet with n_layers %d", cfg.NLayers)
	}
	act, alpha, err := activation(cfg, model.ActReLU)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	b.block = 0
	x := b.conv("conv1", "input_1", 64, 7, 2, model.PadSame)
	x = b.bn("bn_conv1", x)
	x = b.act(b.autoName("activation"), x, act, alpha)
	firstStride, lastStride := 2, 1
	if cfg.UsePooling {
		x = b.pool(model.OpMaxPool, b.autoName("max_pooling2d"), x, 3, 2, model.PadSame)
		firstStride, lastStride = 1, 2
	}
	for stage := range 4 {
		stride := 2
		switch stage {
		case 0:
			stride = firstStride
		case 3:
			stride = lastStride
		}
		b.block = stage + 1
		convs := resnetSubblocks(stage, spec.bottleneck)
		for i := range spec.repeats[stage] {
			prefix := fmt.Sprintf("block_%d%s_", stage+1, subblockID(i))
			s := 1
			if i == 0 {
				s = stride
			}
			shortcut := shortcutIdentity
			if i == 0 || cfg.AllProjections {
				shortcut = shortcutProjection
			}
			x = b.cnnSubblock(x, prefix, convs, s, shortcut, act, alpha)
		}
	}
	if cfg.UsePooling {
		b.block = -1
		x = b.pool(model.OpAvgPool, b.autoName("average_pooling2d"), x, 7, 7, model.PadSame)
	}
	if cfg.RetainHead {
		b.templateHead(x)
	} else {
		b.taoHead(x)
	}
	return b.g, nil
}

// shortcut is how a CNNBlock subblock joins its input back in.
type shortcut int

const (
	shortcutNone       shortcut = iota // VGG: use_shortcuts=False
	shortcutIdentity                   // the input is added as it is
	shortcutProjection                 // a 1x1 conv (+ BN) projects the input first
)

// cnnSubblock adds one subblock of TAO's CNNBlock (utils.py _subblocks) and returns its output:
// convs in sequence (the first one strided) each followed by BN, activations between them, the
// shortcut add, and the final activation <prefix><act>.
func (b *builder) cnnSubblock(in, prefix string, convs []convSpec, stride int, sc shortcut, act string, alpha float32) string {
	x := in
	for i, c := range convs {
		s := 1
		if i == 0 {
			s = stride
		}
		x = b.conv(fmt.Sprintf("%sconv_%d", prefix, i+1), x, c.filters, c.kernel, s, model.PadSame)
		x = b.bn(fmt.Sprintf("%sbn_%d", prefix, i+1), x)
		if i != len(convs)-1 {
			x = b.act(fmt.Sprintf("%s%s_%d", prefix, act, i+1), x, act, alpha)
		}
	}
	if sc != shortcutNone {
		short := in
		if sc == shortcutProjection {
			filters := convs[len(convs)-1].filters
			short = b.conv(prefix+"conv_shortcut", in, filters, 1, stride, model.PadValid)
			short = b.bn(prefix+"bn_shortcut", short)
		}
		x = b.add(&model.Layer{Name: b.autoName("add"), Op: model.OpAdd, Inputs: []string{x, short}})
	}
	return b.act(prefix+act, x, act, alpha)
}
