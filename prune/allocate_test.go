package prune

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model/arch"
)

func TestUnitsOfResNet10(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 10, AllProjections: true})
	units, err := Units(g, randomWeights(t, g, 1), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range units {
		names = append(names, u.Name)
	}
	// With all_projections each block's add joins conv_2 and the shortcut; the rest stand alone.
	want := []string{"conv1", "block_1a_conv_1", "block_1a_conv_2", "block_2a_conv_1", "block_2a_conv_2",
		"block_3a_conv_1", "block_3a_conv_2", "block_4a_conv_1", "block_4a_conv_2", "predictions"}
	if !slices.Equal(names, want) {
		t.Fatalf("units %v, want %v", names, want)
	}
	if u := units[2]; !slices.Equal(u.Layers, []string{"block_1a_conv_2", "block_1a_conv_shortcut"}) || u.Channels != 64 || u.Pinned != "" {
		t.Errorf("stage 1 add unit: %+v", u)
	}
	if u := units[len(units)-1]; u.Pinned != "output layer" {
		t.Errorf("predictions: %+v", u)
	}
}

// TestPrunePlanKeepsTheStrongest checks kept channels against an independent ranking of the
// layer's own statistic, with TAO's rounding of the count.
func TestPrunePlanKeepsTheStrongest(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 10, AllProjections: true})
	w := randomWeights(t, g, 2)
	opts := DefaultOptions()
	a, err := analyze(g, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ask, want int }{{40, 40}, {37, 40}, {3, 16}, {64, 64}, {100, 64}} {
		res, err := PrunePlan(g, w, opts, Plan{"block_1a_conv_1": c.ask})
		if err != nil {
			t.Fatal(err)
		}
		d, err := a.planDecision(Plan{"block_1a_conv_1": c.ask})
		if err != nil {
			t.Fatal(err)
		}
		kept := d.kept["block_1a_conv_1"]
		if res.keptOf("block_1a_conv_1") != c.want {
			t.Errorf("ask %d: the result keeps %d", c.ask, res.keptOf("block_1a_conv_1"))
		}
		stat := a.units["block_1a_conv_1"].stat
		order := make([]int, len(stat))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return -cmpFloat(stat[x], stat[y]) })
		ref := slices.Clone(order[:c.want])
		slices.Sort(ref)
		if !slices.Equal(kept, ref) {
			t.Errorf("ask %d: kept %v, want the %d strongest %v", c.ask, kept, c.want, ref)
		}
		if res.keptOf("conv1") != 64 || res.keptOf("block_2a_conv_1") != 128 {
			t.Errorf("ask %d: units outside the plan were pruned", c.ask)
		}
	}
	var buf strings.Builder
	res, _ := PrunePlan(g, w, opts, Plan{"conv1": 32})
	res.Allocation = AllocUniform
	if err := res.WriteReport(&buf, false); err != nil || !strings.Contains(buf.String(), "64 -> 32") || strings.Contains(buf.String(), "above pth") {
		t.Errorf("plan report (%v):\n%s", err, buf.String())
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestUniformAllocationIsTheLeastPruningThatMeetsTheTarget(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 18, AllProjections: true})
	w := randomWeights(t, g, 3)
	for _, metric := range []string{TargetParams, TargetFLOPs} {
		res, s, err := PruneTo(g, w, DefaultOptions(), Target{Ratio: 0.5, Metric: metric, Allocation: AllocUniform})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Ratio()
		if metric == TargetFLOPs {
			got = res.FLOPsRatio()
		}
		if !s.Reached || got > 0.5 || math.Abs(got-s.Achieved) > 1e-12 || res.Allocation != AllocUniform {
			t.Errorf("%s: %v (ratio %v)", metric, s, got)
		}
		// Every unit keeps ceil(fraction x channels) rounded up to 8, and a fraction one
		// granularity step larger would miss the target.
		units, _ := Units(g, w, DefaultOptions())
		for _, u := range units {
			want := u.Channels
			if u.Pinned == "" {
				want = min(u.Channels, roundUp(max(16, int(math.Ceil(s.Fraction*float64(u.Channels)))), 8))
			}
			if n := res.keptOf(u.Name); n != want {
				t.Errorf("%s: unit %s keeps %d, want %d", metric, u.Name, n, want)
			}
		}
		bigger, err := PrunePlan(g, w, DefaultOptions(), uniformPlan(units, s.Fraction+1e-6))
		if err != nil {
			t.Fatal(err)
		}
		if r := map[string]float64{TargetParams: bigger.Ratio(), TargetFLOPs: bigger.FLOPsRatio()}[metric]; r <= 0.5 {
			t.Errorf("%s: a slightly larger fraction also meets the target (%v)", metric, r)
		}
		if !strings.Contains(s.String(), "uniform allocation keeps") {
			t.Errorf("search line: %s", s)
		}
	}
}

func roundUp(n, g int) int { return (n + g - 1) / g * g }

// TestSensitivityAllocationSparesSensitiveUnits uses a synthetic accuracy: each unit costs
// weight x (fraction of its channels removed), and the early units are made costly. The
// allocation must cut only the cheap units while they can still meet the target, and the
// number of evaluations is units x fractions + 1.
func TestSensitivityAllocationSparesSensitiveUnits(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 10, AllProjections: true})
	w := randomWeights(t, g, 4)
	units, err := Units(g, w, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	costly := map[string]bool{"conv1": true, "block_1a_conv_1": true, "block_1a_conv_2": true, "block_2a_conv_2": true}
	eval := func(r *Result) (float64, error) {
		acc := 0.9
		for _, u := range units {
			weight := 0.001
			if costly[u.Name] {
				weight = 0.5
			}
			acc -= weight * (1 - float64(r.keptOf(u.Name))/float64(u.Channels))
		}
		return acc, nil
	}
	res, s, err := PruneTo(g, w, DefaultOptions(), Target{Ratio: 0.5, Allocation: AllocSensitivity, Evaluate: eval})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Reached || res.Ratio() > 0.5 || s.Evaluations != 1+3*9 || res.Allocation != AllocSensitivity {
		t.Errorf("search %v, ratio %v", s, res.Ratio())
	}
	for name := range costly {
		if n := res.keptOf(name); n != 64 && n != 128 {
			t.Errorf("sensitive unit %s was cut to %d", name, n)
		}
	}
	if n := res.keptOf("block_4a_conv_1"); n >= 512 {
		t.Errorf("the largest insensitive unit was not cut: %d", n)
	}
	if _, _, err := PruneTo(g, w, DefaultOptions(), Target{Ratio: 0.5, Allocation: AllocSensitivity}); err == nil {
		t.Error("sensitivity without an evaluator: no error")
	}
}

func TestDropCurve(t *testing.T) {
	s := UnitSensitivity{Fractions: []float64{0.75, 0.5, 0.25}, Accuracy: []float64{0.91, 0.8, 0.85}}
	c := newDropCurve(0.9, s)
	for _, tc := range []struct{ f, want float64 }{
		{1, 0}, {0.75, 0}, // a gain is no drop
		{0.875, 0}, {0.5, 0.1}, {0.625, 0.05},
		{0.25, 0.1}, // never less than at a larger fraction
		{0, 0.9}, {0.125, 0.5},
	} {
		if got := c.at(tc.f); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("drop at %g = %g, want %g", tc.f, got, tc.want)
		}
	}
}

// TestAllocationsOnMobileNetV2: depthwise convolutions share their parent's channels, so the
// allocations work on units that span them; both meet a FLOPs target.
func TestAllocationsOnMobileNetV2(t *testing.T) {
	g := build(t, arch.Config{Arch: "mobilenet_v2", AllProjections: true})
	w := randomWeights(t, g, 5)
	units, err := Units(g, w, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	depthwise := 0
	for _, u := range units {
		for _, l := range u.Layers {
			if strings.Contains(l, "depthwise") {
				depthwise++
			}
		}
	}
	if depthwise == 0 {
		t.Fatalf("no unit holds a depthwise conv: %+v", units)
	}
	evals := 0
	eval := func(r *Result) (float64, error) { evals++; return r.FLOPsRatio(), nil }
	for _, alloc := range []string{AllocUniform, AllocSensitivity} {
		res, s, err := PruneTo(g, w, DefaultOptions(), Target{Ratio: 0.6, Metric: TargetFLOPs, Allocation: alloc, Evaluate: eval, Fractions: []float64{0.5}})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Reached || res.FLOPsRatio() > 0.6 {
			t.Errorf("%s: %v", alloc, s)
		}
	}
	if evals == 0 {
		t.Error("the sensitivity allocation measured nothing")
	}
}
