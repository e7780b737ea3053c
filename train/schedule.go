package train

import (
	"fmt"
	"math"
)

// Schedule kinds, as TAO's lr_config oneof names them.
const (
	ScheduleStep       = "step"
	ScheduleSoftAnneal = "soft_anneal"
	ScheduleCosine     = "cosine"
)

// SoftAnnealStartLR is TAO's hard-coded learning rate at the start of soft_anneal's ramp.
const SoftAnnealStartLR = 3e-4

// Schedule is one of TAO's per-iteration learning-rate schedules. The learning rate of
// iteration step (0-based, counted over the whole run) is LR(step, maxSteps), where
// maxSteps = iterations per epoch × n_epochs, exactly as TAO's Keras callbacks compute it.
//
// The formulas are TAO's own (nvidia_tao_tf1/cv/common/utils.py), kept for compatibility with
// TAO specs, including two behaviours that surprise users:
//   - "step" decays continuously: lr = base·gamma^(step/numsteps), the exponent not floored,
//     so gamma is reached after step_size percent of training and applied smoothly;
//   - "cosine" runs its cosine over progress−soft_start without rescaling by 1−soft_start,
//     so with soft_start > 0 it ends above min_lr.
type Schedule struct {
	Kind         string  // ScheduleStep, ScheduleSoftAnneal or ScheduleCosine
	LearningRate float64 // base learning rate, already multiplied by the number of devices

	// step
	StepSize float64 // percent of max iterations per decay by gamma, in [0, 100]
	Gamma    float64 // in [0, 1]

	// soft_anneal and cosine
	SoftStart float64 // fraction of training spent ramping up, in [0, 1]

	// soft_anneal
	StartLR          float64   // ramp start; TAO uses SoftAnnealStartLR
	AnnealingPoints  []float64 // increasing fractions of training, each > SoftStart
	AnnealingDivider float64   // lr is divided by this at each point passed

	// cosine
	MinLRRatio float64 // min_lr = LearningRate × MinLRRatio
}

// Validate checks the parameters with TAO's rules.
func (s *Schedule) Validate() error {
	if s.LearningRate < 0 || math.IsNaN(s.LearningRate) {
		return fmt.Errorf("lr_config: learning_rate must be >= 0, got %g", s.LearningRate)
	}
	switch s.Kind {
	case ScheduleStep:
		if s.StepSize < 0 || s.StepSize > 100 {
			return fmt.Errorf("lr_config.step: step_size is a percentage of training and must be in [0, 100], got %g", s.StepSize)
		}
		if s.Gamma < 0 || s.Gamma > 1 {
			return fmt.Errorf("lr_config.step: gamma must be in [0, 1], got %g", s.Gamma)
		}
	case ScheduleSoftAnneal:
		if s.SoftStart < 0 || s.SoftStart > 1 {
			return fmt.Errorf("lr_config.soft_anneal: soft_start must be in [0, 1], got %g", s.SoftStart)
		}
		prev := 0.0
		for _, p := range s.AnnealingPoints {
			switch {
			case p < 0 || p > 1:
				return fmt.Errorf("lr_config.soft_anneal: annealing_points must be in [0, 1], got %g", p)
			case p < prev:
				return fmt.Errorf("lr_config.soft_anneal: annealing_points must be increasing (%g after %g)", p, prev)
			case p <= s.SoftStart:
				return fmt.Errorf("lr_config.soft_anneal: annealing point %g must be greater than soft_start %g", p, s.SoftStart)
			}
			prev = p
		}
	case ScheduleCosine:
		if s.SoftStart < 0 || s.SoftStart > 1 {
			return fmt.Errorf("lr_config.cosine: soft_start must be in [0, 1], got %g", s.SoftStart)
		}
		if s.MinLRRatio < 0 {
			return fmt.Errorf("lr_config.cosine: min_lr_ratio must be >= 0, got %g", s.MinLRRatio)
		}
	default:
		return fmt.Errorf("lr_config: unknown schedule %q (use step, soft_anneal or cosine)", s.Kind)
	}
	return nil
}

// LR returns the learning rate for iteration step of a run of maxSteps iterations.
func (s *Schedule) LR(step, maxSteps int) float64 {
	if maxSteps <= 0 {
		maxSteps = 1
	}
	progress := math.Min(math.Max(float64(step)/float64(maxSteps), 0), 1)
	if s.LearningRate == 0 {
		return 0
	}
	switch s.Kind {
	case ScheduleStep:
		return s.stepLR(step, maxSteps)
	case ScheduleSoftAnneal:
		return s.softAnnealLR(progress)
	case ScheduleCosine:
		return s.cosineLR(progress)
	}
	return s.LearningRate
}

// stepLR: numsteps = max_iterations·step_size // 100; lr = base·gamma^(step/numsteps).
func (s *Schedule) stepLR(step, maxSteps int) float64 {
	numSteps := math.Floor(float64(maxSteps) * s.StepSize / 100)
	if numSteps < 1 {
		numSteps = 1 // TAO divides by zero here
	}
	return s.LearningRate * math.Pow(s.Gamma, float64(step)/numSteps)
}

// softAnnealLR: linear ramp from StartLR to base over soft_start, then base divided by the
// divider once per annealing point strictly passed.
func (s *Schedule) softAnnealLR(progress float64) float64 {
	if progress < s.SoftStart {
		t := progress / s.SoftStart
		return t*s.LearningRate + (1-t)*s.StartLR
	}
	lr := s.LearningRate
	for _, p := range s.AnnealingPoints {
		if progress > p {
			lr /= s.AnnealingDivider
		}
	}
	return lr
}

// cosineLR: linear ramp from min_lr to base over soft_start, then
// min + (base−min)·(1+cos(π·(progress−soft_start)))/2.
func (s *Schedule) cosineLR(progress float64) float64 {
	minLR := s.LearningRate * s.MinLRRatio
	ramp := 1.0
	if s.SoftStart > 0 {
		ramp = progress / s.SoftStart
	}
	if ramp < 1 {
		return (s.LearningRate-minLR)*ramp + minLR
	}
	return minLR + (s.LearningRate-minLR)*(1+math.Cos(math.Pi*(progress-s.SoftStart)))/2
}

// LowLR is the learning rate below which an SGD run barely changes its weights.
const LowLR = 1e-5

// EarlyDecayWarning returns a one-line warning when the schedule takes the learning rate below
// LowLR within the first quarter of a run of maxSteps iterations (stepsPerEpoch per epoch), or
// "" when it does not (or starts there). TAO's sample "step" schedule (step_size 10, gamma 0.1)
// does this on short runs: its exponent counts in units of step_size% of the run, rounded down,
// so later epochs learn almost nothing.
func (s *Schedule) EarlyDecayWarning(maxSteps, stepsPerEpoch int) string {
	if maxSteps <= 0 || s.LR(0, maxSteps) < LowLR {
		return ""
	}
	quarter := maxSteps / 4
	stride := max(1, quarter/10000) // a long run: look at about 10,000 iterations
	for step := 0; step <= quarter; step += stride {
		lr := s.LR(step, maxSteps)
		if lr >= LowLR {
			continue
		}
		hint := "shorten the decay or train longer"
		if s.Kind == ScheduleStep {
			hint = "TAO's step schedule multiplies by gamma every step_size% of the run; raise step_size or gamma, or train longer"
		}
		return fmt.Sprintf("the learning rate falls to %.3g at iteration %d of %d (epoch %d), within the first quarter of training, "+
			"so later epochs will barely learn: %s", lr, step, maxSteps, step/max(stepsPerEpoch, 1)+1, hint)
	}
	return ""
}
