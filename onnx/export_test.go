package onnx

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// exportAndCompare exports g with w (its output layer scaled by referenceProbs) to path, runs
// it in ONNX Runtime on x and checks the probabilities against Bonsai's within 1e-4.
func exportAndCompare(t *testing.T, rt *onnxtools.Runtime, g *model.Graph, w model.Weights, x *model.Tensor, opts Options, path string) {
	t.Helper()
	want := exporttest.ReferenceProbs(t, exporttest.OpenEngine(t), g, w, x)
	ex, err := Export(g, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, ex.Model); err != nil {
		t.Fatal(err)
	}
	if rt == nil {
		return
	}
	input := x
	if len(opts.InputScale) > 0 {
		input = divideChannels(x, opts.InputScale)
	}
	res, err := rt.Run(path, NCHW(input), onnxtools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputName != OutputName || !slices.Equal(res.Output.Shape, want.Shape) {
		t.Fatalf("%s: output %s %v, want %s %v", path, res.OutputName, res.Output.Shape, OutputName, want.Shape)
	}
	d := exporttest.MaxAbsDiff(res.Output.Data, want.Data)
	if d > 1e-4 {
		t.Errorf("%s: ONNX Runtime's probabilities differ from Bonsai's by up to %.3g", filepath.Base(path), d)
	}
	t.Logf("%s: max |ORT - Bonsai| %.2g; top probability %.3f", filepath.Base(path), d, slices.Max(want.Data))
}

// divideChannels returns x [N,H,W,C] with channel c divided by s[c].
func divideChannels(x *model.Tensor, s []float32) *model.Tensor {
	out := model.NewTensor(x.Shape...)
	c := len(s)
	for i, v := range x.Data {
		out.Data[i] = v / s[i%c]
	}
	return out
}

// TestExportZooMatchesOnnxRuntime exports every family of the zoo at its smallest depth (the
// acceptance test below takes every depth) and checks it in ONNX Runtime and the ONNX checker.
func TestExportZooMatchesOnnxRuntime(t *testing.T) {
	var models [][2]any
	seen := map[string]bool{}
	for _, z := range exporttest.Zoo() {
		if name := z[0].(string); !seen[name] {
			seen[name] = true
			models = append(models, z)
		}
	}
	exportZoo(t, models)
}

// TestExportEveryDepthAcceptance is the zoo check for every depth (ResNet-200, EfficientNet-B7).
func TestExportEveryDepthAcceptance(t *testing.T) {
	testutil.Acceptance(t)
	exportZoo(t, exporttest.Zoo())
}

// exportZoo exports each (arch, depth) at 32x32 with random weights, opsets 12 to 17 in turn,
// conv biases on every other model, runs each file in ONNX Runtime on real pictures and
// compares the probabilities with Bonsai's; the ONNX checker (full check) then reads every
// file. Without ONNX Runtime it still exports every model, then skips.
func exportZoo(t *testing.T, models [][2]any) {
	rt, ortErr := onnxtools.Find()
	eng := exporttest.OpenEngine(t)
	dir := t.TempDir()
	x := exporttest.FashionImages(t, 4, 3, 32, 32)
	var paths []string
	for i, z := range models {
		name, depth := z[0].(string), z[1].(int)
		t.Run(fmt.Sprintf("%s%d", name, depth), func(t *testing.T) {
			g, err := arch.Build(arch.Config{Arch: name, NLayers: depth, InputSize: [3]int{3, 32, 32}, NumClasses: 5, UseBatchNorm: true, UseBias: i%2 == 0})
			if err != nil {
				t.Fatal(err)
			}
			w := exporttest.RandomWeights(t, eng, g, int64(i+1))
			path := filepath.Join(dir, fmt.Sprintf("%s%d.onnx", name, depth))
			exportAndCompare(t, rt, g, w, x, Options{Opset: MinOpset + i%(MaxOpset-MinOpset+1)}, path)
			paths = append(paths, path)
		})
	}
	if ortErr != nil {
		t.Skipf("ONNX Runtime comparison skipped: %v", ortErr)
	}
	checkFiles(t, paths...)
}

// checkFiles runs the ONNX checker on the files, or skips when it is missing.
func checkFiles(t *testing.T, paths ...string) {
	t.Helper()
	onnxtools.RequireChecker(t)
	if err := onnxtools.Check(paths...); err != nil {
		t.Fatal(err)
	}
}
