package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// readIO reads a make_torchvision.py record: N, C, H, W, K, the NCHW inputs and PyTorch's
// logits; the inputs are returned in Bonsai's NHWC layout.
func readIO(t *testing.T, path string) (*model.Tensor, []float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [5]int32
	for i := range hdr {
		hdr[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	n, c, h, w, k := int(hdr[0]), int(hdr[1]), int(hdr[2]), int(hdr[3]), int(hdr[4])
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[20+4*i:])) }
	x := model.NewTensor(n, h, w, c)
	for i := range n {
		for ch := range c {
			for y := range h {
				for z := range w {
					x.Data[((i*h+y)*w+z)*c+ch] = f(((i*c+ch)*h+y)*w + z)
				}
			}
		}
	}
	logits := make([]float64, n*k)
	for i := range logits {
		logits[i] = float64(f(n*c*h*w + i))
	}
	return x, logits
}

// importAndRun imports an ONNX file and returns Bonsai's logits on x.
func importAndRun(t *testing.T, path string, x *model.Tensor) (*Imported, []float32) {
	t.Helper()
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(m, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	em, err := e.NewModel(im.Graph, im.Weights, 1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := em.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	return im, out.Data
}

// TestImportTorchvisionMobileNetV2: torchvision's mobilenet_v2 (width 0.25, seeded random
// weights) exported by Debian's PyTorch 1.13 reproduces PyTorch's logits on real photos within
// 1e-4 (testdata/make_torchvision.py wrote the model and PyTorch's outputs).
func TestImportTorchvisionMobileNetV2(t *testing.T) {
	x, want := readIO(t, filepath.Join("testdata", "mobilenet_v2.io.bin"))
	im, got := importAndRun(t, filepath.Join("testdata", "mobilenet_v2.onnx"), x)
	testutil.AssertClose(t, "mobilenet_v2 logits", got, want, 1e-4)
	var depthwise int
	for _, l := range im.Graph.Layers {
		if l.Op == model.OpDepthwiseConv {
			depthwise++
		}
	}
	if depthwise != 17 {
		t.Errorf("%d depthwise convolutions, torchvision's mobilenet_v2 has 17", depthwise)
	}
}

// TestImportTorchvisionResNet18Acceptance exports torchvision's resnet18 (seeded random
// weights) with Debian's PyTorch at test time (45 MB: not checked in; about 15 s) and reproduces
// its logits on real photos within 1e-4.
func TestImportTorchvisionResNet18Acceptance(t *testing.T) {
	testutil.Acceptance(t)
	shared := testutil.SharedData(t, "pretrained", "samples")
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, torchvision").Run(); err != nil {
		t.Skipf("%s with torch and torchvision (Debian python3-torch, python3-torchvision) writes this fixture: %v", py, err)
	}
	dir := t.TempDir()
	out, err := exec.Command(py, filepath.Join("testdata", "make_torchvision.py"), "resnet18", dir, filepath.Dir(filepath.Dir(shared))).CombinedOutput()
	if err != nil {
		t.Fatalf("make_torchvision.py: %v\n%s", err, out)
	}
	x, want := readIO(t, filepath.Join(dir, "resnet18.io.bin"))
	im, got := importAndRun(t, filepath.Join(dir, "resnet18.onnx"), x)
	testutil.AssertClose(t, "resnet18 logits", got, want, 1e-4)
	if l := im.Graph.Index()["maxpool_MaxPool"]; l == nil || l.Op != model.OpMaxPool || l.Padding != model.PadValid {
		t.Errorf("maxpool: %+v", l)
	}
}

// TestImportRoundTrip: families exported by Bonsai and imported back compute the same
// probabilities (batch norms come back folded into the convolutions). The acceptance test
// below takes every family.
func TestImportRoundTrip(t *testing.T) {
	roundTrip(t, map[string]bool{"resnet": true, "mobilenet_v2": true, "efficientnet_b0": true,
		"cspdarknet_tiny": true, "googlenet": true, "squeezenet": true})
}

// TestImportRoundTripEveryFamilyAcceptance is the round trip of every family's smallest depth.
func TestImportRoundTripEveryFamilyAcceptance(t *testing.T) {
	testutil.Acceptance(t)
	roundTrip(t, nil)
}

// roundTrip exports the smallest depth of the families named in only (nil: all), imports the
// files back and compares the probabilities.
func roundTrip(t *testing.T, only map[string]bool) {
	eng := exporttest.OpenEngine(t)
	x := exporttest.FashionImages(t, 2, 3, 32, 32)
	seen := map[string]bool{}
	for i, z := range exporttest.Zoo() {
		name, depth := z[0].(string), z[1].(int)
		if seen[name] || (only != nil && !only[name]) {
			continue
		}
		seen[name] = true
		g, err := arch.Build(arch.Config{Arch: name, NLayers: depth, InputSize: [3]int{3, 32, 32}, NumClasses: 5,
			UseBatchNorm: true, UseBias: i%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		w := exporttest.RandomWeights(t, eng, g, int64(i+1))
		want := exporttest.ReferenceProbs(t, eng, g, w, x) // (scales w's output layer: spread probabilities)
		ex, err := Export(g, w, Options{})
		if err != nil {
			t.Fatalf("%s%d: %v", name, depth, err)
		}
		im, err := Import(ex.Model, ImportOptions{})
		if err != nil {
			t.Fatalf("%s%d: %v", name, depth, err)
		}
		got := predict(t, im.Graph, im.Weights, x)
		if d := exporttest.MaxAbsDiff(got.Data, want.Data); d > 1e-5 {
			t.Errorf("%s%d: imported probabilities differ by %.3g", name, depth, d)
		}
	}
}

// TestImportErrors: unsupported graphs are one-line errors naming the node and the operator.
func TestImportErrors(t *testing.T) {
	m, err := ReadFile(filepath.Join("testdata", "mobilenet_v2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m.GetGraph().GetNode()[0].OpType = strPtr("DeformConv")
	_, err = Import(m, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "(DeformConv): operator DeformConv is not supported") || strings.Contains(err.Error(), "\n") {
		t.Errorf("unsupported op: %v", err)
	}
}

func strPtr(s string) *string { return &s }
