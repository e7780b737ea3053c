package pretrained

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// python returns Debian's python3 with h5py, or skips the test.
func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py, numpy").Run(); err != nil {
		t.Skipf("%s with h5py and numpy is needed to write the fixture (Debian python3-h5py): %v", py, err)
	}
	return py
}

// TestKerasHDF5MatchesTFJS writes the MobileNetV2-0.35 backbone of the shared TF.js model as
// a Keras HDF5 file with h5py, and checks that Bonsai reads the same graph and the same
// tensors from both.
func TestKerasHDF5MatchesTFJS(t *testing.T) {
	dir := testutil.SharedData(t, "pretrained", "mobilenetv2-035-tfjs")
	py := python(t)
	h5 := filepath.Join(t.TempDir(), "mobilenetv2_035.h5")
	out, err := exec.Command(py, filepath.Join("testdata", "tfjs_to_keras_h5.py"), filepath.Join(dir, "model.json"), h5).CombinedOutput()
	if err != nil {
		t.Fatalf("fixture writer: %v\n%s", err, out)
	}
	fromH5, err := Load(h5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromJS, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fromH5.Format != FormatKeras || fromJS.Format != FormatTFJS {
		t.Errorf("formats %q and %q", fromH5.Format, fromJS.Format)
	}
	if len(fromH5.Weights) != 260 {
		t.Errorf("%d backbone tensors, want 260", len(fromH5.Weights))
	}
	for k, w := range fromH5.Weights {
		js := fromJS.Weights[k]
		if js == nil || !slices.Equal(js.Shape, w.Shape) || !slices.Equal(js.Data, w.Data) {
			t.Fatalf("%s differs between the HDF5 and TF.js readers", k)
		}
	}
	jsIdx := fromJS.Graph.Index()
	for _, l := range fromH5.Graph.Layers {
		j := jsIdx[l.Name]
		if j == nil || j.Op != l.Op || j.Kernel != l.Kernel || j.Strides != l.Strides || j.Padding != l.Padding || j.Pad != l.Pad {
			t.Fatalf("layer %s: HDF5 %+v, TF.js %+v", l.Name, *l, j)
		}
	}
}

// tiny builds a small graph: conv -> bn -> global pool -> dense.
func tiny(convName string, filters, classes int) *model.Graph {
	return &model.Graph{Arch: "tiny", Input: [3]int{3, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput, Block: -1},
		{Name: convName, Op: model.OpConv, Inputs: []string{"input_1"}, Filters: filters, Kernel: [2]int{3, 3}, Padding: model.PadSame, Block: 0},
		{Name: "bn_" + convName, Op: model.OpBatchNorm, Inputs: []string{convName}, Epsilon: 1e-3, Momentum: 0.9, Block: 0},
		{Name: "pool", Op: model.OpGlobalAvgPool, Inputs: []string{"bn_" + convName}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"pool"}, Units: classes, UseBias: true, Block: -1},
	}}
}

func weightsOf(t *testing.T, g *model.Graph, v float32) model.Weights {
	t.Helper()
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	w := model.Weights{}
	for _, k := range keys {
		w[k] = model.NewTensor(params[k].Shape...)
		for i := range w[k].Data {
			w[k].Data[i] = v
		}
	}
	return w
}

func TestTransferTable(t *testing.T) {
	srcG := tiny("Conv1", 4, 10)
	srcW := weightsOf(t, srcG, 1)
	srcW["extra/kernel"] = model.NewTensor(1)
	src := &Source{Format: FormatKeras, Graph: srcG, Weights: srcW}

	dst := tiny("conv1", 4, 5) // Keras' Conv1 is TAO's conv1; 5 classes instead of 10
	got, table, err := Transfer(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Layer: "conv1", Source: "Conv1", Status: Loaded},
		{Layer: "bn_conv1", Source: "bn_Conv1", Status: Loaded},
		{Layer: "predictions", Source: "predictions", Status: Head, Detail: "bias [10] in the source, [5] in the model"},
		{Source: "extra", Status: Unused, Detail: "the model has no such layer"},
	}
	if !slices.Equal(table.Rows, want) {
		t.Errorf("rows %+v\nwant %+v", table.Rows, want)
	}
	if len(got) != 5 || got["conv1/kernel"].Data[0] != 1 || got["predictions/kernel"] != nil {
		t.Errorf("loaded %d tensors", len(got))
	}
	srcW["Conv1/kernel"].Data[0] = 7
	if got["conv1/kernel"].Data[0] != 1 {
		t.Error("Transfer aliases the source tensors")
	}
	if err := table.Strict(); !errors.Is(err, ErrStrict) || !strings.Contains(err.Error(), "extra (unused)") {
		t.Errorf("strict: %v", err)
	}
	var b strings.Builder
	table.Print(&b)
	if !strings.Contains(b.String(), "2 layers loaded, 1 re-initialised head, 0 new, 0 skipped, 1 source layers unused") {
		t.Errorf("table:\n%s", b.String())
	}

	// A Bonsai model file whose backbone has other shapes is a pruned model.
	pruned := tiny("conv1", 2, 5)
	_, table, _ = Transfer(dst, &Source{Format: FormatBonsai, Graph: pruned, Weights: weightsOf(t, pruned, 1)})
	if !table.Pruned {
		t.Error("pruned Bonsai model not detected")
	}
	// The same mismatch from a foreign format is a skipped layer.
	_, table, _ = Transfer(dst, &Source{Format: FormatKeras, Graph: pruned, Weights: weightsOf(t, pruned, 1)})
	if table.Pruned || table.Rows[0].Status != Skipped {
		t.Errorf("foreign mismatch: %+v", table)
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ path, format, err string }{
		{write("weights.bin", hdf5Signature), FormatKeras, ""},
		{write("resnet_18.hdf5", []byte("x")), FormatKeras, ""},
		{write("model.json", []byte("{}")), FormatTFJS, ""},
		{write("m.onnx", []byte("x")), FormatONNX, ""},
		{write("m.safetensors", []byte("x")), FormatBonsai, ""},
		{write("resnet_18.tlt", []byte("x")), "", "encrypted with TAO's key"},
		{write("m.keras", []byte("x")), "", "not supported"},
		{dir, FormatTFJS, ""},
	}
	for _, c := range cases {
		format, _, err := Detect(c.path)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.path, err, c.err)
			}
			continue
		}
		if err != nil || format != c.format {
			t.Errorf("%s: %q, %v; want %q", c.path, format, err, c.format)
		}
	}
}

// TestTAOResNet18 loads the TAO-named ResNet-18 HDF5 fixture into Bonsai's resnet18 for 10
// classes: every backbone layer loads, the head is re-initialised, and with the same weights
// the imported graph and Bonsai's own compute the same features.
func TestTAOResNet18(t *testing.T) {
	src, err := Load(filepath.Join("keras", "testdata", "tao_resnet18.hdf5"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Graph.PaddingMode() != model.PaddingTAO {
		t.Errorf("a channels_first (TAO) file imports with padding mode %q", src.Graph.PaddingMode())
	}
	cfg := arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 10,
		UseBatchNorm: true, BNMomentum: 0.9, BNEpsilon: 1e-3, Padding: model.PaddingTAO}
	dst, err := arch.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, table, err := Transfer(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if table.count(Loaded) != 42 || table.count(Head) != 1 || table.Strict() != nil {
		t.Errorf("table: %s", table.Summary())
	}
	cfg.NumClasses = 5
	same, _ := arch.Build(cfg)
	w, table, _ := Transfer(same, src)
	if table.count(Loaded) != 43 {
		t.Fatalf("5 classes: %s", table.Summary())
	}
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(1, 224, 224, 3)
	rng := testutil.Rand(3)
	for i := range x.Data {
		x.Data[i] = float32(rng())
	}
	var logits [2][]float32
	for i, g := range []*model.Graph{src.Graph, same} {
		m, err := e.NewModel(g, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Logits(x)
		if err != nil {
			t.Fatal(err)
		}
		logits[i] = out.Data
	}
	want := make([]float64, len(logits[1]))
	for i, v := range logits[1] {
		want[i] = float64(v)
	}
	testutil.AssertClose(t, "imported vs Bonsai's resnet18 logits", logits[0], want, 1e-4)
}

// TestMobileNetV2IntoTAOArch loads Keras Applications' MobileNetV2-0.35 (the shared TF.js
// model) into Bonsai's mobilenet_v2 (TAO's names; width 0.35, relu6, Keras' batch-norm epsilon,
// padding_mode keras): every backbone layer loads by name, and the backbone computes the same
// features as the imported Keras graph.
func TestMobileNetV2IntoTAOArch(t *testing.T) {
	dir := testutil.SharedData(t, "pretrained", "mobilenetv2-035-tfjs")
	src, err := Load(dir, Options{InputSize: [3]int{3, 96, 96}})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := arch.Build(arch.Config{Arch: "mobilenet_v2", WidthMultiplier: 0.35, InputSize: [3]int{3, 96, 96}, NumClasses: 2,
		UseBatchNorm: true, Activation: "relu6", BNMomentum: 0.999, BNEpsilon: 1e-3, Padding: model.PaddingKeras})
	if err != nil {
		t.Fatal(err)
	}
	w, table, err := Transfer(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if table.count(Loaded) != 104 || table.count(New) != 1 || table.count(Skipped) != 0 {
		t.Errorf("table: %s", table.Summary())
	}
	x := model.NewTensor(2, 96, 96, 3)
	rng := testutil.Rand(4)
	for i := range x.Data {
		x.Data[i] = float32(2*rng() - 1)
	}
	keras := pooledFeatures(t, src.Graph, "out_relu", src.Weights, x)
	bonsai := pooledFeatures(t, dst, "re_lu_head", w, x)
	want := make([]float64, len(keras))
	for i, v := range keras {
		want[i] = float64(v)
	}
	testutil.AssertClose(t, "pooled features", bonsai, want, 1e-4)
}

// pooledFeatures runs g up to layer out, global-average-pooled.
func pooledFeatures(t *testing.T, g *model.Graph, out string, w model.Weights, x *model.Tensor) []float32 {
	t.Helper()
	c := g.Clone()
	c.Layers = append(c.Layers, &model.Layer{Name: "features", Op: model.OpGlobalAvgPool, Inputs: []string{out}, Block: -1})
	c.Output = "features"
	keys, _, err := c.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	sub := model.Weights{}
	for _, k := range keys {
		sub[k] = w[k]
	}
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.NewModel(c, sub, 1)
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	return y.Data
}

// TestKerasWeightsOnly reads a save_weights() file (layer_names at the root, no model_config),
// written by h5py as Keras 2 does, and loads it into Bonsai's graph by layer name.
func TestKerasWeightsOnly(t *testing.T) {
	py := python(t)
	h5 := filepath.Join(t.TempDir(), "weights.h5")
	script := `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["layer_names"] = np.array([b"Conv1", b"bn_Conv1", b"pool"])
    f.attrs["backend"] = np.bytes_(b"tensorflow")
    f.attrs["keras_version"] = np.bytes_(b"2.3.1")
    g = f.create_group("Conv1")
    g.attrs["weight_names"] = np.array([b"Conv1/kernel:0"])
    g.create_dataset("Conv1/kernel:0", data=np.arange(3 * 3 * 3 * 4, dtype="<f4").reshape(3, 3, 3, 4))
    g = f.create_group("bn_Conv1")
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    g.attrs["weight_names"] = np.array([("bn_Conv1/%s:0" % n).encode() for n in names])
    for i, n in enumerate(names):
        g.create_dataset("bn_Conv1/%s:0" % n, data=np.full(4, i + 1, dtype="<f4"))
    f.create_group("pool").attrs["weight_names"] = np.array([], dtype="S1")
`
	if out, err := exec.Command(py, "-c", script, h5).CombinedOutput(); err != nil {
		t.Fatalf("writing the fixture: %v\n%s", err, out)
	}
	src, err := Load(h5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Graph != nil || len(src.Weights) != 5 {
		t.Fatalf("graph %v, %d tensors", src.Graph, len(src.Weights))
	}
	w, table, err := Transfer(tiny("conv1", 4, 3), src)
	if err != nil {
		t.Fatal(err)
	}
	if table.count(Loaded) != 2 || table.count(New) != 1 || w["conv1/kernel"].Data[107] != 107 || w["bn_conv1/moving_variance"].Data[0] != 4 {
		t.Errorf("table %s", table.Summary())
	}
}
