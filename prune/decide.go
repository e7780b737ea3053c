package prune

import (
	"fmt"
	"sort"

	"github.com/bonsai-ml/bonsai/model"
)

// LayerReport says what pruning did to one prunable layer (what TAO's log does not tell).
type LayerReport struct {
	Name   string   `json:"layer"`
	Op     model.Op `json:"op"`
	Before int      `json:"channels_before"` // output channels before pruning
	After  int      `json:"channels_after"`  // output channels kept
	// Group is the equalization group id (0: the layer decides alone).
	Group int `json:"group"`
	// Pinned says why all channels were kept regardless of the threshold ("" when they were not).
	Pinned string `json:"keeps_all,omitempty"`
	// Above counts this layer's channels whose own statistic is > threshold.
	Above int `json:"above_threshold"`
	// KeptBelow counts kept channels whose own statistic is <= threshold, split by reason:
	// ForGroup (a group partner's channel is strong), ForMin (the minimum number of filters),
	// ForGranularity (rounding up to the granularity).
	KeptBelow      int `json:"kept_below_threshold"`
	ForGroup       int `json:"kept_for_group_partner"`
	ForMin         int `json:"kept_for_min_filters"`
	ForGranularity int `json:"kept_for_granularity"`
	// DroppedAbove counts channels above the threshold that the group's criterion removed
	// (intersection or means).
	DroppedAbove int `json:"removed_above_threshold"`
}

// decision is the outcome at one threshold (or one plan): kept output channels of every
// prunable layer.
type decision struct {
	kept    map[string][]int
	reports []LayerReport
}

// chooser decides one unit (a layer alone or an equalization group, named by its first member)
// from its merged statistic.
type chooser func(unit string, merged []float64) Decision

// decide runs TAO's retained-index rule on every group at the threshold in opts.
func (a *analysis) decide(opts Options) (*decision, error) {
	return a.decideWith(opts, func(_ string, merged []float64) Decision { return opts.Decide(merged) })
}

// decideWith decides every unit with choose; pinned units keep all their channels.
func (a *analysis) decideWith(opts Options, choose chooser) (*decision, error) {
	members, ids := a.groups()
	d := &decision{kept: map[string][]int{}}
	byName := map[string]LayerReport{}
	for root, names := range members {
		if err := a.decideGroup(opts, names, ids[root], choose, d.kept, byName); err != nil {
			return nil, err
		}
	}
	for _, name := range a.order {
		d.reports = append(d.reports, byName[name])
	}
	return d, nil
}

// decideGroup decides one group (or a single layer) and fills kept and the reports.
func (a *analysis) decideGroup(opts Options, names []string, id int, choose chooser, kept map[string][]int, reports map[string]LayerReport) error {
	merged, pinned, err := a.groupStat(names, opts.Equalization)
	if err != nil {
		return err
	}
	channels := a.units[names[0]].channels
	dec := Decision{Kept: allChannels(channels)}
	if pinned == "" {
		dec = choose(names[0], merged)
	}
	for _, n := range names {
		u := a.units[n]
		kept[n] = dec.Kept
		r := LayerReport{Name: n, Op: u.layer.Op, Before: channels, After: len(dec.Kept), Group: id}
		switch {
		case u.pin != "":
			r.Pinned = u.pin
		case pinned != "":
			r.Pinned = fmt.Sprintf("group partner %s: %s", pinned, a.units[pinned].pin)
		}
		if !a.planned {
			explain(&r, u.stat, merged, dec, opts.Threshold)
		}
		reports[n] = r
	}
	return nil
}

// groupStat merges the statistics of a group's members; when a member keeps all its channels
// it returns that member's name instead.
func (a *analysis) groupStat(names []string, criterion string) ([]float64, string, error) {
	channels := a.units[names[0]].channels
	stats := make([][]float64, len(names))
	for i, n := range names {
		u := a.units[n]
		if u.channels != channels {
			return nil, "", fmt.Errorf("layers %q (%d channels) and %q (%d channels) must keep the same channels but differ in width", names[0], channels, n, u.channels)
		}
		if u.pin != "" {
			return nil, n, nil
		}
		stats[i] = u.stat
	}
	return merge(stats, criterion), "", nil
}

// explain counts, for one layer, kept channels under the threshold and the reason for each.
func explain(r *LayerReport, own, merged []float64, dec Decision, threshold float64) {
	isKept := make([]bool, len(own))
	for _, c := range dec.Kept {
		isKept[c] = true
	}
	var byCount []int // kept channels admitted by count (merged stat <= threshold)
	for c, v := range own {
		if v > threshold {
			r.Above++
			if !isKept[c] {
				r.DroppedAbove++
			}
			continue
		}
		if !isKept[c] || merged == nil {
			continue
		}
		r.KeptBelow++
		if merged[c] > threshold {
			r.ForGroup++
		} else {
			byCount = append(byCount, c)
		}
	}
	if merged == nil {
		return
	}
	// The count rule admits the strongest merged statistics first: the first ForMin of them
	// reach the minimum, the rest round up to the granularity. Only this layer's share counts.
	var admitted []int
	for c, v := range merged {
		if v <= threshold && isKept[c] {
			admitted = append(admitted, c)
		}
	}
	sort.SliceStable(admitted, func(i, j int) bool { return merged[admitted[i]] > merged[admitted[j]] })
	rank := map[int]int{}
	for i, c := range admitted {
		rank[c] = i
	}
	for _, c := range byCount {
		if rank[c] < dec.ForMin {
			r.ForMin++
		} else {
			r.ForGranularity++
		}
	}
}

func allChannels(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
