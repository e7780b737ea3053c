package onnx

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/prune"
)

// everyOpGraph is a small graph with each op and attribute the exporter handles, on an odd,
// non-square input: a batch norm on the input and one after an add (not foldable), zero
// padding merged into a convolution and one that is not (before a pool), grouped, dilated,
// strided and depthwise (multiplier 2) convolutions, every activation, a three-input add, an
// SE-style multiply, a channel slice, a concat, SAME average and max pooling, a flatten over
// a 2x2 map, dropout, a dense with a folded batch norm, a global pool without kept dims and
// an add as the output layer.
func everyOpGraph() *model.Graph {
	L := func(name string, op model.Op, in ...string) *model.Layer {
		return &model.Layer{Name: name, Op: op, Inputs: in, Block: -1}
	}
	conv := func(name, in string, filters, k, stride int, pad string) *model.Layer {
		l := L(name, model.OpConv, in)
		l.Filters, l.Kernel, l.Strides, l.Padding, l.UseBias = filters, [2]int{k, k}, [2]int{stride, stride}, pad, true
		return l
	}
	bn := func(name, in string) *model.Layer {
		l := L(name, model.OpBatchNorm, in)
		l.Epsilon, l.Momentum = 1e-3, 0.9
		return l
	}
	act := func(name, in, a string, alpha float32) *model.Layer {
		l := L(name, model.OpActivation, in)
		l.Activation, l.Alpha = a, alpha
		return l
	}
	pad0 := L("pad0", model.OpZeroPad, "bn0")
	pad0.Pad = [4]int{1, 2, 0, 1}
	c2 := conv("c2", "r1", 6, 3, 1, model.PadSame)
	c2.Groups, c2.Dilation, c2.UseBias = 2, [2]int{2, 2}, false
	dw := L("dw", model.OpDepthwiseConv, "lk2")
	dw.Kernel, dw.Strides, dw.Padding, dw.DepthMultiplier = [2]int{3, 3}, [2]int{2, 1}, model.PadSame, 2
	gap := L("se_gap", model.OpGlobalAvgPool, "mish")
	gap.KeepDims = true
	slice := L("slice", model.OpChannelSlice, "se_mul")
	slice.ChannelStart, slice.ChannelEnd = 2, 7
	pad1 := L("pad1", model.OpZeroPad, "cat")
	pad1.Pad = [4]int{0, 1, 1, 0}
	avg := L("avg", model.OpAvgPool, "pad1")
	avg.Kernel, avg.Strides, avg.Padding = [2]int{3, 3}, [2]int{2, 2}, model.PadSame
	maxp := L("maxp", model.OpMaxPool, "avg")
	maxp.Kernel, maxp.Strides, maxp.Padding = [2]int{2, 2}, [2]int{1, 1}, model.PadValid
	drop := L("drop", model.OpDropout, "flat")
	drop.Rate = 0.5
	d1 := L("d1", model.OpDense, "drop")
	d1.Units, d1.UseBias = 7, true
	dA := L("dA", model.OpDense, "tanh")
	dA.Units = 5
	gap2 := L("gap2", model.OpGlobalAvgPool, "mish")
	dB := L("dB", model.OpDense, "gap2")
	dB.Units, dB.UseBias = 5, true
	g := &model.Graph{Arch: "everyop", Input: [3]int{3, 13, 10}, Output: "predictions", Layers: []*model.Layer{
		L("input_1", model.OpInput), bn("bn0", "input_1"), pad0,
		conv("c1", "pad0", 8, 3, 2, model.PadSame), bn("bn1", "c1"), act("r1", "bn1", model.ActReLU6, 0),
		c2, act("lk2", "c2", model.ActLeakyReLU, 0), dw, bn("dw_bn", "dw"), act("sw", "dw_bn", model.ActSwish, 0),
		conv("pw", "sw", 12, 1, 1, model.PadValid), bn("pw_bn", "pw"),
		L("add3", model.OpAdd, "sw", "pw_bn", "sw"), bn("add_bn", "add3"), act("mish", "add_bn", model.ActMish, 0),
		gap, conv("se_conv", "se_gap", 12, 1, 1, model.PadValid), act("se_sig", "se_conv", model.ActSigmoid, 0),
		L("se_mul", model.OpMultiply, "mish", "se_sig"), slice, L("cat", model.OpConcat, "slice", "se_mul"),
		pad1, avg, maxp, L("flat", model.OpFlatten, "maxp"), drop, d1, bn("d1_bn", "d1"),
		act("relu", "d1_bn", model.ActReLU, 0), act("lin", "relu", model.ActLinear, 0), act("tanh", "lin", model.ActTanh, 0),
		dA, gap2, dB, L("predictions", model.OpAdd, "dA", "dB"),
	}}
	return g
}

// TestExportEveryOpMatchesOnnxRuntime checks the hand-made graph at two opsets, with and
// without an input scale (which a batch norm on the input keeps from folding into a convolution).
func TestExportEveryOpMatchesOnnxRuntime(t *testing.T) {
	rt := onnxtools.Require(t)
	g := everyOpGraph()
	shapes, err := g.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if s := shapes["maxp"]; s[0]*s[1] < 2 || s[0] == s[1] {
		t.Fatalf("the flatten should see a non-square map larger than 1x1, got %v", s)
	}
	eng := exporttest.OpenEngine(t)
	x := exporttest.FashionImages(t, 3, 3, 13, 10)
	dir := t.TempDir()
	var paths []string
	for i, opts := range []Options{{Opset: 12}, {Opset: 17, BatchSize: 3, InputScale: []float32{0.5, 2, 1.25}}} {
		w := exporttest.RandomWeights(t, eng, g, int64(i+7))
		for _, k := range []string{"dA/kernel", "dB/kernel", "dB/bias"} { // spread the probabilities
			for j := range w[k].Data {
				w[k].Data[j] *= 15
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("everyop%d.onnx", i))
		exportAndCompare(t, rt, g, w, x, opts, path)
		paths = append(paths, path)
	}
	checkFiles(t, paths...)
}

// TestExportVariantsMatchOnnxRuntime covers what the default zoo configuration does not: the
// templates' own heads (a flatten over a 2x3 map), one-channel and non-square inputs, other
// activations, an input scale folded into the first convolution (directly and through zero
// padding), and pruned models.
func TestExportVariantsMatchOnnxRuntime(t *testing.T) {
	rt := onnxtools.Require(t)
	eng := exporttest.OpenEngine(t)
	dir := t.TempDir()
	cases := []struct {
		name  string
		cfg   arch.Config
		scale []float32
		prune float64 // threshold; 0: not pruned
	}{
		{"resnet10_head_gray", arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{1, 64, 96}, UsePooling: true, AllProjections: true, RetainHead: true}, nil, 0},
		{"mobilenet_v1_swish", arch.Config{Arch: "mobilenet_v1", InputSize: [3]int{3, 32, 48}, Activation: "swish", WidthMultiplier: 0.5}, []float32{1.1, 0.9, 1.05}, 0},
		{"vgg16_leaky", arch.Config{Arch: "vgg", NLayers: 16, InputSize: [3]int{3, 32, 32}, UsePooling: true, Activation: "leaky_relu", ActivationParams: map[string]float32{"alpha": 0.2}}, nil, 0},
		{"efficientnet_b0_scaled", arch.Config{Arch: "efficientnet_b0", InputSize: [3]int{3, 32, 32}}, []float32{4.4, 4.5, 4.4}, 0},
		{"resnet18_pruned", arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 32, 32}}, []float32{2, 0.5, 1}, 0.5},
		{"efficientnet_b0_pruned", arch.Config{Arch: "efficientnet_b0", InputSize: [3]int{3, 32, 32}}, nil, 0.5},
	}
	var paths []string
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.NumClasses, c.cfg.UseBatchNorm = 4, true
			g, err := arch.Build(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := exporttest.RandomWeights(t, eng, g, int64(i+20))
			if c.prune > 0 {
				g, w = pruned(t, g, w, c.prune)
			}
			x := exporttest.FashionImages(t, 3, c.cfg.InputSize[0], c.cfg.InputSize[1], c.cfg.InputSize[2])
			path := filepath.Join(dir, c.name+".onnx")
			exportAndCompare(t, rt, g, w, x, Options{Opset: 13, InputScale: c.scale}, path)
			paths = append(paths, path)
		})
	}
	checkFiles(t, paths...)
}

// TestExportTAOPaddingMatchesOnnxRuntime: graphs in TAO's symmetric padding mode (odd and
// even inputs, convolutions, depthwise convolutions, max pools padded with zeros, average pools
// that count the padding) export with explicit pads that ONNX Runtime reproduces.
func TestExportTAOPaddingMatchesOnnxRuntime(t *testing.T) {
	rt := onnxtools.Require(t)
	eng := exporttest.OpenEngine(t)
	dir := t.TempDir()
	var paths []string
	for i, cfg := range []arch.Config{
		{Arch: "resnet", NLayers: 10, InputSize: [3]int{3, 32, 34}, UsePooling: true},
		{Arch: "darknet", NLayers: 19, InputSize: [3]int{3, 32, 32}},
		{Arch: "mobilenet_v2", InputSize: [3]int{3, 31, 32}, WidthMultiplier: 0.5},
	} {
		name := fmt.Sprintf("%s%d_tao", cfg.Arch, cfg.NLayers)
		t.Run(name, func(t *testing.T) {
			cfg.NumClasses, cfg.UseBatchNorm = 4, true
			g, err := arch.Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.SetPaddingMode(model.PaddingTAO); err != nil {
				t.Fatal(err)
			}
			w := exporttest.RandomWeights(t, eng, g, int64(i+40))
			x := exporttest.FashionImages(t, 2, cfg.InputSize[0], cfg.InputSize[1], cfg.InputSize[2])
			path := filepath.Join(dir, name+".onnx")
			exportAndCompare(t, rt, g, w, x, Options{Opset: 13}, path)
			paths = append(paths, path)
		})
	}
	checkFiles(t, paths...)
}

// pruned weakens every third filter of each convolution (kernel times 0.05), prunes g at the
// threshold and checks that channels were removed.
func pruned(t *testing.T, g *model.Graph, w model.Weights, threshold float64) (*model.Graph, model.Weights) {
	t.Helper()
	for _, l := range g.Layers {
		if !isConv(l) {
			continue
		}
		k := w[model.ParamKey(l.Name, "kernel")]
		out := k.Shape[3]
		for i := range k.Data {
			if (i%out)%3 == 0 {
				k.Data[i] *= 0.05
			}
		}
	}
	opts := prune.DefaultOptions()
	opts.Threshold = threshold
	res, err := prune.Prune(g, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ratio() > 0.95 {
		t.Fatalf("pruning at %g kept %.2f of the parameters; the test wants a smaller model", threshold, res.Ratio())
	}
	return res.Graph, res.Weights
}

// TestExportStructure checks the parts of the file that do not show in the numbers: names,
// shapes, opset and IR version, metadata, folding, and the tensor list calibration reads.
func TestExportStructure(t *testing.T) {
	g := everyOpGraph()
	w := exporttest.RandomWeights(t, exporttest.OpenEngine(t), g, 1)
	for _, c := range []struct {
		opts  Options
		batch []int
		ir    int64
	}{
		{Options{}, []int{-1}, 7},
		{Options{Opset: 15, BatchSize: 8, Metadata: map[string]string{"b": "2", "a": "1"}}, []int{8}, 8},
	} {
		ex, err := Export(g, w, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		m := ex.Model
		in, out := m.GetGraph().GetInput(), m.GetGraph().GetOutput()
		if len(in) != 1 || in[0].GetName() != InputName || !slices.Equal(ValueInfoDims(in[0]), append(c.batch, 3, 13, 10)) {
			t.Errorf("input %v", in)
		}
		if len(out) != 1 || out[0].GetName() != OutputName || !slices.Equal(ValueInfoDims(out[0]), append(c.batch, 5)) {
			t.Errorf("output %v", out)
		}
		if m.GetIrVersion() != c.ir || Opset(m) != max(c.opts.Opset, DefaultOpset) {
			t.Errorf("IR %d opset %d for opts %+v", m.GetIrVersion(), Opset(m), c.opts)
		}
		if keys := m.GetMetadataProps(); len(c.opts.Metadata) > 0 && (len(keys) != 2 || keys[0].GetKey() != "a") {
			t.Errorf("metadata %v, want sorted keys", keys)
		}
		checkOps(t, ex)
	}
}

// checkOps checks folding and the tensor list of the every-op graph.
func checkOps(t *testing.T, ex *Exported) {
	t.Helper()
	ops := map[string]int{}
	outputs := map[string]bool{InputName: true}
	for _, n := range ex.Model.GetGraph().GetNode() {
		ops[n.GetOpType()]++
		for _, o := range n.GetOutput() {
			if outputs[o] || strings.Contains(o, ":") {
				t.Errorf("output name %q repeats or holds ':'", o)
			}
			outputs[o] = true
		}
	}
	// Folded: bn1, dw_bn, pw_bn, d1_bn; kept: bn0 (on the input), add_bn (after an add).
	if ops["BatchNormalization"] != 2 || ops["Pad"] != 1 || ops["Dropout"] != 0 || ops["Sum"] != 1 || ops["Transpose"] != 1 {
		t.Errorf("op counts %v", ops)
	}
	if len(ex.Tensors) != len(outputs) {
		t.Errorf("%d tensors listed for %d graph tensors", len(ex.Tensors), len(outputs))
	}
	for _, tn := range ex.Tensors {
		if !outputs[tn.Name] {
			t.Errorf("tensor %q is not in the graph", tn.Name)
		}
	}
	if ex.Tensors[0].Name != InputName || ex.Tensors[len(ex.Tensors)-1].Name != OutputName {
		t.Errorf("tensors run from %q to %q", ex.Tensors[0].Name, ex.Tensors[len(ex.Tensors)-1].Name)
	}
}

// TestExportRejects checks the errors a caller can cause.
func TestExportRejects(t *testing.T) {
	g := everyOpGraph()
	w := exporttest.RandomWeights(t, exporttest.OpenEngine(t), g, 1)
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Opset: 11}, "opset 11 is not supported: choose 12 to 17"},
		{Options{Opset: 18}, "opset 18"},
		{Options{InputScale: []float32{1}}, "1 factors for 3 input channels"},
	} {
		if _, err := Export(g, w, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	delete(w, "c1/kernel")
	if _, err := Export(g, w, Options{}); err == nil || !strings.Contains(err.Error(), `layer "c1" (conv2d): weights lack c1/kernel`) {
		t.Errorf("missing weight: %v", err)
	}
}
