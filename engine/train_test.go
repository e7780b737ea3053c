package engine

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
)

// denseGraph is input [1,1,2] -> flatten -> dense(2, bias).
func denseGraph() *model.Graph {
	return &model.Graph{Input: [3]int{2, 1, 1}, Output: "fc", Layers: []*model.Layer{
		inputLayer(),
		{Name: "flat", Op: model.OpFlatten, Inputs: []string{"input"}, Block: -1},
		{Name: "fc", Op: model.OpDense, Inputs: []string{"flat"}, Units: 2, UseBias: true, Block: -1},
	}}
}

// refDense is a float64 reference: W [2x2] row-major (in x out), b [2], params flattened as
// W then b. It returns the mean cross-entropy (with smoothing and L2 on W) and its gradient.
func refDense(p []float64, xs, ys [][]float64, smoothing, l2 float64) (float64, []float64) {
	grad := make([]float64, 6)
	loss := 0.0
	n := float64(len(xs))
	for e, x := range xs {
		z := []float64{x[0]*p[0] + x[1]*p[2] + p[4], x[0]*p[1] + x[1]*p[3] + p[5]}
		mx := math.Max(z[0], z[1])
		s := math.Exp(z[0]-mx) + math.Exp(z[1]-mx)
		for j := range 2 {
			y := ys[e][j]*(1-smoothing) + smoothing/2
			pj := math.Exp(z[j]-mx) / s
			loss -= y * math.Log(pj) / n
			d := (pj - y) / n // d loss / d z_j (labels sum to 1)
			grad[0*2+j] += x[0] * d
			grad[1*2+j] += x[1] * d
			grad[4+j] += d
		}
	}
	for i := range 4 {
		loss += l2 * p[i] * p[i]
		grad[i] += 2 * l2 * p[i]
	}
	return loss, grad
}

// refOptimizer replays Keras' update rules in float64.
type refOptimizer struct {
	cfg  TrainConfig
	s, v []float64
	iter float64
}

func (o *refOptimizer) step(p, g []float64, lr float64) {
	if o.s == nil {
		o.s, o.v = make([]float64, len(p)), make([]float64, len(p))
	}
	c := o.cfg
	lr /= 1 + c.Decay*o.iter
	o.iter++
	for i := range p {
		switch c.Optimizer {
		case "sgd":
			o.s[i] = c.Momentum*o.s[i] - lr*g[i]
			if c.Nesterov {
				p[i] += c.Momentum*o.s[i] - lr*g[i]
			} else {
				p[i] += o.s[i]
			}
		case "adam":
			lrT := lr * math.Sqrt(1-math.Pow(c.Beta2, o.iter)) / (1 - math.Pow(c.Beta1, o.iter))
			o.s[i] = c.Beta1*o.s[i] + (1-c.Beta1)*g[i]
			o.v[i] = c.Beta2*o.v[i] + (1-c.Beta2)*g[i]*g[i]
			p[i] -= lrT * o.s[i] / (math.Sqrt(o.v[i]) + c.Epsilon)
		case "rmsprop":
			o.s[i] = c.Rho*o.s[i] + (1-c.Rho)*g[i]*g[i]
			p[i] -= lr * g[i] / (math.Sqrt(o.s[i]) + c.Epsilon)
		}
	}
}

func TestOptimizersMatchKeras(t *testing.T) {
	e := openTest(t)
	p0 := []float64{0.5, -0.3, 0.2, 0.8, 0.1, -0.1}
	xs := [][]float64{{1, 2}, {-1, 0.5}, {0.3, -2}}
	ys := [][]float64{{1, 0}, {0, 1}, {0.3, 0.7}} // the last one is a mixed (soft) label
	cases := []struct {
		name string
		cfg  TrainConfig
	}{
		{"sgd", TrainConfig{Optimizer: "sgd"}},
		{"sgd-momentum", TrainConfig{Optimizer: "sgd", Momentum: 0.9}},
		{"sgd-nesterov-decay", TrainConfig{Optimizer: "sgd", Momentum: 0.9, Nesterov: true, Decay: 0.5}},
		{"adam", TrainConfig{Optimizer: "adam", Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}},
		{"rmsprop-l2-smoothing", TrainConfig{Optimizer: "rmsprop", Rho: 0.9, Epsilon: 1e-7, RegType: "L2",
			RegScope: []string{"Dense"}, WeightDecay: 0.01, LabelSmoothing: 0.1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := model.Weights{"fc/kernel": tensorOf(f32(p0[:4]), 2, 2), "fc/bias": tensorOf(f32(p0[4:]), 2)}
			m, err := e.NewModel(denseGraph(), w, 0)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := m.NewTrainer(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ref := &refOptimizer{cfg: tr.cfg}
			p := slices.Clone(p0)
			l2 := 0.0
			if tc.cfg.RegType == "L2" {
				l2 = tc.cfg.WeightDecay
			}
			x, y := batch(xs, ys)
			for step := range 3 {
				wantLoss, g := refDense(p, xs, ys, tc.cfg.LabelSmoothing, l2)
				ref.step(p, g, 0.1)
				loss, _, err := tr.Step(x, y, 0.1)
				if err != nil {
					t.Fatal(err)
				}
				if !testutil.Near(float64(loss), wantLoss, 1e-5) {
					t.Fatalf("step %d: loss %v, want %v", step, loss, wantLoss)
				}
			}
			got, _ := m.Weights()
			testutil.AssertClose(t, "kernel", got["fc/kernel"].Data, p[:4], 1e-5)
			testutil.AssertClose(t, "bias", got["fc/bias"].Data, p[4:], 1e-5)
		})
	}
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func batch(xs, ys [][]float64) (*model.Tensor, *model.Tensor) {
	x := model.NewTensor(len(xs), 1, 1, 2)
	y := model.NewTensor(len(ys), 2)
	for i := range xs {
		copy(x.Data[i*2:], f32(xs[i]))
		copy(y.Data[i*2:], f32(ys[i]))
	}
	return x, y
}

func TestAccuracyAndEvaluate(t *testing.T) {
	e := openTest(t)
	// Identity kernel: logits = x, so the argmax is the larger input.
	w := model.Weights{"fc/kernel": tensorOf([]float32{1, 0, 0, 1}, 2, 2), "fc/bias": tensorOf([]float32{0, 0}, 2)}
	m, err := e.NewModel(denseGraph(), w, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(TrainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	x, y := batch([][]float64{{2, 0}, {0, 1}, {3, 1}, {0, 0.5}}, [][]float64{{1, 0}, {0, 1}, {0, 1}, {1, 0}})
	loss, probs, err := tr.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := refDense([]float64{1, 0, 0, 1, 0, 0}, [][]float64{{2, 0}, {0, 1}, {3, 1}, {0, 0.5}},
		[][]float64{{1, 0}, {0, 1}, {0, 1}, {1, 0}}, 0, 0)
	if !testutil.Near(float64(loss), want, 1e-5) {
		t.Fatalf("evaluate loss %v, want %v", loss, want)
	}
	p, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Data, probs.Data) || !testutil.Near(float64(p.Data[0]), 1/(1+math.Exp(-2)), 1e-6) {
		t.Fatalf("predict %v, evaluate probs %v", p.Data, probs.Data)
	}
	_, acc, err := tr.Step(x, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	if acc != 0.5 {
		t.Fatalf("accuracy %v, want 0.5", acc)
	}
}

func TestNonFiniteLossLeavesStateUnchanged(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(denseGraph(), nil, 7)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(TrainConfig{Optimizer: "sgd", Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	x, y := batch([][]float64{{1, 2}}, [][]float64{{1, 0}})
	if _, _, err := tr.Step(x, y, 0.1); err != nil {
		t.Fatal(err)
	}
	before, _ := m.Weights()
	stBefore, _ := tr.OptimizerState()
	x.Data[0] = float32(math.NaN())
	_, _, err = tr.Step(x, y, 0.1)
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("got %v, want ErrNonFinite", err)
	}
	after, _ := m.Weights()
	stAfter, _ := tr.OptimizerState()
	for k := range before {
		if !slices.Equal(before[k].Data, after[k].Data) {
			t.Errorf("%s changed after a NaN step", k)
		}
	}
	for k := range stBefore {
		if !slices.Equal(stBefore[k].Data, stAfter[k].Data) {
			t.Errorf("optimizer state %s changed after a NaN step", k)
		}
	}
}

func TestWrongWeightShapeNamesParameter(t *testing.T) {
	e := openTest(t)
	_, err := e.NewModel(denseGraph(), model.Weights{"fc/kernel": tensorOf(make([]float32, 6), 3, 2)}, 0)
	if err == nil || !strings.Contains(err.Error(), "fc/kernel") {
		t.Fatalf("got %v, want an error naming fc/kernel", err)
	}
	_, err = e.NewModel(denseGraph(), model.Weights{"nope/kernel": tensorOf(make([]float32, 4), 2, 2)}, 0)
	if err == nil || !strings.Contains(err.Error(), "nope/kernel") {
		t.Fatalf("got %v, want an error naming nope/kernel", err)
	}
}
