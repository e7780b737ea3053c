package train

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleTAOFormulas(t *testing.T) {
	step := &Schedule{Kind: ScheduleStep, LearningRate: 0.1, StepSize: 10, Gamma: 0.1}
	soft := &Schedule{Kind: ScheduleSoftAnneal, LearningRate: 0.05, StartLR: SoftAnnealStartLR,
		SoftStart: 0.1, AnnealingPoints: []float64{0.3, 0.6, 0.8}, AnnealingDivider: 10}
	cosine := &Schedule{Kind: ScheduleCosine, LearningRate: 0.1, MinLRRatio: 0.01, SoftStart: 0.2}
	cosineNoRamp := &Schedule{Kind: ScheduleCosine, LearningRate: 0.1, MinLRRatio: 0.01}
	cases := []struct {
		name      string
		s         *Schedule
		step, max int
		want      float64
	}{
		{"step start", step, 0, 1000, 0.1},
		{"step half way to first decay (continuous, not floored)", step, 50, 1000, 0.1 * math.Sqrt(0.1)},
		{"step first decay", step, 100, 1000, 0.01},
		{"step end", step, 1000, 1000, 1e-11},
		{"step numsteps floored (999*10//100 = 99)", step, 99, 999, 0.01},
		{"soft_anneal ramp start", soft, 0, 1000, 3e-4},
		{"soft_anneal mid ramp", soft, 50, 1000, 0.5*0.05 + 0.5*3e-4},
		{"soft_anneal ramp end", soft, 100, 1000, 0.05},
		{"soft_anneal at point (not passed)", soft, 300, 1000, 0.05},
		{"soft_anneal past first point", soft, 301, 1000, 0.005},
		{"soft_anneal past two", soft, 700, 1000, 0.0005},
		{"soft_anneal end", soft, 1000, 1000, 0.00005},
		{"cosine ramp start = min_lr", cosine, 0, 1000, 0.001},
		{"cosine mid ramp", cosine, 100, 1000, 0.0505},
		{"cosine peak", cosine, 200, 1000, 0.1},
		{"cosine phase 0.5 (not rescaled)", cosine, 700, 1000, 0.0505},
		{"cosine end stays above min_lr (TAO)", cosine, 1000, 1000, 0.001 + 0.099*(1+math.Cos(0.8*math.Pi))/2},
		{"cosine no soft start begins at base", cosineNoRamp, 0, 1000, 0.1},
		{"cosine no soft start ends at min", cosineNoRamp, 1000, 1000, 0.001},
	}
	for _, c := range cases {
		got := c.s.LR(c.step, c.max)
		if math.Abs(got-c.want) > 1e-12+1e-9*math.Abs(c.want) {
			t.Errorf("%s: LR(%d, %d) = %.12g, want %.12g", c.name, c.step, c.max, got, c.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []*Schedule{
		{Kind: "linear", LearningRate: 0.1},
		{Kind: ScheduleStep, LearningRate: 0.1, StepSize: 120, Gamma: 0.1},
		{Kind: ScheduleStep, LearningRate: 0.1, StepSize: 10, Gamma: 2},
		{Kind: ScheduleSoftAnneal, LearningRate: 0.1, SoftStart: 0.3, AnnealingPoints: []float64{0.2}, AnnealingDivider: 10},
		{Kind: ScheduleSoftAnneal, LearningRate: 0.1, SoftStart: 0.1, AnnealingPoints: []float64{0.5, 0.4}, AnnealingDivider: 10},
		{Kind: ScheduleCosine, LearningRate: 0.1, SoftStart: 1.5},
	}
	for i, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("case %d (%+v): no error", i, s)
		}
	}
	good := &Schedule{Kind: ScheduleSoftAnneal, LearningRate: 0.1, SoftStart: 0.05, AnnealingPoints: []float64{0.3, 0.6}, AnnealingDivider: 10}
	if err := good.Validate(); err != nil {
		t.Errorf("valid soft_anneal rejected: %v", err)
	}
}

// TestEarlyDecayWarning: TAO's sample step schedule (0.006, step_size 10, gamma 0.1) over
// 3 epochs of 6 iterations: numsteps = 18*10//100 = 1, so lr(3) = 0.006*0.1^3 = 6e-06 < 1e-5
// at iteration 3 <= 18/4. Over 3 epochs of 100: numsteps 30, lr stays >= 1e-5 until iteration
// 84 (0.006*0.1^(84/30) = 9.5e-06) > 75: no warning.
func TestEarlyDecayWarning(t *testing.T) {
	step := Schedule{Kind: ScheduleStep, LearningRate: 0.006, StepSize: 10, Gamma: 0.1}
	w := step.EarlyDecayWarning(18, 6)
	if !strings.Contains(w, "falls to 6e-06 at iteration 3 of 18 (epoch 1), within the first quarter") || !strings.Contains(w, "step_size") {
		t.Errorf("warning %q", w)
	}
	if w := step.EarlyDecayWarning(300, 100); w != "" {
		t.Errorf("3x100 iterations: unexpected warning %q", w)
	}
	anneal := Schedule{Kind: ScheduleSoftAnneal, LearningRate: 0.01, StartLR: 3e-4, SoftStart: 0.05, AnnealingPoints: []float64{0.1, 0.2}, AnnealingDivider: 100}
	// progress > 0.2 divides twice: 0.01/100/100 = 1e-06, first at iteration 21 of 100.
	if w := anneal.EarlyDecayWarning(100, 10); !strings.Contains(w, "falls to 1e-06 at iteration 21 of 100 (epoch 3)") {
		t.Errorf("soft_anneal warning %q", w)
	}
	cosine := Schedule{Kind: ScheduleCosine, LearningRate: 0.01, MinLRRatio: 1e-4}
	if w := cosine.EarlyDecayWarning(100, 10); w != "" {
		t.Errorf("cosine: unexpected warning %q", w)
	}
	tiny := Schedule{Kind: ScheduleCosine, LearningRate: 1e-6}
	if w := tiny.EarlyDecayWarning(100, 10); w != "" {
		t.Errorf("a run that starts below 1e-5 is the user's choice: %q", w)
	}
}
