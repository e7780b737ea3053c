package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/pyfmt"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/results"
)

// writeColorFolder writes size×size PNGs in dir/<class>/: "red" images are reddish and
// "blue" ones bluish, with noise, so that a small network learns them in a few steps.
func writeColorFolder(t *testing.T, dir string, perClass, size int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for c, name := range []string{"blue", "red"} {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		for i := 0; i < perClass; i++ {
			img := image.NewRGBA(image.Rect(0, 0, size, size))
			for p := 0; p < size*size; p++ {
				v := uint8(120 + rng.IntN(120))
				px := color.RGBA{60, uint8(rng.IntN(200)), v, 255}
				if c == 1 {
					px.R, px.B = v, 60
				}
				img.Set(p%size, p/size, px)
			}
			f, err := os.Create(filepath.Join(dir, name, fmt.Sprintf("%s_%02d.png", name, i)))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, img)
			f.Close()
		}
	}
}

// tinySpec is a TAO spec for a ResNet-10 at 32×32 on the folders under root.
func tinySpec(root string, epochs int) string {
	return fmt.Sprintf(`model_config {
  arch: "resnet"
  n_layers: 10
  use_batch_norm: true
  all_projections: true
  input_image_size: "3,32,32"
  batch_norm_config { momentum: 0.6 epsilon: 0.001 }
}
train_config {
  train_dataset_path: "%[1]s/train"
  val_dataset_path: "%[1]s/val"
  optimizer { sgd { lr: 0.01 momentum: 0.9 } }
  batch_size_per_gpu: 8
  n_epochs: %[2]d
  n_workers: 2
  random_seed: 7
  preprocess_mode: "torch"
  enable_random_crop: true
  reg_config { type: "L2" scope: "Conv2D,Dense" weight_decay: 0.0001 }
  lr_config { cosine { learning_rate: 0.02 min_lr_ratio: 0.01 soft_start: 0.1 } }
}
eval_config {
  eval_dataset_path: "%[1]s/val"
  model_path: "results/weights/best.safetensors"
  top_k: 1
  batch_size: 4
  n_workers: 2
}
`, root, epochs)
}

// tinyProject writes the dataset and spec into a temp folder and returns the spec path.
func tinyProject(t *testing.T, epochs int) (root, specPath string) {
	root = t.TempDir()
	writeColorFolder(t, filepath.Join(root, "train"), 16, 36, 1)
	writeColorFolder(t, filepath.Join(root, "val"), 4, 36, 2)
	specPath = filepath.Join(root, "spec.cfg")
	if err := os.WriteFile(specPath, []byte(tinySpec(root, epochs)), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, specPath
}

// bonsai runs the CLI and returns the exit code, stdout and stderr.
func bonsai(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := bonsai(args...)
	if code != 0 {
		t.Fatalf("bonsai %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestClassificationTrainEvaluateInfer(t *testing.T) {
	root, specPath := tinyProject(t, 2)
	resDir := filepath.Join(root, "results")
	// --use_amp on the pure-Go backend: a note, and float32 training.
	out := mustRun(t, "classification", "train", "-e", specPath, "-r", resDir, "--backend", "go", "--use_amp")
	if !strings.Contains(out, "Total Val accuracy") {
		t.Errorf("train output lacks the final summary:\n%s", out)
	}
	if !strings.Contains(out, "Note: bf16 mixed precision (--use_amp / train_config.precision) is for GPUs") {
		t.Errorf("--use_amp on the pure-Go backend gave no note:\n%s", out)
	}
	checkTrainOutputs(t, resDir, 2)
	// report.html as a browser shows it: results.png and the confusion matrix, every table.
	if testutil.ChromiumPath() != "" {
		testutil.RenderInChromium(t, filepath.Join(resDir, "report.html"), false).Check(t, 2,
			[]string{"facts", "metrics", "per-class", "confusion"})
	} else {
		t.Log(testutil.NoChromium)
	}

	// evaluate: model from eval_config.model_path (relative to the spec's folder).
	evalDir := filepath.Join(root, "eval")
	out = mustRun(t, "classification", "evaluate", "-e", specPath, "-r", evalDir, "--backend", "go")
	for _, want := range []string{"Evaluation Loss: ", "Evaluation Top K accuracy: ", "Confusion Matrix\n[[", "Classification Report", "weighted avg"} {
		if !strings.Contains(out, want) {
			t.Errorf("evaluate output lacks %q:\n%s", want, out)
		}
	}
	var res struct {
		Samples   int     `json:"samples"`
		TopK      float64 `json:"top_k_accuracy"`
		Confusion [][]int `json:"confusion_matrix"`
		Loss      float64 `json:"loss"`
		CE        float64 `json:"cross_entropy"`
	}
	readJSON(t, filepath.Join(evalDir, "results.json"), &res)
	if res.Samples != 8 || len(res.Confusion) != 2 || res.TopK < 0.75 {
		t.Errorf("results.json: %+v (want 8 samples, 2x2 matrix, top-1 >= 0.75)", res)
	}
	// The eval set is the validation set: evaluate's loss (cross-entropy + L2 penalty, as TAO
	// prints it) is the val_loss training recorded for the same checkpoint.
	best, err := modelfile.Load(filepath.Join(resDir, "weights", "best.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	if valLoss, _ := strconv.ParseFloat(best.Extra["val_loss"], 64); math.Abs(res.Loss-valLoss) > 1e-6*valLoss || res.CE >= res.Loss {
		t.Errorf("evaluate loss %v (cross-entropy %v), training val_loss %v", res.Loss, res.CE, valLoss)
	}
	if !strings.Contains(out, "Evaluation cross-entropy: ") {
		t.Errorf("evaluate output lacks the cross-entropy line:\n%s", out)
	}
	checkPNG(t, filepath.Join(evalDir, "confusion_matrix.png"))
	if csv, _ := os.ReadFile(filepath.Join(evalDir, "classification_report.csv")); !strings.HasPrefix(string(csv), "class,precision,recall,f1-score,support\nblue,") {
		t.Errorf("classification_report.csv = %q", csv)
	}

	// inference on one image and on a folder.
	model := filepath.Join(resDir, "weights", "last.safetensors")
	img := filepath.Join(root, "val", "red", "red_00.png")
	out = mustRun(t, "classification", "inference", "-e", specPath, "-m", model, "-i", img, "--backend", "go")
	if !strings.Contains(out, "Current predictions: [[") || !strings.Contains(out, "Class label = 1\nClass name = red\n") {
		t.Errorf("single-image inference output:\n%s", out)
	}
	inferDir := filepath.Join(root, "infer")
	mustRun(t, "classification", "inference", "-m", model, "-d", filepath.Join(root, "val"), "-b", "3", "-r", inferDir, "--top_k", "2", "--backend", "go")
	checkInferenceCSV(t, filepath.Join(inferDir, "result.csv"), 8)
	var preds []evaluate.Prediction
	readJSON(t, filepath.Join(inferDir, "result.json"), &preds)
	if len(preds) != 8 || len(preds[0].TopK) != 2 || preds[0].TopK[0].Prob < preds[0].TopK[1].Prob {
		t.Errorf("result.json: %+v", preds)
	}
}

// checkTrainOutputs checks every file TAO's train writes, plus best/last and results.png.
func checkTrainOutputs(t *testing.T, resDir string, epochs int) {
	t.Helper()
	for e := 1; e <= epochs; e++ {
		p := results.EpochCheckpointPath(resDir, "resnet", e, modelfile.Ext)
		mf, err := modelfile.Load(p, "")
		if err != nil {
			t.Fatalf("checkpoint of epoch %d: %v", e, err)
		}
		if mf.Epoch != e || mf.Graph == nil || len(mf.Optimizer) != 0 || mf.Classmap["red"] != 1 || mf.Preprocessing.Mode != "torch" || !strings.Contains(mf.Spec, "model_config") {
			t.Errorf("checkpoint %s: epoch %d, graph %v, %d optimizer tensors, classmap %v, preprocessing %+v",
				p, mf.Epoch, mf.Graph != nil, len(mf.Optimizer), mf.Classmap, mf.Preprocessing)
		}
	}
	for _, name := range []string{"best", "last"} {
		if _, err := modelfile.Load(filepath.Join(resDir, "weights", name+modelfile.Ext), ""); err != nil {
			t.Errorf("%s checkpoint: %v", name, err)
		}
	}
	if cm, _ := os.ReadFile(filepath.Join(resDir, "classmap.json")); string(cm) != "{\"blue\": 0, \"red\": 1}\n" {
		t.Errorf("classmap.json = %q", cm)
	}
	rows, err := results.ReadTrainingCSV(filepath.Join(resDir, "training.csv"))
	if err != nil || len(rows) != epochs {
		t.Fatalf("training.csv: %v, %d rows", err, len(rows))
	}
	if last := rows[epochs-1]; last.ValAcc < 0.75 || last.LR <= 0 {
		t.Errorf("last epoch %+v: the network did not learn red vs blue", last)
	}
	raw, err := os.ReadFile(filepath.Join(resDir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var first, final results.StatusEvent
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &final)
	if first.Status != results.StatusStarted || final.Status != results.StatusSuccess || final.KPI["validation_accuracy"] == nil {
		t.Errorf("status.json first %+v, last %+v", first, final)
	}
	checkPNG(t, filepath.Join(resDir, "results.png"))
	if events, _ := filepath.Glob(filepath.Join(resDir, "events", "events.out.tfevents.*")); len(events) == 0 {
		t.Error("no TensorBoard event file in events/")
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 100 || cfg.Height < 100 {
		t.Errorf("%s: %v, %dx%d", path, err, cfg.Width, cfg.Height)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkInferenceCSV checks TAO's result.csv: no header, path,class,confidence per image.
func checkInferenceCSV(t *testing.T, path string, n int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != n {
		t.Fatalf("result.csv has %d rows, want %d", len(lines), n)
	}
	right := 0
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 3 || !slices.Contains([]string{"blue", "red"}, f[1]) {
			t.Fatalf("result.csv row %q", l)
		}
		// TAO (pandas) writes the float32 confidence as its float64 repr: 0.7853981852531433.
		conf, err := strconv.ParseFloat(f[2], 64)
		if err != nil || float64(float32(conf)) != conf || f[2] != pyfmt.Float(conf) || !strings.Contains(f[2], ".") {
			t.Errorf("confidence %q is not the float64 repr of a float32", f[2])
		}
		if strings.Contains(filepath.Base(filepath.Dir(f[0])), f[1]) {
			right++
		}
	}
	if right < n*3/4 {
		t.Errorf("only %d of %d folder images classified into their folder's class", right, n)
	}
}

func TestClassificationResumeMatchesStraightRun(t *testing.T) {
	_, specPath := tinyProject(t, 2)
	straight, resumed := t.TempDir(), t.TempDir()
	mustRun(t, "classification", "train", "-e", specPath, "-r", straight, "--backend", "go")
	// Kill the run as it writes epoch 2's first file, then resume from weights/last (epoch 1).
	crashAtWrite(t, "resnet_002", func() {
		bonsai("classification", "train", "-e", specPath, "-r", resumed, "--backend", "go")
	})
	epoch1 := filepath.Join(t.TempDir(), "epoch1"+modelfile.Ext)
	last, err := os.ReadFile(filepath.Join(resumed, "weights", "last"+modelfile.Ext))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(epoch1, last, 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "classification", "train", "-e", specPath, "-r", resumed, "--resume", "--backend", "go")
	if !strings.Contains(out, "last.safetensors (epoch 1)") {
		t.Errorf("resume did not say which checkpoint it used:\n%s", out)
	}
	assertSameLast(t, straight, resumed)

	// TAO's way: pretrained_model_path names the checkpoint of the epoch before --init_epoch.
	// Only last keeps the optimizer state, so an epoch file restarts the optimizer (and says so).
	taoWay := t.TempDir()
	tao := withPretrained(t, specPath, epoch1, "")
	mustRun(t, "classification", "train", "-e", tao, "-r", taoWay, "--init_epoch", "2", "--backend", "go")
	assertSameLast(t, straight, taoWay)
	fromEpochFile := withPretrained(t, specPath, filepath.Join(straight, "weights", "resnet_001"+modelfile.Ext), "")
	if out := mustRun(t, "classification", "train", "-e", fromEpochFile, "-r", t.TempDir(), "--init_epoch", "2", "--backend", "go"); !strings.Contains(out, "without optimizer state") {
		t.Errorf("--init_epoch from an epoch file without optimizer state did not say so:\n%s", out)
	}
}

// crashAtWrite runs fn and stops it, as a kill would, when a file whose path contains match
// is about to be renamed into place (its temporary file complete).
func crashAtWrite(t *testing.T, match string, fn func()) {
	t.Helper()
	type crash struct{}
	atomicfile.SetTestHook(func(stage, path string) {
		if stage == atomicfile.StageTempWritten && strings.Contains(path, match) {
			panic(crash{})
		}
	})
	defer atomicfile.SetTestHook(nil)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			return
		}
		t.Fatalf("no write to %s happened", match)
	}()
	fn()
}

// assertSameLast checks that two results folders end with identical weights and optimizer state.
func assertSameLast(t *testing.T, dirA, dirB string) {
	t.Helper()
	a, err := modelfile.Load(filepath.Join(dirA, "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := modelfile.Load(filepath.Join(dirB, "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Epoch != b.Epoch {
		t.Fatalf("last checkpoints are from epochs %d and %d", a.Epoch, b.Epoch)
	}
	for k, w := range a.Weights {
		if !slices.Equal(w.Data, b.Weights[k].Data) {
			t.Fatalf("%s differs between the straight and the resumed run", k)
		}
	}
	for k, w := range a.Optimizer {
		if !slices.Equal(w.Data, b.Optimizer[k].Data) {
			t.Fatalf("optimizer %s differs between the straight and the resumed run", k)
		}
	}
}

func TestClassificationUsageAndFailures(t *testing.T) {
	_, specPath := tinyProject(t, 1)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"classification", "train", "-r", "x"}, ExitUsage, "-e SPEC is required"},
		{[]string{"classification", "train", "-e", specPath}, ExitUsage, "-r RESULTS_DIR is required"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--gpus", "2", "--gpu_index", "0"}, ExitUsage, "--gpu_index lists 1"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--gpus", "64", "--backend", "go"}, ExitFailure, "only 1 device"},
		{[]string{"classification", "train", "-e", filepath.Join(t.TempDir(), "missing.cfg"), "-r", t.TempDir()}, ExitUsage, "missing.cfg"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--init_epoch", "2", "--backend", "go"}, ExitFailure, "no checkpoint"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--distill_alpha", "0.5", "--backend", "go"}, ExitUsage, "need a teacher"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--teacher", "x", "--distill_alpha", "2"}, ExitUsage, "--distill_alpha 2: must be in [0, 1]"},
		{[]string{"classification", "train", "-e", specPath, "-r", t.TempDir(), "--teacher", filepath.Join(t.TempDir(), "teach.safetensors"), "--backend", "go"}, ExitFailure, "distillation teacher: "},
		{[]string{"classification", "inference", "-m", "x.safetensors"}, ExitUsage, "exactly one of -i IMAGE and -d DIR"},
		{[]string{"classification", "evaluate"}, ExitUsage, "-e SPEC is required"},
		{[]string{"classification", "evaluate", "-e", specPath, "-m", filepath.Join(t.TempDir(), "none.safetensors")}, ExitFailure, "none.safetensors"},
	}
	for _, c := range cases {
		code, _, errs := bonsai(c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("bonsai %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errs, c.code, c.want)
		}
	}
	if code, _, errs := bonsai("classification", "train", "--help"); code != 0 || !strings.Contains(errs, "weights/<arch>_NNN") {
		t.Errorf("--help: exit %d, %q", code, errs)
	}
}

func TestClassificationEncryptedCheckpoints(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	resDir := filepath.Join(root, "results")
	logFile := filepath.Join(root, "train.log")
	if out := mustRun(t, "classification", "train", "-e", specPath, "-r", resDir, "-k", "s3cret", "--backend", "go", "--log_file", logFile); out != "Execution status: PASS\n" {
		t.Errorf("--log_file: output still went to stdout: %q", out)
	}
	if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "Total Val accuracy") || !strings.Contains(string(log), "img/s") {
		t.Errorf("--log_file %s lacks the summary or the progress lines:\n%s", logFile, log)
	}
	model := filepath.Join(resDir, "weights", "resnet_001"+modelfile.EncryptedExt)
	if _, err := modelfile.Load(model, "s3cret"); err != nil {
		t.Fatalf("encrypted checkpoint: %v", err)
	}
	if code, _, errs := bonsai("classification", "evaluate", "-e", specPath, "-m", model, "--backend", "go"); code == 0 || !strings.Contains(errs, "-k") {
		t.Errorf("evaluate without the key: exit %d, %q", code, errs)
	}
	if code, _, errs := bonsai("classification", "evaluate", "-e", specPath, "-m", model, "-k", "wrong", "--backend", "go"); code != ExitFailure || !strings.Contains(errs, "wrong key") {
		t.Errorf("evaluate with a wrong key: exit %d, %q", code, errs)
	}
	mustRun(t, "classification", "evaluate", "-e", specPath, "-m", model, "-k", "s3cret", "--backend", "go")
}

// withPretrained returns a copy of the spec file with pretrained_model_path and extra
// model_config lines.
func withPretrained(t *testing.T, specPath, pretrained, modelExtra string) string {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "train_config {\n", fmt.Sprintf("train_config {\n  pretrained_model_path: %q\n", pretrained), 1)
	s = strings.Replace(s, "model_config {\n", "model_config {\n"+modelExtra, 1)
	out := filepath.Join(t.TempDir(), "spec.cfg")
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestClassificationTransferFreezeAndPrunedRetrain(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	base := filepath.Join(root, "base")
	mustRun(t, "classification", "train", "-e", specPath, "-r", base, "--backend", "go")
	pretrained := filepath.Join(base, "weights", "resnet_001"+modelfile.Ext)
	before, err := modelfile.Load(pretrained, "")
	if err != nil {
		t.Fatal(err)
	}

	// Transfer with freeze_blocks 0 and 1: the copied convolutions of those blocks stay put.
	frozenSpec := withPretrained(t, specPath, pretrained, "  freeze_blocks: 0\n  freeze_blocks: 1\n")
	ft := filepath.Join(root, "finetune")
	out := mustRun(t, "classification", "train", "-e", frozenSpec, "-r", ft, "--backend", "go")
	if !strings.Contains(out, "Pretrained weights from") || !strings.Contains(out, "layers loaded, 0 re-initialised head") {
		t.Errorf("no transfer report:\n%s", out)
	}
	after, err := modelfile.Load(filepath.Join(ft, "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"conv1/kernel", "block_1a_conv_1/kernel"} {
		if !slices.Equal(before.Weights[k].Data, after.Weights[k].Data) {
			t.Errorf("%s (frozen block) changed during fine-tuning", k)
		}
	}
	if slices.Equal(before.Weights["block_4a_conv_1/kernel"].Data, after.Weights["block_4a_conv_1/kernel"].Data) {
		t.Error("block_4a_conv_1 (not frozen) did not train")
	}

	// A pruned model is retrained as its own, smaller graph.
	pruned := filepath.Join(root, "pruned"+modelfile.Ext)
	mustRun(t, "classification", "prune", "-m", pretrained, "-o", pruned, "--target-ratio", "0.5")
	re := filepath.Join(root, "retrain")
	out = mustRun(t, "classification", "train", "-e", withPretrained(t, specPath, pruned, ""), "-r", re, "--backend", "go")
	if !strings.Contains(out, "pruned model") {
		t.Errorf("retrain did not say it keeps the pruned graph:\n%s", out)
	}
	got, err := modelfile.Load(filepath.Join(re, "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	full, _, _ := before.Graph.ParamCount()
	small, _, _ := got.Graph.ParamCount()
	if small >= full {
		t.Errorf("retrained model has %d parameters, the unpruned one %d", small, full)
	}
	if !strings.Contains(got.Extra["pruning"], "target_ratio") {
		t.Errorf("the retrained checkpoint lost the pruning record: %q", got.Extra["pruning"])
	}

	// The same retraining, distilled from the unpruned model.
	kd := filepath.Join(root, "distil")
	out = mustRun(t, "classification", "train", "-e", withPretrained(t, specPath, pruned, ""), "-r", kd, "--backend", "go",
		"--teacher", pretrained, "--distill_alpha", "0.7")
	if !strings.Contains(out, "Distillation: teacher "+pretrained+", alpha 0.7, temperature 4") {
		t.Errorf("no distillation line:\n%s", out)
	}
	distilled, err := modelfile.Load(filepath.Join(kd, "weights", "last"+modelfile.Ext), "")
	if err != nil {
		t.Fatal(err)
	}
	if rec := distilled.Extra["distillation"]; !strings.Contains(rec, `"alpha":0.7`) || !strings.Contains(rec, `"temperature":4`) {
		t.Errorf("distillation record %q", rec)
	}
	if slices.Equal(distilled.Weights["block_4a_conv_1/kernel"].Data, got.Weights["block_4a_conv_1/kernel"].Data) {
		t.Error("distillation left the training unchanged")
	}

	// The same from the spec: train_config.distillation.
	raw, err := os.ReadFile(withPretrained(t, specPath, pruned, ""))
	if err != nil {
		t.Fatal(err)
	}
	kdSpec := filepath.Join(root, "kd_spec.cfg")
	withKD := strings.Replace(string(raw), "train_config {\n", fmt.Sprintf("train_config {\n  distillation { teacher_model_path: %q alpha: 0.9 }\n", pretrained), 1)
	if err := os.WriteFile(kdSpec, []byte(withKD), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "classification", "train", "-e", kdSpec, "-r", filepath.Join(root, "distil_spec"), "--backend", "go")
	if !strings.Contains(out, "Distillation: teacher "+pretrained+", alpha 0.9, temperature 4") {
		t.Errorf("spec distillation not applied:\n%s", out)
	}
}

func TestNumpyFloatRow(t *testing.T) {
	cases := []struct {
		in   []float32
		want string
	}{
		{[]float32{0.25, 0.75}, "[[0.25 0.75]]"},
		{[]float32{0.125, 0.5, 0.375}, "[[0.125 0.5   0.375]]"},
		{[]float32{1, 0}, "[[1. 0.]]"},
		{[]float32{0.99999, 0.00001}, "[[9.9999e-01 1.0000e-05]]"},
	}
	for _, c := range cases {
		if got := numpyFloatRow(c.in); got != c.want {
			t.Errorf("numpyFloatRow(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
