package engine

import (
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// withoutDropout is smallCNN without its dropout layer (whose mask depends on the batch).
func withoutDropout(frozenBN bool) *model.Graph {
	g := smallCNN()
	var layers []*model.Layer
	for _, l := range g.Layers {
		switch {
		case l.Op == model.OpDropout:
			continue
		case l.Name == "gap":
			l.Inputs = []string{"relu2"}
		case l.Op == model.OpBatchNorm:
			l.FrozenBN = frozenBN
		}
		layers = append(layers, l)
	}
	g.Layers = layers
	return g
}

// gradients computes, with the engine, the gradients of the training loss of a batch with
// respect to the trainable parameters, as a training step does before updating.
func gradients(t *testing.T, tr *Trainer, x, y *model.Tensor) [][]float32 {
	t.Helper()
	exec, err := NewExec(tr.m.eng.Backend, func(in []*Node) []*Node {
		params := in[3:]
		b := tr.trainingBuilder(params, in[2], nil)
		_, _, grads := tr.lossAndGradients(b, in[0], in[1], nil, params)
		return grads
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []any{tensors.FromFlatDataAndDimensions(x.Data, x.Shape...), tensors.FromFlatDataAndDimensions(y.Data, y.Shape...), tr.rngState(0)}
	outs, err := exec.Exec(append(args, tensorArgs(tr.m.values)...)...)
	if err != nil {
		t.Fatal(err)
	}
	var res [][]float32
	for _, o := range outs {
		v, err := fromTensor(o)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, v.Data)
	}
	return res
}

// rows returns rows [start, start+n) of t.
func rows(t *model.Tensor, start, n int) *model.Tensor {
	row := t.Size() / t.Shape[0]
	return &model.Tensor{Shape: append([]int{n}, t.Shape[1:]...), Data: t.Data[start*row : (start+n)*row]}
}

// TestShardGradientsAverageToFullBatch is the identity data-parallel training rests on: the
// mean of N equal shards' gradients (each shard's mean loss, regularisation included) is the
// gradient of the whole batch's mean loss. Every layer here is per-example (batch norm uses its
// moving statistics), as it is across replicas with SyncBN.
func TestShardGradientsAverageToFullBatch(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(withoutDropout(true), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(TrainConfig{Optimizer: "sgd", RegType: "L2", RegScope: []string{"Conv2D", "Dense"}, WeightDecay: 0.01, LabelSmoothing: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	x, y := randomBatch(8, 8, 8, 3, 3, 11)
	full := gradients(t, tr, x, y)
	for _, shards := range []int{2, 4} {
		avg := make([][]float64, len(full))
		for s := range shards {
			n := 8 / shards
			for i, g := range gradients(t, tr, rows(x, s*n, n), rows(y, s*n, n)) {
				if avg[i] == nil {
					avg[i] = make([]float64, len(g))
				}
				for j, v := range g {
					avg[i][j] += float64(v) / float64(shards)
				}
			}
		}
		for i, g := range full {
			testutil.AssertClose(t, tr.m.keys[tr.trainable[i]]+" gradient", g, avg[i], 1e-4)
		}
	}
}

// TestSPMDOneReplicaMatchesPlain runs the data-parallel (SPMD) training step with one replica,
// the most the CPU has, with and without synchronised batch norm: the losses and weights after
// three steps (dropout included) equal the plain step's.
func TestSPMDOneReplicaMatchesPlain(t *testing.T) {
	e := openTest(t)
	x, y := randomBatch(4, 8, 8, 3, 3, 2)
	run := func(cfg TrainConfig) ([]float32, model.Weights) {
		m, err := e.NewModel(smallCNN(), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float32
		for range 3 {
			loss, _, err := tr.Step(x, y, 0.05)
			if err != nil {
				t.Fatalf("%+v: %v", cfg, err)
			}
			losses = append(losses, loss)
		}
		w, err := m.Weights()
		if err != nil {
			t.Fatal(err)
		}
		return losses, w
	}
	// SGD: Adam would turn the noise-level gradient of conv1's bias (cancelled by batch norm) into
	// full-size steps, and SyncBN composes batch norm where the plain step uses the fused op.
	base := TrainConfig{Optimizer: "sgd", Momentum: 0.9, Seed: 9}
	wantLoss, wantW := run(base)
	for _, sync := range []bool{false, true} {
		cfg := base
		cfg.Devices, cfg.SyncBN = []int{0}, sync
		loss, w := run(cfg)
		testutil.AssertClose(t, "losses", loss, float64s(wantLoss), 1e-5)
		for k, v := range wantW {
			testutil.AssertClose(t, k, w[k].Data, float64s(v.Data), 1e-5)
		}
	}
}

// TestSPMDAllReduces counts the cross-replica reductions of the data-parallel step: one for the
// gradients, the loss, the hits and (without SyncBN) the moving statistics; with SyncBN, two per
// batch-norm layer in the forward pass and two in the backward pass instead of the last.
func TestSPMDAllReduces(t *testing.T) {
	e := openTest(t)
	for _, c := range []struct {
		sync bool
		want int
	}{{false, 4}, {true, 3 + 2*2 + 2*2}} {
		m, err := e.NewModel(smallCNN(), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := m.NewTrainer(TrainConfig{Devices: []int{0}, SyncBN: c.sync})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := stepGraphNodes(t, e.Backend, tr, 4)
		n := 0
		for _, node := range g.Nodes() {
			if node.Type() == NodeTypeAllReduce {
				n++
			}
		}
		if n != c.want {
			t.Errorf("SyncBN %v: %d AllReduce nodes, want %d", c.sync, n, c.want)
		}
	}
}

func TestParallelDeviceErrors(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(smallCNN(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		devices []int
		want    string
	}{
		{[]int{1}, "device 1: the purego backend has 1 device(s)"},
		{[]int{0, 0}, "device 0 is listed twice"},
	} {
		if _, err := m.NewTrainer(TrainConfig{Devices: c.devices}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("devices %v: err %v, want %q", c.devices, err, c.want)
		}
	}
	tr, err := m.NewTrainer(TrainConfig{Devices: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	x, y := randomBatch(3, 8, 8, 3, 3, 1)
	if _, err := tr.Stage(x, y); err != nil {
		t.Errorf("3 images on one device: %v", err)
	}
	tr.par.devices = append(tr.par.devices, 0) // as if there were two devices
	if _, err := tr.Stage(x, y); err == nil || !strings.Contains(err.Error(), "does not split evenly over 2 devices") {
		t.Errorf("3 images on 2 devices: err %v", err)
	}
}

// TestReplicaCopies: before a step every other replica gets its own copy of the parameters and
// slots (on its device; here all are device 0), which SetWeights invalidates.
func TestReplicaCopies(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(smallCNN(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(TrainConfig{Optimizer: "adam", Devices: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	tr.par.devices = append(tr.par.devices, 0) // a second replica, on the one CPU device
	tr.par.params, tr.par.slots = make([][]*tensors.Tensor, 1), make([][]*tensors.Tensor, 1)
	if err := tr.copyReplicas(); err != nil {
		t.Fatal(err)
	}
	params, slots := tr.replicaState(1)
	if len(params) != len(m.values) || len(slots) != len(tr.slots) || params[0] == m.values[0] {
		t.Fatalf("replica 1 has %d params, %d slots (shared with replica 0: %v)", len(params), len(slots), params[0] == m.values[0])
	}
	for i, p := range params {
		a, _ := fromTensor(p)
		b, _ := fromTensor(m.values[i])
		testutil.AssertClose(t, m.keys[i], a.Data, float64s(b.Data), 0)
	}
	w, _ := m.Weights()
	if err := m.SetWeights(w); err != nil {
		t.Fatal(err)
	}
	if tr.gen == m.gen {
		t.Error("SetWeights did not change the weights generation the replicas follow")
	}
	tr.dropReplicas()
	if p, _ := tr.replicaState(1); p != nil {
		t.Error("dropReplicas kept replica 1's copy")
	}
}
