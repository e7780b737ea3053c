package cli

import (
	"bytes"
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
