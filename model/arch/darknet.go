package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
)

// DarkNet 19/53, CSPDarkNet 19/53 and CSPDarkNet-tiny as TAO's core/templates darknet.py,
// cspdarknet.py, cspdarknet_tiny.py and utils.py (_leaky_conv, _mish_conv, csp_tiny_block)
// build them. Every conv is SAME, followed by <name>_bn and an activation: DarkNet's is
// <name>_lrelu, LeakyReLU(0.1) by default (TAO ignores activation_type for darknet; Bonsai
// honours it, and the spec loader notes the difference); the CSP variants' is <name>_mish
// whatever activation_type says (mish, relu, or leaky_relu 0.1 by default). Output stride 32.
// freeze_blocks: 0 = conv1 (conv_0 for tiny), 1..5 = the stages.

func init() {
	register("darknet", family{maxBlock: 5, build: buildDarkNet})
	register("cspdarknet", family{maxBlock: 5, build: buildCSPDarkNet})
	register("cspdarknet_tiny", family{maxBlock: 5, build: buildCSPDarkNetTiny})
}

// darkConv adds conv -> BN -> activation with the DarkNet naming (<name>_bn, <name><suffix>).
type darkConv struct {
	b      *builder
	act    string
	alpha  float32
	suffix string // "_lrelu" or "_mish"
}

func (d darkConv) conv(name, in string, filters, kernel, stride int) string {
	x := d.b.conv(name, in, filters, kernel, stride, model.PadSame)
	x = d.b.bn(name+"_bn", x)
	return d.b.act(name+d.suffix, x, d.act, d.alpha)
}

// residual adds <p>_conv<i>_1 (1x1, mid) -> <p>_conv<i>_2 (3x3, out) and <p>_add<i>.
func (d darkConv) residual(x, p string, i, mid, out int) string {
	y := d.conv(fmt.Sprintf("%s_conv%d_1", p, i), x, mid, 1, 1)
	y = d.conv(fmt.Sprintf("%s_conv%d_2", p, i), y, out, 3, 1)
	return d.b.add(&model.Layer{Name: fmt.Sprintf("%s_add%d", p, i), Op: model.OpAdd, Inputs: []string{x, y}})
}

func (d darkConv) maxPool(name, in string) string {
	return d.b.pool(model.OpMaxPool, name, in, 2, 2, model.PadSame)
}

// newCSPConv starts a CSPDarkNet graph: its conv maker, with activation_type mapped as TAO's
// _mish_conv does (mish, relu, else leaky 0.1), on a fresh builder at block 0.
func newCSPConv(cfg Config) (darkConv, error) {
	act, alpha, err := activation(cfg, model.ActLeakyReLU)
	if err != nil {
		return darkConv{}, err
	}
	if act != model.ActMish && act != model.ActReLU && act != model.ActLeakyReLU {
		return darkConv{}, fmt.Errorf("activation_type %q: %s uses mish, relu or leaky_relu", cfg.Activation, cfg.Arch)
	}
	b := newBuilder(cfg)
	b.block = 0
	return darkConv{b: b, act: act, alpha: alpha, suffix: "_mish"}, nil
}

func buildDarkNet(cfg Config) (*model.Graph, error) {
	act, alpha, err := activation(cfg, model.ActLeakyReLU)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg)
	d := darkConv{b: b, act: act, alpha: alpha, suffix: "_lrelu"}
	b.block = 0
	x := d.conv("conv1", "input_1", 32, 3, 1)
	if cfg.NLayers == 53 {
		for stage, repeats := range []int{1, 2, 8, 8, 4} {
			b.block = stage + 1
			out := 64 << stage
			x = d.conv(fmt.Sprintf("conv%d", stage+2), x, out, 3, 2)
			for i := range repeats {
				x = d.residual(x, fmt.Sprintf("b%d", stage+1), i+1, out/2, out)
			}
		}
	} else {
		// Darknet-19: pool, then 3x3 / 1x1 alternations of 1, 1, 3, 3, 5, 5 convs.
		for stage, n := range []int{1, 3, 3, 5, 5} {
			b.block = stage + 1
			x = d.maxPool(fmt.Sprintf("maxpool_%d", stage+1), x)
			out := 64 << stage
			for i := range n {
				filters, kernel := out, 3
				if i%2 == 1 {
					filters, kernel = out/2, 1
				}
				x = d.conv(fmt.Sprintf("b%d_conv%d", stage+1, i+1), x, filters, kernel, 1)
			}
		}
	}
	b.darknetHead(x)
	return b.g, nil
}

func buildCSPDarkNet(cfg Config) (*model.Graph, error) {
	d, err := newCSPConv(cfg)
	if err != nil {
		return nil, err
	}
	b := d.b
	x := d.conv("conv1", "input_1", 32, 3, 1)
	if cfg.NLayers == 53 {
		x = cspDarkNet53(d, x)
	} else {
		x = cspDarkNet19(d, x)
	}
	b.darknetHead(x)
	return b.g, nil
}

// cspDarkNet53 adds the five CSP stages of CSPDarkNet-53 (YOLOv4's backbone).
func cspDarkNet53(d darkConv, x string) string {
	for stage, repeats := range []int{1, 2, 8, 8, 4} {
		d.b.block = stage + 1
		out := 64 << stage
		half := out / 2
		part, mid := half, half
		if stage == 0 { // the first stage keeps full width in both parts
			part, mid = out, half
		}
		x = d.conv(fmt.Sprintf("conv%d", stage+2), x, out, 3, 2)
		z := d.conv(fmt.Sprintf("conv%d_1", stage+2), x, part, 1, 1)
		x = d.conv(fmt.Sprintf("conv%d_2", stage+2), x, part, 1, 1)
		p := fmt.Sprintf("b%d", stage+1)
		for i := range repeats {
			inner := mid
			if stage > 0 {
				inner = part
			}
			x = d.residual(x, p, i+1, inner, part)
		}
		x = d.conv(p+"_partial_trans", x, part, 1, 1)
		x = d.b.add(&model.Layer{Name: p + "_concat", Op: model.OpConcat, Inputs: []string{x, z}})
		x = d.conv(p+"_final_trans", x, out, 1, 1)
	}
	return x
}

// cspDarkNet19 adds TAO's CSPDarkNet-19: Darknet-19's stages with a CSP split from stage 2 on.
func cspDarkNet19(d darkConv, x string) string {
	d.b.block = 1
	x = d.maxPool("maxpool_1", x)
	x = d.conv("b1_conv1", x, 64, 3, 1)
	for stage, n := range []int{2, 2, 4, 4} { // convs between part2 and partial_trans
		d.b.block = stage + 2
		out := 128 << stage
		half := out / 2
		p := fmt.Sprintf("b%d", stage+2)
		x = d.maxPool(fmt.Sprintf("maxpool_%d", stage+2), x)
		x = d.conv(p+"_conv1", x, out, 3, 1)
		z := d.conv(p+"_part1", x, half, 1, 1)
		x = d.conv(p+"_part2", x, half, 1, 1)
		for i := range n {
			kernel := 1
			if i%2 == 1 {
				kernel = 3
			}
			x = d.conv(fmt.Sprintf("%s_conv%d", p, i+2), x, half, kernel, 1)
		}
		x = d.conv(p+"_partial_trans", x, half, 1, 1)
		x = d.b.add(&model.Layer{Name: p + "_concat", Op: model.OpConcat, Inputs: []string{x, z}})
		x = d.conv(p+"_final_trans", x, out, 1, 1)
	}
	return x
}

func buildCSPDarkNetTiny(cfg Config) (*model.Graph, error) {
	d, err := newCSPConv(cfg)
	if err != nil {
		return nil, err
	}
	b := d.b
	x := d.conv("conv_0", "input_1", 32, 3, 2)
	b.block = 1
	x = d.conv("conv_1", x, 64, 3, 2)
	for i, filters := range []int{64, 128, 256} {
		b.block = i + 2
		x = d.cspTinyBlock(x, fmt.Sprintf("conv_%d", i+2), filters)
	}
	b.block = 5
	x = d.conv("conv_5", x, 512, 3, 1)
	b.darknetHead(x)
	return b.g, nil
}

// cspTinyBlock is YOLOv4-tiny's CSP block (utils.py csp_tiny_block): conv, split off the second
// half of the channels, two convs, concat, 1x1 conv, concat with the first conv, 2x2 max pool.
func (d darkConv) cspTinyBlock(in, name string, filters int) string {
	x := d.conv(name+"_conv_0", in, filters, 3, 1)
	route := x
	x = d.b.add(&model.Layer{Name: name + "_split_0", Op: model.OpChannelSlice, Inputs: []string{x},
		ChannelStart: filters / 2, ChannelEnd: filters})
	x = d.conv(name+"_conv_1", x, filters/2, 3, 1)
	route1 := x
	x = d.conv(name+"_conv_2", x, filters/2, 3, 1)
	x = d.b.add(&model.Layer{Name: name + "_concat_0", Op: model.OpConcat, Inputs: []string{x, route1}})
	x = d.conv(name+"_conv_3", x, filters, 1, 1)
	x = d.b.add(&model.Layer{Name: name + "_concat_1", Op: model.OpConcat, Inputs: []string{route, x}})
	return d.b.pool(model.OpMaxPool, name+"_pool_0", x, 2, 2, model.PadValid)
}

// darknetHead is TAO's dense head, or with retain_head the templates' avgpool -> predictions.
func (b *builder) darknetHead(x string) {
	if !b.cfg.RetainHead {
		b.taoHead(x)
		return
	}
	b.block = -1
	x = b.add(&model.Layer{Name: "avgpool", Op: model.OpGlobalAvgPool, Inputs: []string{x}})
	b.g.Output = b.add(&model.Layer{Name: "predictions", Op: model.OpDense, Inputs: []string{x},
		Units: b.cfg.NumClasses, UseBias: true})
}
