package deploy

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/quant"
)

func TestDefaultOutput(t *testing.T) {
	for in, want := range map[string]string{
		"out/weights/resnet_080.safetensors":     "out/weights/resnet_080.onnx",
		"out/weights/resnet_080.safetensors.enc": "out/weights/resnet_080.onnx",
		"model.hdf5":                             "model.onnx",
	} {
		if got := DefaultOutput(in); got != want {
			t.Errorf("DefaultOutput(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestExportINT8WritesEveryFile runs a whole INT8 export with DeepStream files on real
// pictures: every file appears, the cache has a line per calibrated tensor (the input's, with
// --cal_algorithm max, is the largest |value| of the preprocessed pictures), the QDQ model has
// opset 13 while the FP32 one keeps 12, ONNX Runtime runs the QDQ model, the checker accepts
// both, and a second export refuses to overwrite them.
func TestExportINT8WritesEveryFile(t *testing.T) {
	dir := t.TempDir()
	eng := exporttest.OpenEngine(t)
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{3, 32, 32}, NumClasses: 3, UseBatchNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "weights", "resnet_010.safetensors")
	exporttest.SaveModel(t, modelPath, g, exporttest.RandomWeights(t, eng, g, 5), "tf")
	calDir := filepath.Join(dir, "cal")
	if err := os.MkdirAll(calDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pictures := exporttest.PictureFiles(t, calDir, 6)
	cfg := Config{Model: modelPath, DataType: INT8, CalImageDir: filepath.Dir(pictures[0]), CalCacheFile: filepath.Join(dir, "cal.bin"),
		Batches: 2, BatchSize: 3, CalAlgorithm: quant.MaxAbs, GenDSConfig: true, MaxBatch: 8}
	res, err := Export(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantONNX := filepath.Join(dir, "weights", "resnet_010.onnx")
	if res.ONNX != wantONNX || res.QDQ != filepath.Join(dir, "weights", "resnet_010.qdq.onnx") || len(res.DSFiles) != 4 {
		t.Fatalf("result %+v", res)
	}
	for _, p := range append([]string{res.ONNX, res.QDQ, res.CalCache}, res.DSFiles...) {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	checkCache(t, res.CalCache, pictures[:6], g.Input)
	checkOpsets(t, res)
	if !strings.Contains(res.Trtexec, "--int8 --calib="+res.CalCache) || !strings.Contains(res.Trtexec, "--maxShapes=input_1:8x3x32x32") {
		t.Errorf("trtexec command %q", res.Trtexec)
	}
	if rt, err := onnxtools.Find(); err == nil {
		x := exporttest.FashionImages(t, 4, 3, 32, 32)
		if _, err := rt.Run(res.QDQ, onnx.NCHW(x), onnxtools.Options{}); err != nil {
			t.Error(err)
		}
	}
	if onnxtools.FindChecker() == nil {
		if err := onnxtools.Check(res.ONNX, res.QDQ); err != nil {
			t.Error(err)
		}
	}
	if _, err := Export(cfg); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("second export: %v, want a refusal naming --overwrite", err)
	}
	cfg.Overwrite = true
	if _, err := Export(cfg); err != nil {
		t.Errorf("with Overwrite: %v", err)
	}
}

// checkCache reads a calibration cache: header, line format, and the input's line, which with
// the max algorithm is the largest |value| of the preprocessed calibration pictures / 127.
func checkCache(t *testing.T, path string, pictures []string, size [3]int) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if lines[0] != "TRT-8601-EntropyCalibration2" || len(lines) < 20 {
		t.Fatalf("cache starts %q and has %d lines", lines[0], len(lines))
	}
	line := regexp.MustCompile(`^[^:]+: [0-9a-f]{8}$`)
	for _, l := range lines[1:] {
		if !line.MatchString(l) {
			t.Errorf("cache line %q", l)
		}
	}
	z := preprocessed(t, pictures, modelfile.Preprocessing{Mode: "tf", InputSize: size, Interpolation: "bilinear"})
	m := 0.0
	for _, v := range z.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	if want := onnx.InputName + ": " + quant.ScaleHex(m); lines[1] != want {
		t.Errorf("input line %q, want %q", lines[1], want)
	}
}

// checkOpsets checks the FP32 model's opset and the QDQ model's.
func checkOpsets(t *testing.T, res *Result) {
	t.Helper()
	for path, want := range map[string]int{res.ONNX: 12, res.QDQ: 13} {
		m, err := onnx.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := onnx.Opset(m); got != want {
			t.Errorf("%s: opset %d, want %d", filepath.Base(path), got, want)
		}
		if meta := onnx.Metadata(m); meta[onnx.MetaPreprocessMode] != "tf" || meta[onnx.MetaClasses] != `["c0","c1","c2"]` {
			t.Errorf("%s: metadata %v", filepath.Base(path), meta)
		}
	}
}

// TestExportRejectsBadSettings checks the errors a user can cause.
func TestExportRejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{1, 32, 32}, NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "m.safetensors")
	exporttest.SaveModel(t, modelPath, g, exporttest.RandomWeights(t, exporttest.OpenEngine(t), g, 1), "caffe")
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no model"},
		{Config{Model: modelPath, DataType: "int4"}, `data type "int4"`},
		{Config{Model: modelPath, Opset: 11}, "opset 11 is not supported"},
		{Config{Model: modelPath, DataType: INT8, Output: filepath.Join(dir, "a.onnx")}, "--cal_image_dir"},
		{Config{Model: modelPath, TensorRTVersion: "8.6"}, "MAJOR.MINOR.PATCH"},
		{Config{Model: modelPath, MinBatch: 4, MaxBatch: 2}, "min 4 <= opt 1 <= max 2"},
		{Config{Model: filepath.Join(dir, "none.safetensors")}, "none.safetensors"},
	} {
		if _, err := Export(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
