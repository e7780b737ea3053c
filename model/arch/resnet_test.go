package arch

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// torchvisionLike is the TAO configuration closest to torchvision's ResNets: batch norm,
// bias-free convs, max pool after conv1 (use_pooling), projection shortcuts only where TAO
// puts them, 1000 classes at 224x224.
func torchvisionLike(depth int) Config {
	return Config{Arch: "resnet", NLayers: depth, InputSize: [3]int{3, 224, 224}, NumClasses: 1000,
		UseBatchNorm: true, UsePooling: true}
}

func mustBuild(t *testing.T, cfg Config) *model.Graph {
	t.Helper()
	g, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func summarize(t *testing.T, g *model.Graph) *model.Summary {
	t.Helper()
	s, err := g.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestResNetTorchvisionParamCounts compares trainable counts with torchvision's published ones
// (pytorch.org/vision/stable/models: resnet18 11,689,512; resnet34 21,797,672; resnet50
// 25,557,032; resnet101 44,549,160; resnet152 60,192,808). torchvision counts BN gamma/beta but not running stats,
// which is our trainable count. TAO's template gives the first subblock of every stage a 1x1
// projection shortcut; for the basic-block ResNets (18, 34) torchvision has none in layer1, so
// TAO has 64*64 kernel weights + 2*64 BN weights more. The bottleneck ResNets match exactly.
func TestResNetTorchvisionParamCounts(t *testing.T) {
	const taoExtraBlock1a = 64*64 + 2*64
	for _, c := range []struct {
		depth       int
		torchvision int
		extra       int
	}{
		{18, 11_689_512, taoExtraBlock1a},
		{34, 21_797_672, taoExtraBlock1a},
		{50, 25_557_032, 0},
		{101, 44_549_160, 0},
		{152, 60_192_808, 0},
	} {
		s := summarize(t, mustBuild(t, torchvisionLike(c.depth)))
		if s.Trainable != c.torchvision+c.extra {
			t.Errorf("resnet%d trainable params %d, want torchvision %d + TAO extra %d = %d",
				c.depth, s.Trainable, c.torchvision, c.extra, c.torchvision+c.extra)
		}
		if want := 2 * bnChannels(t, s); s.NonTrainable != want || want == 0 {
			t.Errorf("resnet%d non-trainable %d, want the BN moving statistics %d", c.depth, s.NonTrainable, want)
		}
	}
}

// bnChannels sums the channels of all batch-norm layers.
func bnChannels(t *testing.T, s *model.Summary) int {
	n := 0
	for _, r := range s.Rows {
		if r.Type == "BatchNormalization" {
			n += r.Shape.Channels()
		}
	}
	return n
}

// TestResNet18TAOSampleSpecCount checks the count TAO itself printed for the sample spec
// (resnet18, use_batch_norm, all_projections, no pooling, no conv bias, 2 classes): a public
// user run reports 7,334,274 params after pruning at "Pruning ratio (pruned model / original
// model): 0.6353601900291853", i.e. 11,543,490 params (Keras count, BN statistics included).
func TestResNet18TAOSampleSpecCount(t *testing.T) {
	g := mustBuild(t, Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 2,
		UseBatchNorm: true, AllProjections: true, FreezeBlocks: []int{0, 1}})
	total, _, err := g.ParamCount()
	if err != nil {
		t.Fatal(err)
	}
	if total != 11_543_490 {
		t.Fatalf("params %d, want 11,543,490", total)
	}
}

// TestResNet10HandCount derives ResNet-10's count by hand (BN, no conv bias, use_pooling,
// 1000 classes): kernels kh*kw*cin*cout, BN 4 per channel (2 trainable), dense 512*1000+1000.
func TestResNet10HandCount(t *testing.T) {
	kernels := 7*7*3*64 + // conv1
		3*3*64*64 + 3*3*64*64 + 64*64 + // block_1a: conv_1, conv_2, conv_shortcut
		3*3*64*128 + 3*3*128*128 + 64*128 + // block_2a
		3*3*128*256 + 3*3*256*256 + 128*256 + // block_3a
		3*3*256*512 + 3*3*512*512 + 256*512 // block_4a
	bnChannels := 64 + 3*64 + 3*128 + 3*256 + 3*512
	dense := 512*1000 + 1000
	s := summarize(t, mustBuild(t, torchvisionLike(10)))
	if want := kernels + 2*bnChannels + dense; s.Trainable != want {
		t.Errorf("trainable %d, want %d", s.Trainable, want)
	}
	if want := kernels + 4*bnChannels + dense; s.TotalParams != want {
		t.Errorf("total %d, want %d", s.TotalParams, want)
	}
	// With use_bias every conv gets a bias of its filter count.
	cfg := torchvisionLike(10)
	cfg.UseBias = true
	sb := summarize(t, mustBuild(t, cfg))
	convBias := 64 + 3*64 + 3*128 + 3*256 + 3*512
	if sb.TotalParams != s.TotalParams+convBias {
		t.Errorf("with use_bias total %d, want %d", sb.TotalParams, s.TotalParams+convBias)
	}
}

func TestResNetOutputShapes(t *testing.T) {
	for _, c := range []struct {
		input      [3]int
		depth      int
		usePooling bool
		stage4     model.Shape // HWC after the last stage
	}{
		{[3]int{3, 224, 224}, 18, true, model.Shape{7, 7, 512}},
		{[3]int{3, 224, 224}, 18, false, model.Shape{14, 14, 512}}, // output stride 16
		{[3]int{3, 64, 96}, 50, true, model.Shape{2, 3, 2048}},
		{[3]int{3, 64, 96}, 50, false, model.Shape{4, 6, 2048}},
		{[3]int{1, 32, 32}, 10, true, model.Shape{1, 1, 512}},
		{[3]int{1, 32, 32}, 34, false, model.Shape{2, 2, 512}},
		{[3]int{3, 17, 45}, 18, true, model.Shape{1, 2, 512}},
		{[3]int{3, 17, 45}, 101, false, model.Shape{2, 3, 2048}},
	} {
		cfg := Config{Arch: "resnet", NLayers: c.depth, InputSize: c.input, NumClasses: 7, UseBatchNorm: true, UsePooling: c.usePooling}
		g := mustBuild(t, cfg)
		shapes, err := g.Shapes()
		if err != nil {
			t.Fatal(err)
		}
		last := lastStageOutput(g)
		if got := shapes[last]; !slices.Equal(got, c.stage4) {
			t.Errorf("resnet%d %v pooling=%v: %s shape %v, want %v", c.depth, c.input, c.usePooling, last, got, c.stage4)
		}
		if got := shapes["predictions"]; !slices.Equal(got, model.Shape{7}) {
			t.Errorf("predictions shape %v", got)
		}
		if got := shapes["conv1"]; got[0] != (c.input[1]+1)/2 || got[1] != (c.input[2]+1)/2 || got[2] != 64 {
			t.Errorf("conv1 shape %v for input %v", got, c.input)
		}
	}
}

// lastStageOutput is the final activation of stage 4.
func lastStageOutput(g *model.Graph) string {
	name := ""
	for _, l := range g.Layers {
		if l.Block == 4 && l.Op == model.OpActivation {
			name = l.Name
		}
	}
	return name
}

func TestResNetNamesAndWiring(t *testing.T) {
	g := mustBuild(t, Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 64, 64}, NumClasses: 3, UseBatchNorm: true})
	idx := g.Index()
	if len(idx) != len(g.Layers) {
		t.Fatalf("%d layers but %d unique names", len(g.Layers), len(idx))
	}
	for _, name := range []string{"conv1", "bn_conv1", "block_1a_conv_1", "block_1a_bn_1", "block_1a_relu_1",
		"block_1a_conv_2", "block_1a_bn_2", "block_1a_conv_shortcut", "block_1a_bn_shortcut", "block_1a_relu",
		"block_1b_conv_1", "block_4b_relu", "avg_pool", "flatten", "predictions"} {
		if idx[name] == nil {
			t.Errorf("missing layer %q", name)
		}
	}
	if idx["block_1b_conv_shortcut"] != nil {
		t.Error("block_1b has a projection shortcut without all_projections")
	}
	if idx["max_pooling2d_1"] != nil {
		t.Error("max pool present without use_pooling")
	}
	if g.Output != "predictions" {
		t.Errorf("output %q", g.Output)
	}
	// The identity shortcut of block_1b feeds its add directly from block_1a's output.
	add := idx[idx["block_1b_relu"].Inputs[0]]
	if add.Op != model.OpAdd || !slices.Contains(add.Inputs, "block_1a_relu") {
		t.Errorf("block_1b add inputs %v", add.Inputs)
	}
	if s := idx["block_1a_conv_1"].Strides; s != [2]int{2, 2} {
		t.Errorf("block_1a_conv_1 strides %v without use_pooling, want 2", s)
	}
	if s := idx["block_4a_conv_1"].Strides; s != [2]int{1, 1} {
		t.Errorf("block_4a_conv_1 strides %v without use_pooling, want 1", s)
	}
}

func TestResNetAllProjections(t *testing.T) {
	cfg := Config{Arch: "resnet", NLayers: 34, InputSize: [3]int{3, 32, 32}, NumClasses: 10, AllProjections: true}
	g := mustBuild(t, cfg)
	n := 0
	for _, l := range g.Layers {
		if strings.HasSuffix(l.Name, "_conv_shortcut") {
			n++
		}
		if l.Op == model.OpBatchNorm {
			t.Errorf("batch norm %q without use_batch_norm", l.Name)
		}
	}
	if n != 3+4+6+3 {
		t.Errorf("%d shortcut convs, want one per subblock (16)", n)
	}
}

func TestResNetFreezeBlocks(t *testing.T) {
	cfg := torchvisionLike(18)
	cfg.FreezeBlocks = []int{0, 2}
	cfg.FreezeBN = true
	g := mustBuild(t, cfg)
	frozenParams := 0
	for _, l := range g.Layers {
		wantFrozen := l.Op == model.OpConv && (l.Block == 0 || l.Block == 2)
		if l.Frozen != wantFrozen {
			t.Errorf("%s (block %d): frozen %v, want %v", l.Name, l.Block, l.Frozen, wantFrozen)
		}
		if l.Op == model.OpBatchNorm && !l.FrozenBN {
			t.Errorf("%s: freeze_bn not applied", l.Name)
		}
		if wantFrozen {
			frozenParams += l.Kernel[0] * l.Kernel[1] * l.Filters * inChannels(t, g, l)
		}
	}
	s := summarize(t, g)
	base := summarize(t, mustBuild(t, torchvisionLike(18)))
	if s.Trainable != base.Trainable-frozenParams || s.TotalParams != base.TotalParams {
		t.Errorf("trainable %d, want %d - %d frozen", s.Trainable, base.Trainable, frozenParams)
	}
	for _, name := range []string{"conv1", "block_2a_conv_shortcut", "block_2b_conv_2"} {
		if !g.Index()[name].Frozen {
			t.Errorf("%s not frozen", name)
		}
	}
	if g.Index()["block_1a_conv_1"].Frozen || g.Index()["predictions"].Frozen {
		t.Error("blocks outside freeze_blocks are frozen")
	}
}

func inChannels(t *testing.T, g *model.Graph, l *model.Layer) int {
	shapes, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	return shapes[l.Inputs[0]].Channels()
}

func TestResNetRetainHead(t *testing.T) {
	cfg := Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{3, 224, 224}, NumClasses: 5, UseBatchNorm: true, UsePooling: true, RetainHead: true}
	g := mustBuild(t, cfg)
	if g.Output != "head_fc5" || g.Index()["avg_pool"] != nil {
		t.Fatalf("retain_head: output %q", g.Output)
	}
	shapes, _ := g.Shapes()
	if !slices.Equal(shapes["average_pooling2d_1"], model.Shape{1, 1, 512}) {
		t.Errorf("7x7 average pool output %v", shapes["average_pooling2d_1"])
	}
}

func TestBuildErrors(t *testing.T) {
	base := Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 2}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Arch = "resnt" }, "resnet (10, 18, 34, 50, 101, 152, 200)"},
		{func(c *Config) { c.NLayers = 20 }, "valid: [10 18 34 50 101 152 200]"},
		{func(c *Config) { c.InputSize[0] = 4 }, "channels must be 1 or 3"},
		{func(c *Config) { c.InputSize[2] = 8 }, "at least 16"},
		{func(c *Config) { c.NumClasses = 0 }, "classes"},
		{func(c *Config) { c.FreezeBlocks = []int{5} }, "freeze_blocks id 5"},
		{func(c *Config) { c.Activation = "gelu" }, "unknown activation_type"},
		{func(c *Config) { c.Arch, c.NLayers, c.InputSize = "cspdarknet_tiny", 0, [3]int{3, 16, 16} },
			"building cspdarknet_tiny at input_image_size 3,16,16: layer \"conv_4_pool_0\" (max_pool): input 1x1 is too small"},
	} {
		cfg := base
		c.edit(&cfg)
		if _, err := Build(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to mention %q", err, c.want)
		}
	}
	cfg := base
	cfg.NLayers = 0
	if g := mustBuild(t, cfg); g.NLayers != 18 {
		t.Errorf("n_layers 0 built resnet%d, want TAO's default 18", g.NLayers)
	}
}

func TestSubblockID(t *testing.T) {
	for i, want := range map[int]string{0: "a", 1: "b", 25: "z", 26: "aa", 27: "ab", 52: "ba"} {
		if got := subblockID(i); got != want {
			t.Errorf("subblockID(%d) = %q, want %q", i, got, want)
		}
	}
}

// TestResNet18MACs checks the multiply-adds against torchvision's published 1.81 GFLOPS (MACs)
// for resnet18 at 224x224 plus TAO's extra block_1a shortcut (56*56*64*64 MACs).
func TestResNet18MACs(t *testing.T) {
	s := summarize(t, mustBuild(t, torchvisionLike(18)))
	torchvision := s.MACs - 56*56*64*64
	if torchvision < 1_805_000_000 || torchvision > 1_825_000_000 {
		t.Errorf("resnet18 MACs without TAO's block_1a shortcut %d, want about 1.81e9", torchvision)
	}
	if s.FLOPs < 2*s.MACs {
		t.Errorf("FLOPs %d < 2*MACs %d", s.FLOPs, s.MACs)
	}
}

func TestResNetJSONRoundTrip(t *testing.T) {
	cfg := torchvisionLike(50)
	cfg.FreezeBlocks = []int{1}
	g := mustBuild(t, cfg)
	data, err := g.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	back, err := model.ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, back) {
		t.Fatal("JSON round trip changed the resnet50 graph")
	}
}
