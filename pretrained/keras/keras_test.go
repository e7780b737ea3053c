package keras

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// formula is the fixture writer's weight formula (testdata/make_tao_resnet18.py).
func formula(shape []int, seed int, positive bool) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	out := make([]float32, n)
	for i := range out {
		v := float64((int64(i)*7919+int64(seed)*104729)%251-125) / 16384
		if positive && v < 0 {
			v = -v
		}
		if positive {
			v += 0.5
		}
		out[i] = float32(v)
	}
	return out
}

// TestTAOResNet18 reads a Keras HDF5 file laid out as TAO's (channels_first, TAO's layer names,
// written by h5py) into a graph whose parameters are those of Bonsai's own ResNet-18, and
// checks every tensor against the writer's formula.
func TestTAOResNet18(t *testing.T) {
	kf, err := ReadHDF5(filepath.Join("testdata", "tao_resnet18.hdf5"))
	if err != nil {
		t.Fatal(err)
	}
	if kf.KerasVersion != "2.2.4" || kf.Backend != "tensorflow" {
		t.Errorf("keras_version %q, backend %q", kf.KerasVersion, kf.Backend)
	}
	conv, err := ParseConfig([]byte(kf.Config), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !conv.ChannelsFirst || conv.Graph.Input != [3]int{3, 224, 224} || conv.Graph.Output != "predictions" {
		t.Errorf("channels_first %v, input %v, output %q", conv.ChannelsFirst, conv.Graph.Input, conv.Graph.Output)
	}
	w, unused, err := conv.Weights(kf.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	if len(unused) > 0 {
		t.Errorf("unused tensors: %v", unused)
	}
	ref, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 5,
		UseBatchNorm: true, BNMomentum: 0.9, BNEpsilon: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	refKeys, refParams, _ := ref.AllParams()
	keys, params, err := conv.Graph.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, refKeys) {
		t.Fatalf("parameters differ from Bonsai's resnet18:\n%v\n%v", keys, refKeys)
	}
	seeds := map[string][2]any{}
	data, _ := os.ReadFile(filepath.Join("testdata", "tao_resnet18.json"))
	var raw map[string][]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for k, v := range raw {
		seeds[k] = [2]any{v[0], v[1]}
	}
	for _, k := range keys {
		if !slices.Equal(params[k].Shape, refParams[k].Shape) {
			t.Errorf("%s shape %v, Bonsai's resnet18 has %v", k, params[k].Shape, refParams[k].Shape)
		}
		s, ok := seeds[k]
		if !ok {
			t.Fatalf("no seed for %s", k)
		}
		want := formula(w[k].Shape, int(s[0].(float64)), s[1].(bool))
		if !slices.Equal(w[k].Data, want) {
			t.Errorf("%s differs from the writer's values", k)
		}
	}
}

// config wraps layers into a Functional model config.
func config(t *testing.T, layers string, output string) []byte {
	t.Helper()
	return []byte(`{"class_name": "Model", "config": {"name": "m", "layers": [` + layers +
		`], "input_layers": [["in", 0, 0]], "output_layers": [["` + output + `", 0, 0]]}}`)
}

const inputCHW = `{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 2, 2, 3]}, "inbound_nodes": []}`

func layer(class, name, cfg, input string) string {
	return `{"class_name": "` + class + `", "name": "` + name + `", "config": {"name": "` + name + `", ` + cfg +
		`}, "inbound_nodes": [[["` + input + `", 0, 0, {}]]]}`
}

// TestFlattenPermutation: a Dense after a channels_first Flatten of a 2x3 map with 2 channels
// has its kernel rows reordered from (c, h, w) to (h, w, c), computed by hand.
func TestFlattenPermutation(t *testing.T) {
	cfg := config(t, inputCHW+","+
		layer("Flatten", "flat", `"data_format": "channels_first"`, "in")+","+
		layer("Dense", "out", `"units": 1, "use_bias": false, "activation": "softmax"`, "flat"), "out")
	conv, err := ParseConfig(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Input [None, 2, 2, 3] channels_first: C=2, H=2, W=3; kernel row r = c*6 + h*3 + w.
	k := &model.Tensor{Shape: []int{12, 1}, Data: make([]float32, 12)}
	for i := range k.Data {
		k.Data[i] = float32(i)
	}
	w, _, err := conv.Weights(map[string]*model.Tensor{"out/kernel": k})
	if err != nil {
		t.Fatal(err)
	}
	// Graph order (h, w, c): row (h*3+w)*2+c holds source row c*6+h*3+w.
	want := []float32{0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11}
	if got := w["out/kernel"].Data; !slices.Equal(got, want) {
		t.Errorf("permuted kernel %v, want %v", got, want)
	}
	if conv.Graph.Output != "out" || len(conv.Graph.Layers) != 3 {
		t.Errorf("the fused softmax was not dropped: output %q, %d layers", conv.Graph.Output, len(conv.Graph.Layers))
	}
}

// TestLayerConversions checks how layer configs map to graph layers.
func TestLayerConversions(t *testing.T) {
	last := func(c *Conversion) *model.Layer { return c.Graph.Layers[len(c.Graph.Layers)-1] }
	in := strings.Replace(inputCHW, "[null, 2, 2, 3]", "[null, 8, 8, 4]", 1)
	cases := []struct {
		name, class, cfg string
		check            func(*model.Layer) bool
	}{
		{"relu6", "ReLU", `"max_value": 6.0`, func(l *model.Layer) bool { return l.Activation == model.ActReLU6 }},
		{"relu", "ReLU", `"max_value": null`, func(l *model.Layer) bool { return l.Activation == model.ActReLU }},
		{"leaky", "LeakyReLU", `"alpha": 0.1`, func(l *model.Layer) bool { return l.Activation == model.ActLeakyReLU && l.Alpha == 0.1 }},
		{"pad", "ZeroPadding2D", `"padding": [[0, 1], [2, 3]]`, func(l *model.Layer) bool { return l.Pad == [4]int{0, 1, 2, 3} }},
		{"pad1", "ZeroPadding2D", `"padding": 2`, func(l *model.Layer) bool { return l.Pad == [4]int{2, 2, 2, 2} }},
		{"pool", "MaxPooling2D", `"pool_size": [2, 2], "strides": null, "padding": "same"`, func(l *model.Layer) bool {
			return l.Op == model.OpMaxPool && l.Strides == [2]int{2, 2} && l.Padding == model.PadSame
		}},
		{"dw", "DepthwiseConv2D", `"kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "depth_multiplier": 2, "use_bias": true`, func(l *model.Layer) bool {
			return l.Op == model.OpDepthwiseConv && l.DepthMultiplier == 2 && l.UseBias
		}},
		{"gconv", "Conv2D", `"filters": 8, "kernel_size": 3, "strides": 1, "padding": "same", "groups": 2, "activation": "relu"`, func(l *model.Layer) bool {
			return l.Op == model.OpActivation && l.Name == "gconv_relu"
		}},
	}
	for _, c := range cases {
		conv, err := ParseConfig(config(t, in+","+layer(c.class, c.name, c.cfg, "in"), c.name), Options{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if l := last(conv); !c.check(l) {
			t.Errorf("%s: got %+v", c.name, *l)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	in := strings.Replace(inputCHW, "[null, 2, 2, 3]", "[null, 8, 8, 4]", 1)
	cases := []struct{ cfg, want string }{
		{`{"class_name": "Conv2D", "config": {}}`, "not a Keras model"},
		{string(config(t, in+","+layer("Lambda", "lam", `"function": "x"`, "in"), "lam")), `layer "lam" (Lambda): layer type Lambda is not supported`},
		{string(config(t, in+","+layer("Conv2D", "c", `"filters": 2, "kernel_size": 3, "padding": "causal"`, "in"), "c")), `padding "causal"`},
		{string(config(t, in+`,{"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": [[["in", 0, 0, {}]], [["in", 0, 0, {}]]]}`, "d")), "shared layers"},
		{string(config(t, in+","+layer("Dense", "d", `"units": 2`, "in"), "d")), "flat inputs"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

// TestSequentialForms: Keras 2.1's list config, a Sequential wrapping a Functional model
// (Teachable Machine's export) and Keras 3's inbound_nodes all flatten to the same chain.
func TestSequentialForms(t *testing.T) {
	dense := `{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [null, 4]}}`
	list := `{"class_name": "Sequential", "config": [` + strings.Replace(inputCHW, "[null, 2, 2, 3]", "[null, 2, 2, 4]", 1) +
		`, {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap"}}, ` + dense + `]}`
	inner := `{"class_name": "Model", "name": "inner", "config": {"name": "inner", "layers": [` +
		strings.Replace(inputCHW, "[null, 2, 2, 3]", "[null, 2, 2, 4]", 1) + `, ` +
		`{"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {"name": "gap"}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}], "kwargs": {}}]}` +
		`], "input_layers": [["in", 0, 0]], "output_layers": [["gap", 0, 0]]}}`
	nested := `{"class_name": "Sequential", "config": {"name": "outer", "layers": [` + inner +
		`, {"class_name": "Sequential", "config": {"name": "head", "layers": [` + dense + `]}}]}}`
	for name, cfg := range map[string]string{"list": list, "nested": nested} {
		conv, err := ParseConfig([]byte(cfg), Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var ops []string
		for _, l := range conv.Graph.Layers {
			ops = append(ops, l.Name+":"+string(l.Op))
		}
		if got := strings.Join(ops, " "); got != "in:input gap:global_avg_pool d:dense" {
			t.Errorf("%s: layers %s", name, got)
		}
	}
}

func TestSplitWeightName(t *testing.T) {
	for in, want := range map[string][2]string{
		"conv1/kernel:0": {"conv1", "kernel"}, "model/block_1/bn/gamma:0": {"bn", "gamma"},
		"bias": {"dflt", "bias"}, "Conv1/kernel": {"Conv1", "kernel"},
	} {
		if l, p := SplitWeightName(in, "dflt"); l != want[0] || p != want[1] {
			t.Errorf("SplitWeightName(%q) = %q, %q", in, l, p)
		}
	}
}
