package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// TestEvaluateONNXAgreesWithBonsai exports a torch-mode model with torchvision's per-channel std,
// folded for DeepStream (so the model's input differs from Bonsai's), and a static batch that does not
// divide the image count, files real pictures under the class Bonsai predicts for each, and
// checks that ONNX Runtime, with the preprocessing from the metadata, gets every one right.
func TestEvaluateONNXAgreesWithBonsai(t *testing.T) {
	rt := onnxtools.Require(t)
	dir := t.TempDir()
	pictures := exporttest.PictureFiles(t, dir, 6)
	eng := exporttest.OpenEngine(t)
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{3, 32, 32}, NumClasses: 2, UseBatchNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	prep := modelfile.Preprocessing{Mode: "torch", InputSize: g.Input, Interpolation: "bilinear",
		ImageStd: map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}}
	x := preprocessed(t, pictures, prep)
	var w model.Weights
	var classes []int
	for seed := int64(1); len(slices.Compact(slices.Sorted(slices.Values(classes)))) < 2; seed++ {
		if seed > 20 {
			t.Fatal("every seed predicts one class for all pictures")
		}
		w = exporttest.RandomWeights(t, eng, g, seed)
		probs := exporttest.ReferenceProbs(t, eng, g, w, x)
		classes = classes[:0]
		for i := range pictures {
			classes = append(classes, evaluate.Argmax(probs.Data[2*i:2*i+2]))
		}
	}
	data := filepath.Join(dir, "data")
	for i, p := range pictures {
		copyFile(t, p, filepath.Join(data, fmt.Sprintf("c%d", classes[i]), fmt.Sprintf("%d_%s", i, filepath.Base(p))))
	}
	modelPath := filepath.Join(dir, "m.safetensors")
	exporttest.SavePreprocessed(t, modelPath, g, w, prep)
	res, err := Export(Config{Model: modelPath, GenDSConfig: true, StaticBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.InputScale == nil {
		t.Fatal("a per-channel std with --gen_ds_config should fold into the model")
	}
	got, err := EvaluateONNX(EvalConfig{Model: res.ONNX, Dir: data}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Images != 6 || got.Correct != 6 {
		t.Errorf("ONNX Runtime agrees with Bonsai on %d of %d pictures", got.Correct, got.Images)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
