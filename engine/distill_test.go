package engine

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
)

// refDistill is refDense's loss with distillation: (1-a)*CE + a*T^2*KL(softmax(zt/T) ||
// softmax(z/T)) per example, averaged, with the teacher's logits zt given per example. It
// returns the loss and its gradient (W then b).
func refDistill(p []float64, xs, ys, teacher [][]float64, a, temp float64) (float64, []float64) {
	ce, grad := refDense(p, xs, ys, 0, 0)
	for i := range grad {
		grad[i] *= 1 - a
	}
	loss := (1 - a) * ce
	n := float64(len(xs))
	softmax := func(z []float64) []float64 {
		mx := math.Max(z[0], z[1])
		e0, e1 := math.Exp(z[0]-mx), math.Exp(z[1]-mx)
		return []float64{e0 / (e0 + e1), e1 / (e0 + e1)}
	}
	for e, x := range xs {
		z := []float64{x[0]*p[0] + x[1]*p[2] + p[4], x[0]*p[1] + x[1]*p[3] + p[5]}
		ps := softmax([]float64{z[0] / temp, z[1] / temp})
		pt := softmax([]float64{teacher[e][0] / temp, teacher[e][1] / temp})
		for j := range 2 {
			loss += a * temp * temp * pt[j] * math.Log(pt[j]/ps[j]) / n
			d := a * temp * (ps[j] - pt[j]) / n // d (T^2 KL) / d z_j
			grad[0*2+j] += x[0] * d
			grad[1*2+j] += x[1] * d
			grad[4+j] += d
		}
	}
	return loss, grad
}

func TestDistillationMatchesReference(t *testing.T) {
	e := openTest(t)
	p0 := []float64{0.5, -0.3, 0.2, 0.8, 0.1, -0.1}
	pt := []float64{-0.4, 0.9, 1.2, -0.5, 0.3, 0.0} // the teacher's weights
	xs := [][]float64{{1, 2}, {-1, 0.5}, {0.3, -2}}
	ys := [][]float64{{1, 0}, {0, 1}, {0.3, 0.7}}
	teacherLogits := make([][]float64, len(xs))
	for i, x := range xs {
		teacherLogits[i] = []float64{x[0]*pt[0] + x[1]*pt[2] + pt[4], x[0]*pt[1] + x[1]*pt[3] + pt[5]}
	}
	weights := func(p []float64) model.Weights {
		return model.Weights{"fc/kernel": tensorOf(f32(p[:4]), 2, 2), "fc/bias": tensorOf(f32(p[4:]), 2)}
	}
	for _, c := range []struct{ alpha, temp float64 }{{0.5, 4}, {0.9, 2}, {1, 1}} {
		student, err := e.NewModel(denseGraph(), weights(p0), 0)
		if err != nil {
			t.Fatal(err)
		}
		teacher, err := e.NewModel(denseGraph(), weights(pt), 0)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := student.NewTrainer(TrainConfig{Optimizer: "sgd", Momentum: 0.9, DistillAlpha: c.alpha, DistillTemperature: c.temp})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.SetTeacher(teacher); err != nil {
			t.Fatal(err)
		}
		ref := &refOptimizer{cfg: tr.cfg}
		p := slices.Clone(p0)
		x, y := batch(xs, ys)
		for step := range 3 {
			want, g := refDistill(p, xs, ys, teacherLogits, c.alpha, c.temp)
			ref.step(p, g, 0.1)
			loss, _, err := tr.Step(x, y, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			if !testutil.Near(float64(loss), want, 1e-5) {
				t.Fatalf("alpha %g T %g step %d: loss %v, want %v", c.alpha, c.temp, step, loss, want)
			}
		}
		got, _ := student.Weights()
		testutil.AssertClose(t, "kernel", got["fc/kernel"].Data, p[:4], 1e-5)
		testutil.AssertClose(t, "bias", got["fc/bias"].Data, p[4:], 1e-5)
		tw, _ := teacher.Weights()
		testutil.AssertClose(t, "teacher kernel (never updated)", tw["fc/kernel"].Data, pt[:4], 1e-7)
	}
}

func TestDistillationLossIsZeroForTeacherCopyAtAlphaOne(t *testing.T) {
	e := openTest(t)
	w := model.Weights{"fc/kernel": tensorOf([]float32{0.5, -0.3, 0.2, 0.8}, 2, 2), "fc/bias": tensorOf([]float32{0.1, -0.1}, 2)}
	student, _ := e.NewModel(denseGraph(), w, 0)
	teacher, _ := e.NewModel(denseGraph(), w, 0)
	tr, err := student.NewTrainer(TrainConfig{Optimizer: "sgd", DistillAlpha: 1, DistillTemperature: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetTeacher(teacher); err != nil {
		t.Fatal(err)
	}
	x, y := batch([][]float64{{1, 2}, {-1, 0.5}}, [][]float64{{1, 0}, {1, 0}})
	loss, _, err := tr.Step(x, y, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(loss)) > 1e-6 {
		t.Errorf("student equal to its teacher: loss %v, want 0 (labels are ignored at alpha 1)", loss)
	}
}

func TestSetTeacherRejectsMismatches(t *testing.T) {
	e := openTest(t)
	student, _ := e.NewModel(denseGraph(), nil, 1)
	tr, err := student.NewTrainer(TrainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	threeClasses := denseGraph()
	threeClasses.Layers[2].Units = 3
	other, _ := e.NewModel(threeClasses, nil, 1)
	if err := tr.SetTeacher(other); err == nil || !strings.Contains(err.Error(), "teacher predicts 3 classes, the model 2") {
		t.Errorf("class mismatch: got %v", err)
	}
	wider := denseGraph()
	wider.Input = [3]int{4, 1, 1}
	other, _ = e.NewModel(wider, nil, 1)
	if err := tr.SetTeacher(other); err == nil || !strings.Contains(err.Error(), "teacher input") {
		t.Errorf("input mismatch: got %v", err)
	}
	if _, err := student.NewTrainer(TrainConfig{DistillAlpha: 1.5}); err == nil {
		t.Error("alpha 1.5 accepted")
	}
}

func TestLogitsAreThePredictionsBeforeSoftmax(t *testing.T) {
	e := openTest(t)
	m, err := e.NewModel(denseGraph(), nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := tensorOf([]float32{1, 2, -1, 0.5, 0.3, -2}, 3, 1, 1, 2)
	logits, err := m.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		z := logits.Data[2*i : 2*i+2]
		p0 := 1 / (1 + math.Exp(float64(z[1]-z[0])))
		if !testutil.Near(float64(probs.Data[2*i]), p0, 1e-6) || z[0] == z[1] {
			t.Errorf("row %d: logits %v, probabilities %v", i, z, probs.Data[2*i:2*i+2])
		}
	}
}
