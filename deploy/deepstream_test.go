package deploy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// TestNvinferConfigMatchesTAOsFile checks the caffe case against the reference's example of
// TAO's file (3x224x224, 5 classes) line for line, and the other modes against values computed
// by hand from TAO's preprocess_input.
func TestNvinferConfigMatchesTAOsFile(t *testing.T) {
	caffe := "net-scale-factor=1.0\noffsets=103.939;116.779;123.68\ninfer-dims=3;224;224\ntlt-model-key=nvidia_tlt\n" +
		"network-type=1\nnum-detected-classes=5\nmodel-color-format=1\nmaintain-aspect-ratio=0\noutput-tensor-meta=0\n"
	for _, c := range []struct {
		mode  string
		size  [3]int
		want  string
		scale []float32
	}{
		{"caffe", [3]int{3, 224, 224}, caffe, nil},
		{"caffe", [3]int{1, 28, 28}, "net-scale-factor=1.0\noffsets=117.3786\ninfer-dims=1;28;28\n", nil},
		{"tf", [3]int{3, 32, 32}, "net-scale-factor=0.007843138\noffsets=127.5;127.5;127.5\ninfer-dims=3;32;32\n", nil},
		// torch as TAO: every channel 1/(255*0.224) = 0.017507003, which nvinfer's one scale holds.
		{"torch", [3]int{1, 32, 32}, "net-scale-factor=0.017507002\noffsets=114.495\ninfer-dims=1;32;32\n", nil},
		{"torch", [3]int{3, 32, 32}, "net-scale-factor=0.017507002\noffsets=123.675;116.28;103.53\ninfer-dims=3;32;32\n", nil},
		// torch with torchvision's per-channel image_std: one scale, the mean of the float32
		// 1/(255*std), 0.01735365; each channel's 1/(255*std) divided by it folds into the model
		// (numpy float32 gives the same).
		{"torch-std", [3]int{3, 32, 32}, "net-scale-factor=0.01735365\noffsets=123.675;116.28;103.53\ninfer-dims=3;32;32\n",
			[]float32{0.98680985, 1.0088369, 1.0043532}},
	} {
		p := modelfile.Preprocessing{Mode: c.mode, InputSize: c.size}
		if c.mode == "torch-std" {
			p.Mode, p.ImageStd = "torch", map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}
		}
		in, err := NvinferInputOf(p)
		if err != nil {
			t.Fatal(err)
		}
		ds := &DSConfig{Input: in, InputSize: c.size, Classes: []string{"a", "b", "c", "d", "e"}}
		if got := string(ds.NvinferConfig()); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s %v:\n%s\nwant to start with\n%s", c.mode, c.size, got, c.want)
		}
		if fmt.Sprint(in.InputScale) != fmt.Sprint(c.scale) {
			t.Errorf("%s %v: input scale %v, want %v", c.mode, c.size, in.InputScale, c.scale)
		}
		if c.size[0] == 3 && c.mode != "caffe" && in.ColorFormat != ColorRGB || c.size[0] == 1 && in.ColorFormat != ColorGray {
			t.Errorf("%s %v: color format %d", c.mode, c.size, in.ColorFormat)
		}
	}
}

// TestDeepStreamLabelsAndProperty checks the label files and the [property] block's paths and
// INT8 keys.
func TestDeepStreamLabelsAndProperty(t *testing.T) {
	dir := t.TempDir()
	in, _ := NvinferInputOf(modelfile.Preprocessing{Mode: "caffe", InputSize: [3]int{3, 224, 224}})
	ds := &DSConfig{Input: in, InputSize: [3]int{3, 224, 224}, Classes: []string{"cat", "dog", "horse"},
		ONNX: filepath.Join(dir, "m.onnx"), Engine: filepath.Join(dir, "m.engine"), CalCache: filepath.Join(dir, "x", "cal.bin"),
		DataType: INT8, BatchSize: 4}
	if err := ds.WriteDSFiles(dir); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, p := range DSFiles(dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = string(b)
	}
	if files[LabelsFile] != "cat\ndog\nhorse\n" || files[DSLabelsFile] != "cat;dog;horse\n" {
		t.Errorf("labels %q and %q", files[LabelsFile], files[DSLabelsFile])
	}
	prop := keyValues(files[DSConfigFile])
	for k, v := range map[string]string{"onnx-file": "m.onnx", "model-engine-file": "m.engine", "int8-calib-file": "x/cal.bin",
		"labelfile-path": DSLabelsFile, "network-mode": "1", "batch-size": "4", "output-blob-names": "predictions",
		"model-color-format": "1", "num-detected-classes": "3", "process-mode": "1", "network-type": "1"} {
		if prop[k] != v {
			t.Errorf("config_infer_primary.txt: %s=%q, want %q", k, prop[k], v)
		}
	}
	if !strings.Contains(files[DSConfigFile], "[property]\n") {
		t.Error("no [property] section")
	}
}

// keyValues parses key=value lines.
func keyValues(text string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestNvinferFormulaGivesBonsaisProbabilities exports models of every preprocess mode with
// --gen_ds_config, applies nvinfer's formula from the written nvinfer_config.txt
// (y = net-scale-factor * (pixel - offset), channels in model-color-format order) to real
// pictures resized as Bonsai resizes them, runs the ONNX model in ONNX Runtime on y and
// compares with Bonsai's own probabilities.
func TestNvinferFormulaGivesBonsaisProbabilities(t *testing.T) {
	rt := onnxtools.Require(t)
	eng := exporttest.OpenEngine(t)
	dir := t.TempDir()
	pictures := exporttest.PictureFiles(t, dir, 6)
	torchvision := map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}
	for i, c := range []struct {
		mode     string
		channels int
		std      map[string]float32 // torch's image_std; per channel, it folds into the model
	}{{"caffe", 3, nil}, {"tf", 3, nil}, {"torch", 3, nil}, {"torch", 3, torchvision}, {"caffe", 1, nil}, {"torch", 1, nil}} {
		t.Run(fmt.Sprintf("%s_%d_%d", c.mode, c.channels, len(c.std)), func(t *testing.T) {
			g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{c.channels, 32, 32}, NumClasses: 4, UseBatchNorm: true})
			if err != nil {
				t.Fatal(err)
			}
			w := exporttest.RandomWeights(t, eng, g, int64(i+1))
			prep := modelfile.Preprocessing{Mode: c.mode, InputSize: g.Input, Interpolation: "bilinear", ImageStd: c.std}
			z := preprocessed(t, pictures, prep)
			want := exporttest.ReferenceProbs(t, eng, g, w, z)
			sub := filepath.Join(dir, fmt.Sprintf("%s%d_%d", c.mode, c.channels, len(c.std)))
			modelPath := filepath.Join(sub, "model.safetensors")
			exporttest.SavePreprocessed(t, modelPath, g, w, prep)
			res, err := Export(Config{Model: modelPath, GenDSConfig: true})
			if err != nil {
				t.Fatal(err)
			}
			y := nvinferInput(t, pictures, prep, filepath.Join(sub, NvinferConfigFile))
			got, err := rt.Run(res.ONNX, y, onnxtools.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := exporttest.MaxAbsDiff(got.Output.Data, want.Data); d > 1e-4 {
				t.Errorf("nvinfer's formula + ONNX Runtime differ from Bonsai by %.3g", d)
			}
		})
	}
}

// preprocessed is Bonsai's evaluation preprocessing of the pictures, NHWC.
func preprocessed(t *testing.T, paths []string, p modelfile.Preprocessing) *model.Tensor {
	t.Helper()
	c, h, w := p.InputSize[0], p.InputSize[1], p.InputSize[2]
	out := model.NewTensor(len(paths), h, w, c)
	for i, path := range paths {
		v, err := loader.PreprocessFile(path, evaluate.LoaderOptions(p, false, 1, 1))
		if err != nil {
			t.Fatal(err)
		}
		copy(out.Data[i*h*w*c:], v)
	}
	return out
}

// nvinferInput decodes and resizes the pictures as Bonsai does, then applies the formula of
// the nvinfer_config.txt at cfgPath, giving NCHW input for the ONNX model.
func nvinferInput(t *testing.T, paths []string, p modelfile.Preprocessing, cfgPath string) *model.Tensor {
	t.Helper()
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	kv := keyValues(string(text))
	scale, err := strconv.ParseFloat(kv["net-scale-factor"], 32)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []float32
	for _, s := range strings.Split(kv["offsets"], ";") {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, float32(v))
	}
	format := kv["model-color-format"]
	c, h, w := p.InputSize[0], p.InputSize[1], p.InputSize[2]
	out := model.NewTensor(len(paths), c, h, w)
	for i, path := range paths {
		img, err := loader.DecodeFile(path, c)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = loader.Resize(img, w, h, p.Interpolation); err != nil {
			t.Fatal(err)
		}
		for k := range c {
			src := k
			if format == "1" { // BGR: channel 0 is the picture's blue
				src = 2 - k
			}
			for q := range h * w {
				out.Data[(i*c+k)*h*w+q] = float32(scale) * (float32(img.Pix[q*c+src]) - offsets[k])
			}
		}
	}
	return out
}
