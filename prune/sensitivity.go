package prune

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"

	"github.com/bonsai-ml/bonsai/model"
)

// UnitSensitivity is one unit's accuracy when it alone is pruned to each kept fraction.
type UnitSensitivity struct {
	Unit
	Fractions []float64 `json:"fractions"`   // kept fractions asked for, descending
	Kept      []int     `json:"kept"`        // channels kept at each (after rounding)
	Accuracy  []float64 `json:"accuracy"`    // accuracy of the model with only this unit pruned
	Params    []float64 `json:"params_kept"` // that model's parameters / the original's
	FLOPs     []float64 `json:"flops_kept"`
}

// Sensitivity prunes every unit that can be pruned alone to each kept fraction (its strongest
// channels by the criterion, counts rounded as TAO's) and measures the model's accuracy with
// eval. It returns the unpruned model's accuracy too.
func Sensitivity(g *model.Graph, w model.Weights, opts Options, fractions []float64, eval func(*Result) (float64, error)) (float64, []UnitSensitivity, error) {
	a, err := analyze(g, w, opts)
	if err != nil {
		return 0, nil, err
	}
	units, err := a.unitList()
	if err != nil {
		return 0, nil, err
	}
	return a.sensitivity(units, fractions, eval)
}

func (a *analysis) sensitivity(units []Unit, fractions []float64, eval func(*Result) (float64, error)) (float64, []UnitSensitivity, error) {
	fr := slices.Clone(fractions)
	slices.Sort(fr)
	slices.Reverse(fr)
	full, err := a.prunePlan(Plan{})
	if err != nil {
		return 0, nil, err
	}
	base, err := eval(full)
	if err != nil {
		return 0, nil, err
	}
	var out []UnitSensitivity
	for _, u := range units {
		if u.Pinned != "" {
			continue
		}
		s := UnitSensitivity{Unit: u, Fractions: fr}
		for _, f := range fr {
			res, err := a.prunePlan(Plan{u.Name: int(math.Ceil(f * float64(u.Channels)))})
			if err != nil {
				return 0, nil, err
			}
			acc, err := eval(res)
			if err != nil {
				return 0, nil, err
			}
			s.Kept = append(s.Kept, res.keptOf(u.Name))
			s.Accuracy = append(s.Accuracy, acc)
			s.Params = append(s.Params, res.Ratio())
			s.FLOPs = append(s.FLOPs, res.FLOPsRatio())
		}
		out = append(out, s)
	}
	return base, out, nil
}

func (r *Result) keptOf(layer string) int {
	for _, l := range r.Layers {
		if l.Name == layer {
			return l.After
		}
	}
	return 0
}

// dropCurve is a unit's accuracy drop against its kept fraction: 0 at 1, the measured drops
// (never negative, and never smaller than at a larger fraction), and everything lost at 0.
type dropCurve struct {
	f, d []float64 // ascending fractions with their drops
}

func newDropCurve(base float64, s UnitSensitivity) dropCurve {
	c := dropCurve{f: []float64{1}, d: []float64{0}}
	for i, f := range s.Fractions { // descending
		d := max(base-s.Accuracy[i], c.d[len(c.d)-1])
		c.f, c.d = append(c.f, f), append(c.d, d)
	}
	c.f, c.d = append(c.f, 0), append(c.d, max(base, c.d[len(c.d)-1]))
	slices.Reverse(c.f)
	slices.Reverse(c.d)
	return c
}

// at interpolates linearly.
func (c dropCurve) at(f float64) float64 {
	for i := 1; i < len(c.f); i++ {
		if f <= c.f[i] {
			t := (f - c.f[i-1]) / (c.f[i] - c.f[i-1])
			return c.d[i-1] + t*(c.d[i]-c.d[i-1])
		}
	}
	return c.d[len(c.d)-1]
}

// bySensitivity measures every unit's drop curve, then removes Granularity channels at a time
// from the unit whose estimated drop per unit of the metric saved is smallest, until the model
// meets the target. Each unit's saving per channel is measured once on the unpruned model.
func (a *analysis) bySensitivity(units []Unit, m *meter, t Target) (Plan, Search, error) {
	s := Search{Target: t.Ratio, Metric: m.metric, Allocation: AllocSensitivity}
	eval := func(r *Result) (float64, error) { s.Evaluations++; return t.Evaluate(r) }
	base, sens, err := a.sensitivity(units, t.Fractions, eval)
	if err != nil {
		return nil, s, err
	}
	plan := Plan{}
	var steps []*unitSteps
	for _, u := range sens {
		plan[u.Name] = u.Channels
		x, err := a.newUnitSteps(m, base, u)
		if err != nil {
			return nil, s, err
		}
		steps = append(steps, x)
	}
	r, err := m.ratio(plan)
	for err == nil && r > t.Ratio {
		best := cheapestStep(steps, plan)
		if best == nil {
			break
		}
		plan[best.name] -= a.opts.Granularity
		r, err = m.ratio(plan)
	}
	if err != nil {
		return nil, s, err
	}
	s.Achieved, s.Reached, s.Steps = r, r <= t.Ratio, m.steps
	return plan, s, nil
}

// unitSteps is what removing one more step of Granularity channels from a unit costs and saves.
type unitSteps struct {
	name           string
	channels, step int
	floor          int // the fewest channels the unit can keep (MinFilters, rounded)
	curve          dropCurve
	saved          float64 // metric saved by one step, measured on the unpruned model
}

func (a *analysis) newUnitSteps(m *meter, base float64, u UnitSensitivity) (*unitSteps, error) {
	g := a.opts.Granularity
	one, err := a.planSize(Plan{u.Name: u.Channels - g})
	if err != nil {
		return nil, err
	}
	return &unitSteps{name: u.Name, channels: u.Channels, step: g,
		floor: len(a.opts.Top(make([]float64, u.Channels), 0).Kept), curve: newDropCurve(base, u),
		saved: m.value(m.before) - m.value(one)}, nil
}

// cheapestStep is the unit whose next step costs the least accuracy per unit of the metric
// saved (ties: the larger saving); nil when no unit can shrink.
func cheapestStep(steps []*unitSteps, plan Plan) *unitSteps {
	var best *unitSteps
	bestCost := math.Inf(1)
	for _, x := range steps {
		n := plan[x.name]
		if n-x.step < x.floor || x.saved <= 0 {
			continue
		}
		f := func(k int) float64 { return x.curve.at(float64(k) / float64(x.channels)) }
		cost := (f(n-x.step) - f(n)) / x.saved
		if cost < bestCost || (cost == bestCost && x.saved > best.saved) {
			best, bestCost = x, cost
		}
	}
	return best
}

// SensitivityCSV is the name of the table WriteSensitivityFile writes.
const SensitivityCSV = "per_layer.csv"

// WriteSensitivityFile writes dir/per_layer.csv atomically.
func WriteSensitivityFile(dir string, base float64, sens []UnitSensitivity) error {
	var b bytes.Buffer
	if err := WriteSensitivityCSV(&b, base, sens); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, SensitivityCSV), b.Bytes())
}

// WriteSensitivityCSV writes one row per unit and fraction: unit, its layers, channels, the
// fraction, channels kept, parameters and FLOPs kept, accuracy and drop from the unpruned one.
func WriteSensitivityCSV(w io.Writer, base float64, sens []UnitSensitivity) error {
	var b strings.Builder
	b.WriteString("unit,layers,channels,fraction,kept,params_ratio,flops_ratio,accuracy,drop\n")
	for _, s := range sens {
		for i, f := range s.Fractions {
			fmt.Fprintf(&b, "%s,%s,%d,%g,%d,%.6f,%.6f,%.6f,%.6f\n", s.Name, strings.Join(s.Layers, " "), s.Channels, f,
				s.Kept[i], s.Params[i], s.FLOPs[i], s.Accuracy[i], base-s.Accuracy[i])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSensitivityTable prints one line per unit: its channels, the share of the parameters
// that pruning it to the smallest fraction removes, and the accuracy drop at each fraction.
func WriteSensitivityTable(w io.Writer, base float64, sens []UnitSensitivity) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "unpruned accuracy %.4f; drop in points when only this unit is pruned to the kept fraction\n", base)
	header := "unit\tlayers\tchannels"
	if len(sens) > 0 {
		for _, f := range sens[0].Fractions {
			header += fmt.Sprintf("\t%g", f)
		}
		header += fmt.Sprintf("\tparams removed at %g", sens[0].Fractions[len(sens[0].Fractions)-1])
	}
	fmt.Fprintln(tw, header)
	for _, s := range sens {
		line := fmt.Sprintf("%s\t%d\t%d", s.Name, len(s.Layers), s.Channels)
		for _, a := range s.Accuracy {
			line += fmt.Sprintf("\t%+.1f", 100*(a-base))
		}
		line += fmt.Sprintf("\t%.1f%%", 100*(1-s.Params[len(s.Params)-1]))
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
