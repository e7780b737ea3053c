package prune

import (
	"fmt"
	"math"
	"slices"

	"github.com/bonsai-ml/bonsai/model"
)

// Allocations: how a target size is shared out among the layers.
const (
	// AllocThreshold is TAO's way: one threshold on every layer's max-normalised statistic (the
	// search of PruneToTarget). Where a layer's statistics are spread it can cut the layer to
	// MinFilters while layers with even statistics keep almost everything.
	AllocThreshold = "threshold"
	// AllocUniform keeps the same fraction of every unit's channels (Torch-Pruning's local
	// pruning), the fraction searched for the target; needs no data.
	AllocUniform = "uniform"
	// AllocSensitivity measures each unit's accuracy drop when pruned alone to a few fractions
	// and removes channels where the drop per parameter (or FLOP) saved is smallest.
	AllocSensitivity = "sensitivity"
)

// Unit is what one decision covers: a prunable layer alone or an equalization group, named by
// its first layer in graph order.
type Unit struct {
	Name     string   `json:"unit"`
	Layers   []string `json:"layers"`
	Channels int      `json:"channels"`
	// Pinned says why the unit keeps all its channels ("" when it can be pruned).
	Pinned string `json:"keeps_all,omitempty"`
}

// Plan gives the output channels each unit keeps, by unit name; a unit not named keeps all.
// Counts are raised to min(MinFilters, channels) and rounded up to Granularity, as TAO's.
type Plan map[string]int

// Units lists the decision units of g in graph order.
func Units(g *model.Graph, w model.Weights, opts Options) ([]Unit, error) {
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, err
	}
	return a.unitList()
}

func (a *analysis) unitList() ([]Unit, error) {
	members, _ := a.groups()
	var out []Unit
	for _, name := range a.order {
		names := members[a.find(name)]
		if names[0] != name {
			continue
		}
		_, pinned, err := a.groupStat(names, a.opts.Equalization)
		if err != nil {
			return nil, err
		}
		u := Unit{Name: name, Layers: names, Channels: a.units[name].channels}
		if pinned != "" {
			u.Pinned = a.units[pinned].pin
		}
		out = append(out, u)
	}
	return out, nil
}

// PrunePlan keeps, in every unit, the plan's number of channels with the strongest (merged)
// statistic and builds the pruned model.
func PrunePlan(g *model.Graph, w model.Weights, opts Options, plan Plan) (*Result, error) {
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, err
	}
	return a.prunePlan(plan)
}

func (a *analysis) planDecision(plan Plan) (*decision, error) {
	a.planned = true
	defer func() { a.planned = false }()
	return a.decideWith(a.opts, func(unit string, merged []float64) Decision {
		n, ok := plan[unit]
		if !ok {
			n = len(merged)
		}
		return a.opts.Top(merged, n)
	})
}

func (a *analysis) prunePlan(plan Plan) (*Result, error) {
	d, err := a.planDecision(plan)
	if err != nil {
		return nil, err
	}
	return a.build(d)
}

func (a *analysis) planSize(plan Plan) (Size, error) {
	d, err := a.planDecision(plan)
	if err != nil {
		return Size{}, err
	}
	return a.sizeOf(d)
}

// uniformPlan keeps ceil(fraction x channels) of every prunable unit.
func uniformPlan(units []Unit, fraction float64) Plan {
	p := Plan{}
	for _, u := range units {
		if u.Pinned == "" {
			p[u.Name] = int(math.Ceil(fraction * float64(u.Channels)))
		}
	}
	return p
}

// Target is what PruneTo aims for and how it shares the cut out.
type Target struct {
	Ratio      float64 // wanted kept/original ratio, in (0, 1]
	Metric     string  // TargetParams or TargetFLOPs
	Allocation string  // AllocThreshold, AllocUniform or AllocSensitivity
	// Evaluate measures a pruned model's accuracy (needed by AllocSensitivity); it is also
	// given the unpruned model as a Result that keeps every channel.
	Evaluate func(*Result) (float64, error)
	// Fractions are the kept fractions at which AllocSensitivity measures each unit (default
	// DefaultSensitivityFractions).
	Fractions []float64
}

// DefaultSensitivityFractions are the kept fractions a sensitivity allocation measures.
var DefaultSensitivityFractions = []float64{0.25, 0.5, 0.75}

func (t *Target) check() error {
	if t.Metric == "" {
		t.Metric = TargetParams
	}
	if t.Allocation == "" {
		t.Allocation = AllocThreshold
	}
	if len(t.Fractions) == 0 {
		t.Fractions = DefaultSensitivityFractions
	}
	switch {
	case t.Metric != TargetParams && t.Metric != TargetFLOPs:
		return fmt.Errorf("target metric %q: want params or flops", t.Metric)
	case !(t.Ratio > 0 && t.Ratio <= 1):
		return fmt.Errorf("target ratio %g must be in (0, 1]", t.Ratio)
	case !slices.Contains([]string{AllocThreshold, AllocUniform, AllocSensitivity}, t.Allocation):
		return fmt.Errorf("allocation %q: want threshold, uniform or sensitivity", t.Allocation)
	case t.Allocation == AllocSensitivity && t.Evaluate == nil:
		return fmt.Errorf("the sensitivity allocation needs data to measure accuracy on")
	}
	for _, f := range t.Fractions {
		if !(f > 0 && f < 1) {
			return fmt.Errorf("sensitivity fraction %g must be in (0, 1)", f)
		}
	}
	return nil
}

// PruneTo prunes g to at most t.Ratio of its parameters or FLOPs with the allocation t names.
// AllocThreshold is PruneToTarget (TAO's threshold, searched).
func PruneTo(g *model.Graph, w model.Weights, opts Options, t Target) (*Result, Search, error) {
	if err := t.check(); err != nil {
		return nil, Search{Target: t.Ratio, Metric: t.Metric}, err
	}
	if t.Allocation == AllocThreshold {
		return PruneToTarget(g, w, opts, t.Ratio, t.Metric)
	}
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, Search{}, err
	}
	units, err := a.unitList()
	if err != nil {
		return nil, Search{}, err
	}
	m, err := a.newMeter(t.Metric)
	if err != nil {
		return nil, Search{}, err
	}
	var plan Plan
	var s Search
	if t.Allocation == AllocUniform {
		plan, s, err = a.uniform(units, m, t.Ratio)
	} else {
		plan, s, err = a.bySensitivity(units, m, t)
	}
	if err != nil {
		return nil, s, err
	}
	res, err := a.prunePlan(plan)
	if err != nil {
		return nil, s, err
	}
	res.Allocation = t.Allocation
	return res, s, nil
}

// meter measures a plan's kept ratio of one metric.
type meter struct {
	a      *analysis
	metric string
	before Size
	steps  int
}

func (a *analysis) newMeter(metric string) (*meter, error) {
	before, err := SizeOf(a.g)
	if err != nil {
		return nil, err
	}
	return &meter{a: a, metric: metric, before: before}, nil
}

func (m *meter) value(s Size) float64 {
	if m.metric == TargetFLOPs {
		return float64(s.FLOPs)
	}
	return float64(s.Params)
}

func (m *meter) ratio(p Plan) (float64, error) {
	m.steps++
	s, err := m.a.planSize(p)
	if err != nil {
		return 0, err
	}
	return m.value(s) / m.value(m.before), nil
}

// uniform finds the largest common kept fraction whose model meets the target (bisection: the
// ratio does not grow as the fraction shrinks).
func (a *analysis) uniform(units []Unit, m *meter, target float64) (Plan, Search, error) {
	s := Search{Target: target, Metric: m.metric, Allocation: AllocUniform}
	lo, hi := 0.0, 1.0 // ratio(lo) <= target < ratio(hi), unless hi meets it
	r, err := m.ratio(uniformPlan(units, hi))
	if err != nil {
		return nil, s, err
	}
	if r <= target {
		lo = hi
	} else {
		for range 30 {
			mid := (lo + hi) / 2
			if r, err = m.ratio(uniformPlan(units, mid)); err != nil {
				return nil, s, err
			}
			if r <= target {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	plan := uniformPlan(units, lo)
	if s.Achieved, err = m.ratio(plan); err != nil {
		return nil, s, err
	}
	s.Reached, s.Fraction, s.Steps = s.Achieved <= target, lo, m.steps
	return plan, s, nil
}
