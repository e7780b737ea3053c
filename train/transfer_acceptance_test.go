package train_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/internal/cli"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/results"
)

// transferSpec fine-tunes MobileNetV2-0.35 (Keras Applications' layout and padding, TAO's
// layer names) on hymenoptera; %[2]s is the pretrained_model_path line or nothing.
const transferSpec = `model_config {
  arch: "mobilenet_v2"
  width_multiplier: 0.35
  padding_mode: "keras"
  use_batch_norm: true
  input_image_size: "3,96,96"
  activation { activation_type: "relu6" }
  batch_norm_config { momentum: 0.99 epsilon: 0.001 }
}
train_config {
  train_dataset_path: "%[1]s/train"
  val_dataset_path: "%[1]s/val"
%[2]s
  optimizer { sgd { lr: 0.001 momentum: 0.9 } }
  batch_size_per_gpu: 16
  n_epochs: 3
  n_workers: 2
  random_seed: 1
  preprocess_mode: "tf"
  enable_random_crop: true
  enable_center_crop: true
  reg_config { type: "L2" scope: "Conv2D,Dense" weight_decay: 0.00005 }
  lr_config { cosine { learning_rate: 0.001 min_lr_ratio: 0.01 soft_start: 0.1 } }
}
`

// TestTransferLearningAcceptance trains the same recipe twice on hymenoptera (244 train, 153
// validation photos), once from the ImageNet MobileNetV2-0.35 of ../shared/data (read straight
// from its TF.js model.json) and once from random weights, and requires the pretrained start
// to win by at least 10 points of validation accuracy. About 1.5 minutes on 2 cores.
func TestTransferLearningAcceptance(t *testing.T) {
	testutil.Acceptance(t)
	data := testutil.SharedData(t, "hymenoptera")
	pretrained := testutil.SharedData(t, "pretrained", "mobilenetv2-035-tfjs", "model.json")
	root := t.TempDir()
	acc := map[string]float64{}
	for _, start := range []string{"pretrained", "random"} {
		line := ""
		if start == "pretrained" {
			line = fmt.Sprintf("  pretrained_model_path: %q", pretrained)
		}
		specPath := filepath.Join(root, start+".cfg")
		if err := os.WriteFile(specPath, []byte(fmt.Sprintf(transferSpec, data, line)), 0o644); err != nil {
			t.Fatal(err)
		}
		outDir := filepath.Join(root, start)
		began := time.Now()
		var out, errb bytes.Buffer
		if code := cli.Main([]string{"classification", "train", "-e", specPath, "-r", outDir, "--backend", "go"}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", start, code, out.String(), errb.String())
		}
		rows, err := results.ReadTrainingCSV(filepath.Join(outDir, "training.csv"))
		if err != nil || len(rows) == 0 {
			t.Fatalf("%s: training.csv: %v", start, err)
		}
		acc[start] = rows[len(rows)-1].ValAcc
		t.Logf("%s start: validation accuracy %.4f after %d epochs (%v)", start, acc[start], len(rows), time.Since(began).Round(time.Second))
	}
	if gain := acc["pretrained"] - acc["random"]; gain < 0.10 {
		t.Errorf("the pretrained start wins by %.1f points (%.4f vs %.4f); want at least 10", 100*gain, acc["pretrained"], acc["random"])
	}
}
