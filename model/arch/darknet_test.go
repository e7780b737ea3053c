package arch

import (
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// TestDarkNetPublishedCounts compares with timm's ImageNet models (huggingface.co/timm model
// cards: darknet53.c2ns_in1k 41.61 M params, cspdarknet53.ra_in1k 27.64 M params; both BN,
// bias-free convs, global pool + fc 1000, the same topology as TAO's templates) and the
// papers' operation counts: YOLO9000 (Redmon & Farhadi 2016) "Darknet-19 only requires 5.58
// billion operations" at 224x224 (its head is a 1x1 conv to 1000 classes on the 7x7 map);
// YOLOv3 (2018) Table 2, Darknet-53 at 256x256: 18.7 billion operations.
func TestDarkNetPublishedCounts(t *testing.T) {
	for _, c := range []struct {
		arch   string
		depth  int
		paramM float64
	}{
		{"darknet", 53, 41.61},
		{"cspdarknet", 53, 27.64},
	} {
		s := summarize(t, mustBuild(t, Config{Arch: c.arch, NLayers: c.depth, InputSize: [3]int{3, 224, 224}, NumClasses: 1000, UseBatchNorm: true}))
		if m := float64(s.Trainable) / 1e6; m < c.paramM-0.005 || m > c.paramM+0.005 {
			t.Errorf("%s%d: %.3f M trainable params, want %.2f M", c.arch, c.depth, m, c.paramM)
		}
	}
	s19 := summarize(t, mustBuild(t, Config{Arch: "darknet", NLayers: 19, InputSize: [3]int{3, 224, 224}, NumClasses: 1000, UseBatchNorm: true}))
	// Our head is dense; the paper's is a 1x1 conv on 7x7x1024: add its 7*7*1024*1000 mult-adds.
	ops := 2 * float64(s19.MACs-1024*1000+7*7*1024*1000) / 1e9
	if ops < 5.58*0.99 || ops > 5.58*1.01 {
		t.Errorf("darknet19: %.3f billion operations, want 5.58", ops)
	}
	s53 := summarize(t, mustBuild(t, Config{Arch: "darknet", NLayers: 53, InputSize: [3]int{3, 256, 256}, NumClasses: 1000, UseBatchNorm: true}))
	if ops := 2 * float64(s53.MACs) / 1e9; ops < 18.7*0.98 || ops > 18.7*1.02 {
		t.Errorf("darknet53 at 256: %.2f billion operations, want 18.7", ops)
	}
}

// TestCSPDarkNetHandCounts derives CSPDarkNet-19 and CSPDarkNet-tiny (no published classifier
// counts) by hand: conv kernels k*k*cin*cout, 2 trainable BN parameters per channel, dense head.
func TestCSPDarkNetHandCounts(t *testing.T) {
	type conv struct{ k, cin, cout int }
	count := func(convs []conv, classes, features int) int {
		n := features*classes + classes
		for _, c := range convs {
			n += c.k*c.k*c.cin*c.cout + 2*c.cout
		}
		return n
	}
	// CSPDarkNet-19 stage s (out = 128<<s, h = out/2): conv1 3x3 in->out, part1/part2 1x1 out->h,
	// then 1x1/3x3 pairs h->h, partial_trans 1x1 h->h, final_trans 1x1 2h->out.
	csp19 := []conv{{3, 3, 32}, {3, 32, 64}}
	in := 64
	for s, pairs := range []int{1, 1, 2, 2} {
		out := 128 << s
		h := out / 2
		csp19 = append(csp19, conv{3, in, out}, conv{1, out, h}, conv{1, out, h})
		for range pairs {
			csp19 = append(csp19, conv{1, h, h}, conv{3, h, h})
		}
		csp19 = append(csp19, conv{1, h, h}, conv{1, 2 * h, out})
		in = out
	}
	// CSPDarkNet-tiny: conv_0 3->32 /2, conv_1 32->64 /2, three CSP blocks of f filters (conv_0 3x3
	// in->f, conv_1 3x3 f/2->f/2, conv_2 3x3 f/2->f/2, conv_3 1x1 f->f; output 2f), conv_5 3x3 -> 512.
	tiny := []conv{{3, 3, 32}, {3, 32, 64}}
	in = 64
	for _, f := range []int{64, 128, 256} {
		tiny = append(tiny, conv{3, in, f}, conv{3, f / 2, f / 2}, conv{3, f / 2, f / 2}, conv{1, f, f})
		in = 2 * f
	}
	tiny = append(tiny, conv{3, in, 512})
	for _, c := range []struct {
		arch     string
		depth    int
		want     int
		features int
	}{
		{"cspdarknet", 19, count(csp19, 10, 1024), 1024},
		{"cspdarknet_tiny", 0, count(tiny, 10, 512), 512},
	} {
		s := summarize(t, mustBuild(t, Config{Arch: c.arch, NLayers: c.depth, InputSize: [3]int{3, 224, 224}, NumClasses: 10, UseBatchNorm: true}))
		if s.Trainable != c.want {
			t.Errorf("%s%d: trainable %d, want %d", c.arch, c.depth, s.Trainable, c.want)
		}
	}
}

func TestDarkNetShapesAndActivations(t *testing.T) {
	for _, c := range []struct {
		arch, act, last string
		depth           int
		input           [3]int
		want            model.Shape
	}{
		{"darknet", "", "b5_conv5_lrelu", 19, [3]int{3, 224, 224}, model.Shape{7, 7, 1024}},
		{"darknet", "", "b5_add4", 53, [3]int{3, 64, 96}, model.Shape{2, 3, 1024}},
		{"darknet", "relu", "b5_conv5_lrelu", 19, [3]int{3, 32, 32}, model.Shape{1, 1, 1024}}, // TAO ignores it; Bonsai honours it
		{"cspdarknet", "mish", "b5_final_trans_mish", 53, [3]int{1, 32, 32}, model.Shape{1, 1, 1024}},
		{"cspdarknet", "relu", "b5_final_trans_mish", 19, [3]int{3, 96, 64}, model.Shape{3, 2, 1024}},
		{"cspdarknet_tiny", "", "conv_5_mish", 0, [3]int{3, 224, 224}, model.Shape{7, 7, 512}},
		{"cspdarknet_tiny", "leaky_relu", "conv_5_mish", 0, [3]int{3, 64, 96}, model.Shape{2, 3, 512}},
	} {
		g := mustBuild(t, Config{Arch: c.arch, NLayers: c.depth, InputSize: c.input, NumClasses: 3, UseBatchNorm: true, Activation: c.act})
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes[c.last]; !slices.Equal(got, c.want) {
			t.Errorf("%s%d %v: %s %v, want %v", c.arch, c.depth, c.input, c.last, got, c.want)
		}
		want := map[string]string{"": model.ActLeakyReLU, "mish": model.ActMish, "relu": model.ActReLU, "leaky_relu": model.ActLeakyReLU}[c.act]
		for _, l := range g.Layers {
			if l.Op == model.OpActivation && (l.Activation != want || (want == model.ActLeakyReLU && l.Alpha != 0.1)) {
				t.Fatalf("%s: %s is %s(%g), want %s", c.arch, l.Name, l.Activation, l.Alpha, want)
			}
		}
	}
	if _, err := Build(Config{Arch: "cspdarknet", NLayers: 53, InputSize: [3]int{3, 64, 64}, NumClasses: 2, Activation: "swish"}); err == nil {
		t.Error("cspdarknet accepted swish")
	}
}

func TestCSPDarkNetTinySplit(t *testing.T) {
	g := mustBuild(t, Config{Arch: "cspdarknet_tiny", InputSize: [3]int{3, 64, 64}, NumClasses: 2, UseBatchNorm: true, FreezeBlocks: []int{3}})
	idx := g.Index()
	split := idx["conv_3_split_0"]
	if split.Op != model.OpChannelSlice || split.ChannelStart != 64 || split.ChannelEnd != 128 {
		t.Errorf("conv_3_split_0 = %+v, want channels [64,128) of conv_3_conv_0", split)
	}
	if !idx["conv_3_conv_2"].Frozen || idx["conv_2_conv_2"].Frozen {
		t.Error("freeze_blocks 3 did not freeze exactly conv_3's convs")
	}
}
