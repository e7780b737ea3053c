package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/pretrained"
)

const taoResNet18 = "../../pretrained/keras/testdata/tao_resnet18.hdf5"

// resnet18Project is tinyProject with a ResNet-18 as TAO builds it (projection shortcuts on the
// first subblock of each stage only), the architecture of the TAO fixture.
func resnet18Project(t *testing.T) (root, specPath string) {
	root, specPath = tinyProject(t, 1)
	text, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "n_layers: 10", "n_layers: 18", 1)
	s = strings.Replace(s, "  all_projections: true\n", "", 1)
	if err := os.WriteFile(specPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, specPath
}

// TestModelImportTAOHDF5: a TAO-named Keras HDF5 ResNet-18 converts into the spec's model
// (head re-initialised for the dataset's classes), trains directly from
// pretrained_model_path, and an .hdf5 eval_config.model_path gets a clear message.
func TestModelImportTAOHDF5(t *testing.T) {
	root, specPath := resnet18Project(t)
	out := filepath.Join(root, "imported"+modelfile.Ext)
	stdout := mustRun(t, "model", "import", taoResNet18, "-o", out, "-e", specPath, "--strict")
	if status := tableStatus(stdout, "block_4b_conv_2"); status != "block_4b_conv_2 loaded" {
		t.Errorf("block_4b_conv_2: %q", status)
	}
	for _, want := range []string{"(keras-hdf5)", "Keras 2.2.4 file", "channels_first", "padding mode tao",
		`note: the source pads as "tao", the model as "tf"`,
		"42 layers loaded, 1 re-initialised head, 0 new, 0 skipped, 0 source layers unused", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, stdout)
		}
	}
	mf, err := modelfile.Load(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if mf.Graph.Arch != "resnet" || mf.Preprocessing.Mode != "torch" || len(mf.Classmap) == 0 || mf.Extra["import_format"] != "keras-hdf5" {
		t.Errorf("model file: arch %q, preprocessing %+v, classmap %v, extra %v", mf.Graph.Arch, mf.Preprocessing, mf.Classmap, mf.Extra)
	}

	// Training straight from the .hdf5 with TAO's padding (model_config.padding_mode).
	abs, _ := filepath.Abs(taoResNet18)
	trainOut := mustRun(t, "classification", "train", "-e", withPretrained(t, specPath, abs, `  padding_mode: "tao"`+"\n"),
		"-r", filepath.Join(root, "ft"), "--backend", "go", "--strict")
	if !strings.Contains(trainOut, "42 layers loaded, 1 re-initialised head") || strings.Contains(trainOut, "note: the source pads") {
		t.Errorf("training from the .hdf5 did not load it:\n%s", trainOut)
	}
	last, err := modelfile.Load(filepath.Join(root, "ft", "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	if last.Graph.PaddingMode() != "tao" {
		t.Errorf("the checkpoint's padding mode is %q", last.Graph.PaddingMode())
	}

	for path, want := range map[string]string{
		abs:                                    "is a keras-hdf5 model, not a Bonsai model file: convert it once with 'bonsai model import",
		filepath.Join(root, "resnet_080.hdf5"): "no such file; Bonsai's checkpoints are .safetensors files",
	} {
		code, _, errs := bonsai("classification", "evaluate", "-e", specPath, "-m", path, "--backend", "go")
		if code != ExitUsage || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("evaluate -m %s: exit %d, %q; want a one-line usage error containing %q", path, code, errs, want)
		}
	}
}

// TestModelImportDarknet converts the Tiny Darknet TF.js model with its 1000 ImageNet labels
// and [0, 1] input scaling.
func TestModelImportDarknet(t *testing.T) {
	dir := testutil.SharedData(t, "pretrained")
	out := filepath.Join(t.TempDir(), "darknet"+modelfile.Ext)
	stdout := mustRun(t, "model", "import", filepath.Join(dir, "darknet-tiny-tfjs"), "-o", out,
		"--labels", filepath.Join(dir, "imagenet1k-labels.txt"), "--input_range", "0,1", "--strict")
	// 1,046,488 parameters (the README's count) and input_rescale's 3 + 3.
	if !strings.Contains(stdout, "31 layers loaded, 0 re-initialised head") || !strings.Contains(stdout, "1,046,494 parameters") {
		t.Errorf("import output:\n%s", stdout)
	}
	mf, err := modelfile.Load(out, "")
	if err != nil {
		t.Fatal(err)
	}
	// input_rescale is exact: the model file on tf-mode inputs 2x-1 computes the TF.js model's
	// logits on x.
	src, err := pretrained.Load(filepath.Join(dir, "darknet-tiny-tfjs"), pretrained.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, tf := model.NewTensor(1, 224, 224, 3), model.NewTensor(1, 224, 224, 3)
	rng := testutil.Rand(5)
	for i := range x.Data {
		x.Data[i] = float32(rng())
		tf.Data[i] = 2*x.Data[i] - 1
	}
	want := logitsOf(t, src.Graph, src.Weights, x)
	testutil.AssertClose(t, "imported darknet logits", logitsOf(t, mf.Graph, mf.Weights, tf), want, 1e-4)
	labels, err := os.ReadFile(filepath.Join(dir, "imagenet1k-labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Split(string(labels), "\n")
	dogsled := slices.Index(names, "dogsled")
	if mf.Classmap["dogsled"] != dogsled || mf.Classmap["crane_2"] == 0 || len(mf.Classmap) != 1000 || mf.Preprocessing.Mode != "tf" {
		t.Errorf("classmap dogsled %d (want %d) of %d, preprocessing %+v", mf.Classmap["dogsled"], dogsled, len(mf.Classmap), mf.Preprocessing)
	}
	// A new 7-class head.
	out7 := filepath.Join(t.TempDir(), "darknet7"+modelfile.Ext)
	stdout = mustRun(t, "model", "import", filepath.Join(dir, "darknet-tiny-tfjs", "model.json"), "-o", out7, "--num_classes", "7")
	if status := tableStatus(stdout, "conv2d_16"); !strings.HasPrefix(status, "conv2d_16 re-initialised head") {
		t.Errorf("import --num_classes 7:\n%s", stdout)
	}
}

func logitsOf(t *testing.T, g *model.Graph, w model.Weights, x *model.Tensor) []float64 {
	t.Helper()
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.NewModel(g, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, len(out.Data))
	for i, f := range out.Data {
		v[i] = float64(f)
	}
	return v
}

// tableStatus returns the "from status" words of a layer's row in a load table.
func tableStatus(out, layer string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == layer {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}

// TestModelImportONNX converts the torchvision mobilenet_v2 ONNX fixture with a new 3-class head.
func TestModelImportONNX(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mnv2"+modelfile.Ext)
	stdout := mustRun(t, "model", "import", "../../onnx/testdata/mobilenet_v2.onnx", "-o", out, "--num_classes", "3",
		"--preprocess_mode", "torch", "--input_image_size", "3,96,96")
	for _, want := range []string{"(onnx)", "ONNX opset 13, produced by pytorch 1.13.0", "52 layers loaded, 1 re-initialised head", "input [3 96 96], torch preprocessing"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, stdout)
		}
	}
	mf, err := modelfile.Load(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if mf.Graph.OutputUnits() != 3 || mf.Graph.Input != [3]int{3, 96, 96} {
		t.Errorf("graph: %d classes, input %v", mf.Graph.OutputUnits(), mf.Graph.Input)
	}
}

func TestModelImportErrors(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	out := filepath.Join(root, "x"+modelfile.Ext)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"model", "import", "-o", out}, "usage: bonsai model import SRC"},
		{[]string{"model", "import", filepath.Join(root, "missing.h5"), "-o", out}, "no such file"},
		{[]string{"model", "import", taoResNet18, "-o", out, "--input_range", "1,0"}, "want LO,HI with LO < HI"},
		{[]string{"model", "import", taoResNet18, "-o", out, "--input_range", "0,1", "--preprocess_mode", "torch"}, "needs --preprocess_mode tf"},
		{[]string{"model", "import", taoResNet18, "-o", out, "-e", specPath, "--preprocess_mode", "tf"}, "cannot be combined with -e"},
		{[]string{"model", "import", taoResNet18, "-o", out, "-e", specPath, "--strict"}, "--strict: not every layer was loaded"},
		{[]string{"model", "import", taoResNet18, "-o", out, "--padding_mode", "same"}, "--padding_mode \"same\": want tf or tao"},
	}
	for _, c := range cases {
		code, _, errs := bonsai(c.args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want usage error containing %q", c.args, code, errs, c.want)
		}
	}
}
