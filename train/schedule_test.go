package train

import (
	"math"
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
