package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
)

// bnGraph is input [2,2,1] -> bn -> global_avg_pool -> dense(2).
func bnGraph(frozenBN, frozenDense bool) *model.Graph {
	return &model.Graph{Input: [3]int{1, 2, 2}, Output: "fc", Layers: []*model.Layer{
		inputLayer(),
		{Name: "bn", Op: model.OpBatchNorm, Inputs: []string{"input"}, Momentum: 0.9, Epsilon: 1e-3, FrozenBN: frozenBN, Block: -1},
		{Name: "gap", Op: model.OpGlobalAvgPool, Inputs: []string{"bn"}, Block: -1},
		{Name: "fc", Op: model.OpDense, Inputs: []string{"gap"}, Units: 2, UseBias: true, Frozen: frozenDense, Block: -1},
	}}
}

func TestBatchNormMovingStatisticsAndFreezing(t *testing.T) {
	e := openTest(t)
	x := tensorOf([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2, 1)
	y := tensorOf([]float32{1, 0, 0, 1}, 2, 2)
	// Batch mean 4.5, biased variance 5.25, unbiased 6 (8 values).
	for _, tc := range []struct {
		name               string
		frozenBN, frozenFC bool
		wantMean, wantVar  float64
	}{
		{"train", false, false, 0.1 * 4.5, 0.9 + 0.1*6},
		{"frozen", true, true, 0, 1}, // nothing trainable but BN gamma/beta
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.NewModel(bnGraph(tc.frozenBN, tc.frozenFC), nil, 5)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := m.NewTrainer(TrainConfig{Optimizer: "sgd", Momentum: 0.9})
			if err != nil {
				t.Fatal(err)
			}
			before, _ := m.Weights()
			if _, _, err := tr.Step(x, y, 0.5); err != nil {
				t.Fatal(err)
			}
			after, _ := m.Weights()
			testutil.AssertClose(t, "moving_mean", after["bn/moving_mean"].Data, []float64{tc.wantMean}, 1e-6)
			testutil.AssertClose(t, "moving_variance", after["bn/moving_variance"].Data, []float64{tc.wantVar}, 1e-6)
			fcChanged := !slices.Equal(before["fc/kernel"].Data, after["fc/kernel"].Data)
			if fcChanged == tc.frozenFC {
				t.Fatalf("frozen=%v but kernel changed=%v", tc.frozenFC, fcChanged)
			}
			st, _ := tr.OptimizerState()
			if _, ok := st["fc/kernel/momentum"]; ok == tc.frozenFC {
				t.Fatalf("frozen=%v but optimizer slot present=%v", tc.frozenFC, ok)
			}
		})
	}
}

// cnnGraph is a small CNN: conv-bn-relu-maxpool-conv-bn-relu-gap-dropout-dense on 8x8x1.
func cnnGraph() *model.Graph {
	return &model.Graph{Input: [3]int{1, 8, 8}, Output: "predictions", Layers: []*model.Layer{
		inputLayer(),
		{Name: "conv1", Op: model.OpConv, Inputs: []string{"input"}, Filters: 8, Kernel: [2]int{3, 3}, Padding: model.PadSame, Block: -1},
		{Name: "bn1", Op: model.OpBatchNorm, Inputs: []string{"conv1"}, Momentum: 0.9, Block: -1},
		{Name: "relu1", Op: model.OpActivation, Activation: model.ActReLU, Inputs: []string{"bn1"}, Block: -1},
		{Name: "pool", Op: model.OpMaxPool, Inputs: []string{"relu1"}, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: model.PadValid, Block: -1},
		{Name: "conv2", Op: model.OpConv, Inputs: []string{"pool"}, Filters: 8, Kernel: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: model.PadSame, Block: -1},
		{Name: "bn2", Op: model.OpBatchNorm, Inputs: []string{"conv2"}, Momentum: 0.9, Block: -1},
		{Name: "relu2", Op: model.OpActivation, Activation: model.ActReLU, Inputs: []string{"bn2"}, Block: -1},
		{Name: "gap", Op: model.OpGlobalAvgPool, Inputs: []string{"relu2"}, Block: -1},
		{Name: "drop", Op: model.OpDropout, Inputs: []string{"gap"}, Rate: 0.2, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"drop"}, Units: 2, UseBias: true, Block: -1},
	}}
}

// stripes returns a batch of 8x8 images: class 0 has horizontal stripes, class 1 vertical ones,
// with a per-image phase and noise from the batch index.
func stripes(n, batchIndex int) (*model.Tensor, *model.Tensor) {
	x := model.NewTensor(n, 8, 8, 1)
	y := model.NewTensor(n, 2)
	for i := range n {
		c := (i + batchIndex) % 2
		phase := (i*3 + batchIndex) % 4
		for r := range 8 {
			for col := range 8 {
				v := r
				if c == 1 {
					v = col
				}
				noise := float32(math.Sin(float64(i*64+r*8+col+batchIndex*7))) * 0.2
				x.Data[(i*8+r)*8+col] = float32((v+phase)%2) + noise
			}
		}
		y.Data[i*2+c] = 1
	}
	return x, y
}

func trainCNN(t *testing.T, e *Engine, seed int64, steps int, resumeAt int) (model.Weights, []float32) {
	t.Helper()
	cfg := TrainConfig{Optimizer: "sgd", Momentum: 0.9, Nesterov: true, Seed: seed}
	m, err := e.NewModel(cnnGraph(), nil, seed)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float32
	for s := range steps {
		if s == resumeAt {
			// Save and restore through fresh objects, as a resumed run does.
			w, _ := m.Weights()
			st, _ := tr.OptimizerState()
			if m, err = e.NewModel(cnnGraph(), w, seed+100); err != nil {
				t.Fatal(err)
			}
			if tr, err = m.NewTrainer(cfg); err != nil {
				t.Fatal(err)
			}
			if err := tr.SetOptimizerState(st); err != nil {
				t.Fatal(err)
			}
		}
		x, y := stripes(8, s)
		loss, _, err := tr.Step(x, y, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	return w, losses
}

func TestCNNTrainsDeterministicallyAndResumesExactly(t *testing.T) {
	e := openTest(t)
	const steps = 30
	w1, losses := trainCNN(t, e, 11, steps, -1)
	first := (losses[0] + losses[1] + losses[2]) / 3
	last := (losses[steps-1] + losses[steps-2] + losses[steps-3]) / 3
	if !(last < first*0.7) {
		t.Fatalf("loss did not fall: first steps %v, last steps %v (%v)", first, last, losses)
	}
	w2, _ := trainCNN(t, e, 11, steps, -1)
	w3, _ := trainCNN(t, e, 11, steps, steps/2)
	for k := range w1 {
		if !slices.Equal(w1[k].Data, w2[k].Data) {
			t.Errorf("%s differs between two runs with the same seed", k)
		}
		if !slices.Equal(w1[k].Data, w3[k].Data) {
			t.Errorf("%s differs after a save/restore in the middle of training", k)
		}
	}
}

// TestPredictChunksMatchSingleImages checks the chunking and padding of Predict: 37 images run as
// 32 + 5 (padded to 8) and must give each image the probabilities it gets alone.
func TestPredictChunksMatchSingleImages(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(cnnGraph(), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := stripes(37, 0)
	all, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all.Shape, []int{37, 2}) {
		t.Fatalf("shape %v", all.Shape)
	}
	for _, i := range []int{0, 31, 32, 36} {
		one, err := m.Predict(tensorOf(x.Data[i*64:(i+1)*64], 1, 8, 8, 1))
		if err != nil {
			t.Fatal(err)
		}
		testutil.AssertClose(t, "probabilities", all.Data[i*2:i*2+2], []float64{float64(one.Data[0]), float64(one.Data[1])}, 1e-5)
	}
	m.SetPredictBatch(12) // chunks of 12, 12, 12 and 1
	again, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(all.Data))
	for i, v := range all.Data {
		want[i] = float64(v)
	}
	testutil.AssertClose(t, "batch-12 probabilities", again.Data, want, 1e-5)
	if _, err := m.Predict(tensorOf(make([]float32, 64*3), 1, 8, 8, 3)); err == nil {
		t.Fatal("Predict accepted images with the wrong number of channels")
	}
}

// TestBatchNormGammaPenalty: the BN penalty adds BNWeightDecay*sum|gamma| (L1) or
// BNWeightDecay*sum(gamma^2) (L2) to the loss and to gamma's gradient, and nothing else.
func TestBatchNormGammaPenalty(t *testing.T) {
	e := openTest(t)
	x := tensorOf([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2, 1)
	y := tensorOf([]float32{1, 0, 0, 1}, 2, 2)
	w := model.Weights{"bn/gamma": tensorOf([]float32{1.5}, 1)}
	run := func(cfg TrainConfig) (float32, float32) {
		m, err := e.NewModel(bnGraph(false, true), w, 5)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		loss, _, err := tr.Step(x, y, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := m.Weights()
		return loss, after["bn/gamma"].Data[0]
	}
	loss0, gamma0 := run(TrainConfig{Optimizer: "sgd"})
	for _, c := range []struct {
		kind          string
		penalty, pull float64 // added loss and extra step on gamma at lr 0.1
	}{
		{"L1", 0.2 * 1.5, 0.1 * 0.2},
		{"L2", 0.2 * 1.5 * 1.5, 0.1 * 2 * 0.2 * 1.5},
	} {
		loss, gamma := run(TrainConfig{Optimizer: "sgd", BNRegType: c.kind, BNWeightDecay: 0.2})
		if !testutil.Near(float64(loss-loss0), c.penalty, 1e-5) || !testutil.Near(float64(gamma0-gamma), c.pull, 1e-5) {
			t.Errorf("%s: loss +%v (want +%v), gamma pulled by %v (want %v)", c.kind, loss-loss0, c.penalty, gamma0-gamma, c.pull)
		}
	}
	m, _ := e.NewModel(bnGraph(false, false), nil, 5)
	if _, err := m.NewTrainer(TrainConfig{BNRegType: "none", BNWeightDecay: 0.1}); err == nil {
		t.Error("a BN penalty of type none was accepted")
	}
}
