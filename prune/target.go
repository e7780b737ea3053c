package prune

import (
	"fmt"
	"slices"

	"github.com/bonsai-ml/bonsai/model"
)

// Target metrics for PruneToTarget.
const (
	TargetParams = "params"
	TargetFLOPs  = "flops"
)

// Search says how the threshold search went.
type Search struct {
	Target    float64 // wanted kept/original ratio
	Metric    string  // params or flops
	Threshold float64 // the threshold chosen
	Achieved  float64 // kept/original at that threshold
	// Reached is false when even the largest threshold leaves more than Target (min filters,
	// granularity and excluded layers set a floor); the result is then the smallest model.
	Reached bool
	// Next is the ratio at the next smaller threshold that changes the model (the closest
	// ratio above Target); 1 when the chosen threshold keeps everything.
	Next  float64
	Steps int // thresholds (or plans) evaluated
	// Allocation is how the cut was shared out (AllocThreshold: the threshold search).
	Allocation string
	// Fraction is the kept fraction of every unit's channels (AllocUniform).
	Fraction float64
	// Evaluations counts the accuracy measurements of AllocSensitivity.
	Evaluations int
}

func (s Search) String() string {
	switch s.Allocation {
	case AllocUniform:
		return fmt.Sprintf("target %s ratio <= %.4g: uniform allocation keeps %.4g of every unit's channels (before rounding to the granularity), %.4g of the %s; %d sizes tried%s",
			s.Metric, s.Target, s.Fraction, s.Achieved, s.Metric, s.Steps, s.unreached())
	case AllocSensitivity:
		return fmt.Sprintf("target %s ratio <= %.4g: sensitivity allocation (%d accuracy measurements) keeps %.4g of the %s%s",
			s.Metric, s.Target, s.Evaluations, s.Achieved, s.Metric, s.unreached())
	}
	if !s.Reached {
		return fmt.Sprintf("target %s ratio %.4g cannot be reached: the smallest model keeps %.4g (threshold %.6g); min filters, granularity and excluded layers set that floor",
			s.Metric, s.Target, s.Achieved, s.Threshold)
	}
	return fmt.Sprintf("target %s ratio <= %.4g: threshold %.6g keeps %.4g (the next lower threshold keeps %.4g); %d thresholds tried",
		s.Metric, s.Target, s.Threshold, s.Achieved, s.Next, s.Steps)
}

func (s Search) unreached() string {
	if s.Reached {
		return ""
	}
	return "; the target cannot be reached: min filters, granularity and excluded layers set that floor"
}

// PruneToTarget finds the smallest threshold whose pruned model keeps at most target of the
// original's parameters (metric "params") or FLOPs ("flops"), and prunes there. The ratio only
// changes where the threshold crosses a channel's (merged) statistic, so the search bisects
// over those values exactly: the result is the least pruning that meets the target.
func PruneToTarget(g *model.Graph, w model.Weights, opts Options, target float64, metric string) (*Result, Search, error) {
	s := Search{Target: target, Metric: metric, Allocation: AllocThreshold}
	if metric != TargetParams && metric != TargetFLOPs {
		return nil, s, fmt.Errorf("target metric %q: want params or flops", metric)
	}
	if !(target > 0 && target <= 1) {
		return nil, s, fmt.Errorf("target ratio %g must be in (0, 1]", target)
	}
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, s, err
	}
	before, err := SizeOf(g)
	if err != nil {
		return nil, s, err
	}
	cands, err := a.candidates()
	if err != nil {
		return nil, s, err
	}
	ratio := func(i int) (float64, error) {
		o := a.opts
		o.Threshold = cands[i]
		size, err := a.sizeAt(o)
		s.Steps++
		if err != nil {
			return 0, err
		}
		if metric == TargetFLOPs {
			return float64(size.FLOPs) / float64(before.FLOPs), nil
		}
		return float64(size.Params) / float64(before.Params), nil
	}
	// Find the first candidate (thresholds ascending, ratios non-increasing) with ratio <= target.
	lo, hi := 0, len(cands)-1
	last, err := ratio(hi)
	if err != nil {
		return nil, s, err
	}
	s.Reached = last <= target
	if s.Reached {
		for lo < hi {
			mid := (lo + hi) / 2
			r, err := ratio(mid)
			if err != nil {
				return nil, s, err
			}
			if r <= target {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
	}
	s.Threshold = cands[hi]
	if s.Achieved, err = ratio(hi); err != nil {
		return nil, s, err
	}
	s.Next = 1
	if hi > 0 {
		if s.Next, err = ratio(hi - 1); err != nil {
			return nil, s, err
		}
	}
	o := a.opts
	o.Threshold = s.Threshold
	res, err := a.prune(o)
	return res, s, err
}

// candidates lists the thresholds at which the decision can change: 0 and every distinct
// merged statistic of the groups that may prune, ascending. At a statistic's value that
// channel is no longer above the threshold.
func (a *analysis) candidates() ([]float64, error) {
	members, _ := a.groups()
	vals := []float64{0}
	for _, names := range members {
		merged, pinned, err := a.groupStat(names, a.opts.Equalization)
		if err != nil {
			return nil, err
		}
		if pinned == "" {
			vals = append(vals, merged...)
		}
	}
	slices.Sort(vals)
	return slices.Compact(vals), nil
}
