package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/results"
)

func baseOptions(t *testing.T, outDir, dataDir string, store *memStore) Options {
	tl, vl, classes := loaders(t, dataDir, 16, 8, 42)
	return Options{
		ResultsDir: outDir,
		Engine:     openEngine(t),
		Graph:      tinyCNN(16, 2),
		Train:      engine.TrainConfig{Optimizer: "sgd", Momentum: 0.9, BatchSize: 8, Seed: 42, RegType: "L2", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 1e-4},
		Schedule:   Schedule{Kind: ScheduleCosine, LearningRate: 0.1, MinLRRatio: 0.01, SoftStart: 0.1},
		Epochs:     3,
		TrainData:  tl, ValData: vl, Classes: classes,
		Save: store.save, Ext: ".ckpt",
	}
}

func TestRunWritesTAOOutputs(t *testing.T) {
	dataDir, outDir := t.TempDir(), t.TempDir()
	writeImageFolder(t, dataDir, 12, 16, 1)
	store := &memStore{}
	var progress, log bytes.Buffer
	o := baseOptions(t, outDir, dataDir, store)
	o.Progress, o.Log = &progress, &log
	o.HTMLReport, o.Facts = true, [][2]string{{"spec", "spec.cfg"}}
	o.Pruning = &results.PruneRecord{Source: "big.safetensors", Layers: []results.PrunedLayer{{Name: "conv1", Op: "conv2d", Before: 8, After: 4}}}
	var plotted int
	o.Plot = func(path string, rows []results.Epoch) error {
		plotted = len(rows)
		return os.WriteFile(path, []byte("png"), 0o644)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny_001.ckpt", "tiny_002.ckpt", "tiny_003.ckpt", "last.ckpt", "best.ckpt"} {
		if _, err := os.Stat(filepath.Join(outDir, "weights", name)); err != nil {
			t.Errorf("missing checkpoint: %v", err)
		}
	}
	if c := store.saved[results.LastPath(outDir, ".ckpt")]; c == nil || c.Epoch != 3 || c.Optimizer[engine.IterationsKey].Data[0] != 9 {
		t.Errorf("last checkpoint is not epoch 3 after 9 iterations: %+v", c)
	}
	if c := store.saved[results.BestPath(outDir, ".ckpt")]; c == nil || c.Epoch != res.Best.Epoch {
		t.Errorf("best checkpoint epoch differs from result's best %d", res.Best.Epoch)
	}
	cm, _ := os.ReadFile(filepath.Join(outDir, "classmap.json"))
	if string(cm) != "{\"left\": 0, \"right\": 1}\n" {
		t.Errorf("classmap.json = %q", cm)
	}
	rows, err := results.ReadTrainingCSV(filepath.Join(outDir, "training.csv"))
	if err != nil || len(rows) != 3 {
		t.Fatalf("training.csv: %v, %d rows", err, len(rows))
	}
	for i, r := range rows {
		wantLR := o.Schedule.LR((i+1)*3, 9)
		if r.Epoch != i+1 || float32(r.LR) != float32(wantLR) || r.Loss <= 0 || r.ValAcc < 0 || r.ValAcc > 1 {
			t.Errorf("row %d = %+v (want lr %g)", i, r, wantLR)
		}
	}
	if rows[2].ValAcc < 0.9 {
		t.Errorf("tiny CNN did not learn left/right: val_acc %.3f", rows[2].ValAcc)
	}
	if want := evaluateLoss(t, o, store.saved[results.LastPath(outDir, ".ckpt")].Weights); math.Abs(rows[2].ValLoss-want) > 1e-6*want {
		t.Errorf("training.csv val_loss %v differs from evaluate's loss %v on the same model and images", rows[2].ValLoss, want)
	}
	checkStatus(t, outDir, []string{results.StatusStarted, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusSuccess})
	html, err := os.ReadFile(filepath.Join(outDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<th class=\"name\">spec</th><td class=\"name\">spec.cfg</td>", "Validation after the last epoch (3)",
		`<table id="confusion">`, `<table id="per-class">`, "<td class=\"name\">conv1</td><td class=\"name\">conv2d</td><td>8</td><td>4</td><td>50%</td>",
		"Training curves (results.png)", "Confusion matrix of the validation images after epoch 3"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if plotted != 3 {
		t.Errorf("results.png drawn with %d rows, want 3", plotted)
	}
	if !strings.Contains(progress.String(), "img/s") || !strings.Contains(progress.String(), "Epoch 3/3") {
		t.Errorf("progress output lacks img/s or epoch count:\n%s", progress.String())
	}
	if !strings.Contains(log.String(), "Total Val accuracy") {
		t.Errorf("log lacks the final summary: %s", log.String())
	}
}

// evaluateLoss computes the loss as the evaluate command does: the inference model's
// probabilities, Keras' cross-entropy through evaluate.Evaluator, plus engine.Penalty.
func evaluateLoss(t *testing.T, o Options, w model.Weights) float64 {
	t.Helper()
	m, err := o.Engine.NewModel(o.Graph, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.NewEvaluator(o.Classes, 1)
	if err != nil {
		t.Fatal(err)
	}
	it := o.ValData.Epoch(0)
	defer it.Close()
	for it.Next() {
		b := it.Batch()
		probs, err := m.Predict(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.AddBatch(b.Targets, probs.Data); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ev.Report()
	if err != nil {
		t.Fatal(err)
	}
	penalty, err := engine.Penalty(o.Graph, w, o.Train)
	if err != nil || penalty <= 0 {
		t.Fatalf("penalty %v, %v", penalty, err)
	}
	rep.AddPenalty(penalty)
	return rep.Loss
}

// checkStatus checks the status field of every status.json line.
func checkStatus(t *testing.T, dir string, want []string) []results.StatusEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var events []results.StatusEvent
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e results.StatusEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("status.json line %q: %v", line, err)
		}
		events = append(events, e)
		got = append(got, e.Status)
	}
	if want != nil && !slices.Equal(got, want) {
		t.Errorf("status.json statuses = %v, want %v", got, want)
	}
	return events
}

// cancelOn cancels a context when the progress output mentions a text.
type cancelOn struct {
	mu     sync.Mutex
	text   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return len(p), nil
}

func TestResumeIsBitwiseIdentical(t *testing.T) {
	dataDir := t.TempDir()
	writeImageFolder(t, dataDir, 10, 16, 2)

	straightDir := t.TempDir()
	straight := &memStore{}
	if _, err := Run(context.Background(), baseOptions(t, straightDir, dataDir, straight)); err != nil {
		t.Fatal(err)
	}

	// Kill a run in the middle of epoch 2, then resume at epoch 2 from epoch 1's checkpoint.
	dir := t.TempDir()
	store := &memStore{}
	ctx, cancel := context.WithCancel(context.Background())
	o := baseOptions(t, dir, dataDir, store)
	o.Progress = &cancelOn{text: "Epoch 2/3", cancel: cancel}
	if _, err := Run(ctx, o); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v", err)
	}
	ck := store.saved[results.LastPath(dir, ".ckpt")]
	if ck == nil || ck.Epoch != 1 || store.saved[results.EpochCheckpointPath(dir, "tiny", 2, ".ckpt")] != nil {
		t.Fatal("the interrupted run should have saved epoch 1 only")
	}
	if len(store.saved[results.EpochCheckpointPath(dir, "tiny", 1, ".ckpt")].Optimizer) != 0 {
		t.Error("an epoch checkpoint carries optimizer state; only last needs it")
	}
	o = baseOptions(t, dir, dataDir, store)
	o.InitEpoch, o.Weights, o.Optimizer, o.Graph = 2, ck.Weights, ck.Optimizer, ck.Graph
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := straight.saved[results.LastPath(straightDir, ".ckpt")].Weights
	got := store.saved[results.LastPath(dir, ".ckpt")].Weights
	for k, w := range want {
		if !slices.Equal(w.Data, got[k].Data) {
			t.Errorf("%s differs after resume", k)
		}
	}
	rows, err := results.ReadTrainingCSV(filepath.Join(dir, "training.csv"))
	if err != nil || len(rows) != 3 || rows[0].Epoch != 1 || rows[2].Epoch != 3 {
		t.Errorf("training.csv after resume: %v %+v", err, rows)
	}
	checkStatus(t, dir, []string{results.StatusStarted, results.StatusRunning, results.StatusFailure, // first run, killed
		results.StatusStarted, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusRunning, results.StatusSuccess})
}

func TestNonFiniteLossStopsAndKeepsLastCheckpoint(t *testing.T) {
	dataDir, outDir := t.TempDir(), t.TempDir()
	writeImageFolder(t, dataDir, 8, 16, 3)
	store := &memStore{}
	o := baseOptions(t, outDir, dataDir, store)
	// From epoch 2 on, an infinite learning rate turns the weights into NaN.
	o.lrHook = func(step int, lr float64) float64 {
		if step >= 2 {
			return math.Inf(1)
		}
		return lr
	}
	_, err := Run(context.Background(), o)
	if !errors.Is(err, engine.ErrNonFinite) {
		t.Fatalf("want ErrNonFinite, got %v", err)
	}
	if !strings.Contains(err.Error(), "last good checkpoint") {
		t.Errorf("error does not name the kept checkpoint: %v", err)
	}
	last := store.saved[results.LastPath(outDir, ".ckpt")]
	if last == nil || last.Epoch < 1 {
		t.Fatalf("no good checkpoint kept")
	}
	for k, w := range last.Weights {
		for _, v := range w.Data {
			if v != v {
				t.Fatalf("kept checkpoint has NaN in %s", k)
			}
		}
	}
	events := checkStatus(t, outDir, nil)
	if lastEv := events[len(events)-1]; lastEv.Status != results.StatusFailure || !strings.Contains(lastEv.Message, "NaN") {
		t.Errorf("last status event %+v", lastEv)
	}
}

// TestNonFiniteWeightsStopTheRun: an update that blows the weights up on an epoch's last
// iteration leaves the loss finite; the run must still stop before writing that checkpoint.
func TestNonFiniteWeightsStopTheRun(t *testing.T) {
	dataDir, outDir := t.TempDir(), t.TempDir()
	writeImageFolder(t, dataDir, 8, 16, 3)
	store := &memStore{}
	o := baseOptions(t, outDir, dataDir, store)
	steps := o.TrainData.BatchesPerEpoch()
	o.lrHook = func(step int, lr float64) float64 {
		if step == steps-1 {
			return math.Inf(1)
		}
		return lr
	}
	_, err := Run(context.Background(), o)
	if !errors.Is(err, engine.ErrNonFinite) || !strings.Contains(err.Error(), "weight") || !strings.Contains(err.Error(), "no epoch finished") {
		t.Fatalf("want ErrNonFinite naming a weight and no checkpoint, got %v", err)
	}
	if len(store.saved) != 0 {
		t.Errorf("checkpoints with non-finite weights were written: %d", len(store.saved))
	}
}

// TestUnreadableImages: validation images that cannot be read are reported (they are not in
// val_acc), and a class without one readable training image is refused.
func TestUnreadableImages(t *testing.T) {
	dataDir := t.TempDir()
	writeImageFolder(t, dataDir, 8, 16, 3)
	left, _ := filepath.Glob(filepath.Join(dataDir, "left", "*.png"))
	for _, p := range left[:2] {
		os.WriteFile(p, []byte("not a png"), 0o644)
	}
	var warn bytes.Buffer
	o := baseOptions(t, t.TempDir(), dataDir, &memStore{})
	o.Warn, o.Epochs = &warn, 1
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "validation scores 14 of 16 images") || !strings.Contains(warn.String(), left[0]) {
		t.Errorf("warnings do not report the skipped validation images:\n%s", warn.String())
	}

	right, _ := filepath.Glob(filepath.Join(dataDir, "right", "*.png"))
	for _, p := range right {
		os.WriteFile(p, []byte("not a png"), 0o644)
	}
	o = baseOptions(t, t.TempDir(), dataDir, &memStore{})
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), `class "right" has no readable training image`) {
		t.Errorf("a class with no readable image: %v", err)
	}
}

// TestRunMixedPrecision: bf16 asked for on the pure-Go backend trains in float32 with a note;
// forced (BONSAI_PUREGO_BF16=1) it trains in bf16 and still learns the tiny task.
func TestRunMixedPrecision(t *testing.T) {
	dataDir := t.TempDir()
	writeImageFolder(t, dataDir, 12, 16, 1)
	for _, force := range []bool{false, true} {
		if force {
			t.Setenv(engine.EnvPureGoBF16, "1")
		}
		var log bytes.Buffer
		o := baseOptions(t, t.TempDir(), dataDir, &memStore{})
		o.Train.Precision, o.Log = "bf16", &log
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		noted := strings.Contains(log.String(), "this run trains in float32")
		mixed := strings.Contains(log.String(), "Mixed precision: bfloat16")
		if noted == force || mixed != force {
			t.Errorf("forced %v: log says float32 %v, bf16 %v:\n%s", force, noted, mixed, log.String())
		}
		if acc := res.History[len(res.History)-1].ValAcc; acc < 0.9 {
			t.Errorf("forced %v: val_acc %.3f after 3 epochs", force, acc)
		}
	}
	o := baseOptions(t, t.TempDir(), dataDir, &memStore{})
	o.Train.Precision = "fp8"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), `precision "fp8"`) {
		t.Errorf("precision fp8: err %v", err)
	}
}
