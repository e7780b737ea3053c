package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

func TestModelSummaryTable(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"model", "summary", "--arch", "resnet", "--n_layers", "18", "--use_pooling",
		"--input_image_size", "3,224,224", "--num_classes", "1000", "--freeze_blocks", "0", "1"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Trainable without freezing: 11,693,736 = torchvision's 11,689,512 + TAO's block_1a projection
	// shortcut (4,096 + 128); frozen: conv1 9,408 and block 1's convs 4*36,864 + 4,096. Total adds
	// the BN moving statistics, 2 * 4,864 channels.
	for _, want := range []string{"block_1a_conv_shortcut (Conv2D)", "(512, 7, 7)", "predictions (Dense)",
		"Total params: 11,703,464", "Trainable params: 11,532,776", "MACs: 1,826,918,400"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestModelSummaryJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resnet10.json")
	var out, errb bytes.Buffer
	if code := Main([]string{"model", "summary", "--n_layers", "10", "--input_image_size", "1,32,48", "--num_classes", "4", "--json", path}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	g, err := model.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Input != [3]int{1, 32, 48} || g.Index()["predictions"].Units != 4 {
		t.Errorf("graph input %v", g.Input)
	}
}

func TestModelSummaryBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "resnt"},
		{"--n_layers", "19"},
		{"--input_image_size", "3,224"},
		{"--freeze_blocks", "x"},
	} {
		var out, errb bytes.Buffer
		if code := Main(append([]string{"model", "summary"}, args...), &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
		if strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: want a one-line error, got %q", args, errb.String())
		}
	}
}

// TestModelSummaryFromSpec builds TAO's sample spec model; the classes are the folders of
// train_dataset_path (relative to the spec file).
func TestModelSummaryFromSpec(t *testing.T) {
	dir := t.TempDir()
	for _, class := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(dir, "train", class), 0o755); err != nil {
			t.Fatal(err)
		}
		// Counting classes lists the image files; it does not decode them.
		if err := os.WriteFile(filepath.Join(dir, "train", class, "1.png"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	specText := `model_config {
  arch: "resnet", n_layers: 18
  use_batch_norm: true
  all_projections: true
  freeze_blocks: 0
  freeze_blocks: 1
  input_image_size: "3,224,224"
}
train_config {
  train_dataset_path: "train"
  batch_size_per_gpu: 64
  n_epochs: 80
  optimizer { sgd { lr: 0.01 momentum: 0.9 } }
  lr_config { step { learning_rate: 0.006 step_size: 10 gamma: 0.1 } }
}
`
	specPath := filepath.Join(dir, "spec.cfg")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"model", "summary", "-e", specPath}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// 11,543,490: the count TAO reports for this spec with 2 classes (see model/arch tests).
	for _, want := range []string{"Total params: 11,543,490", "predictions (Dense)                        (2)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := Main([]string{"model", "summary", "-e", specPath, "--num_classes", "5", "--json", "-"}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	g, err := model.ParseJSON(out.Bytes())
	if err != nil || g.Index()["predictions"].Units != 5 {
		t.Fatalf("--json - with --num_classes 5: %v", err)
	}
	for _, args := range [][]string{
		{"-e", specPath, "--arch", "vgg"},
		{"-e", filepath.Join(dir, "missing.cfg")},
	} {
		errb.Reset()
		if code := Main(append([]string{"model", "summary"}, args...), &out, &errb); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "train")); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := Main([]string{"model", "summary", "-e", specPath}, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), "--num_classes") {
		t.Errorf("missing train folder: exit %d, stderr %q", code, errb.String())
	}
}
