package prune

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Normalizers and equalization criteria, as TAO's -n and -eq flags spell them.
const (
	NormMax = "max"
	NormL2  = "L2"

	EqUnion          = "union"
	EqIntersection   = "intersection"
	EqArithmeticMean = "arithmetic_mean"
	EqGeometricMean  = "geometric_mean"

	// CriterionKernel ranks filters by their kernel's L2 norm (TAO). CriterionBN ranks a
	// convolution followed by batch norm by |gamma| of that batch norm (network slimming, Liu et
	// al. 2017): batch norm cancels the kernel's own scale, and gamma is the channel's output
	// scale. Layers without a batch norm after them keep the kernel norm.
	CriterionKernel = "kernel"
	CriterionBN     = "bn"
)

// Options are TAO's pruning knobs.
type Options struct {
	Threshold    float64  // -pth: a channel survives if its normalised statistic is > Threshold
	Normalizer   string   // -n: "max" (default) or "L2"
	Equalization string   // -eq: union (default), intersection, arithmetic_mean, geometric_mean
	Granularity  int      // -pg: kept counts are rounded up to a multiple of this (default 8)
	MinFilters   int      // -nf: never keep fewer than this many channels (default 16)
	Excluded     []string // -el: layers that keep all their channels
	Criterion    string   // --criterion: "kernel" (TAO, default) or "bn"
}

// DefaultOptions are TAO's defaults (pth 0.1, max, union, granularity 8, min filters 16).
// ErrExcludeLayer marks errors that excluding a layer from pruning (Options.Excluded) avoids.
var ErrExcludeLayer = errors.New("layers excluded from pruning keep all their channels")

func DefaultOptions() Options {
	return Options{Threshold: 0.1, Normalizer: NormMax, Equalization: EqUnion, Granularity: 8, MinFilters: 16, Criterion: CriterionKernel}
}

// Check validates the options, filling empty strings and zero counts with TAO's defaults.
func (o *Options) Check() error {
	d := DefaultOptions()
	if o.Normalizer == "" {
		o.Normalizer = d.Normalizer
	}
	if o.Equalization == "" {
		o.Equalization = d.Equalization
	}
	if o.Granularity == 0 {
		o.Granularity = d.Granularity
	}
	if o.Criterion == "" {
		o.Criterion = d.Criterion
	}
	switch {
	case o.Criterion != CriterionKernel && o.Criterion != CriterionBN:
		return fmt.Errorf("criterion %q: want kernel or bn", o.Criterion)
	case o.Normalizer != NormMax && o.Normalizer != NormL2:
		return fmt.Errorf("normalizer %q: want max or L2", o.Normalizer)
	case !slices.Contains([]string{EqUnion, EqIntersection, EqArithmeticMean, EqGeometricMean}, o.Equalization):
		return fmt.Errorf("equalization criterion %q: want union, intersection, arithmetic_mean or geometric_mean", o.Equalization)
	case o.Granularity < 1:
		return fmt.Errorf("pruning granularity %d must be at least 1", o.Granularity)
	case o.MinFilters < 0:
		return fmt.Errorf("min_num_filters %d must not be negative", o.MinFilters)
	case math.IsNaN(o.Threshold) || o.Threshold < 0:
		return fmt.Errorf("pruning threshold %g must be >= 0", o.Threshold)
	}
	return nil
}

// normalize scales a layer's filter norms as TAO's normalize_stat: by their max, or by their
// L2 norm times their count. An all-zero layer stays all zero.
func normalize(stat []float64, normalizer string) []float64 {
	out := make([]float64, len(stat))
	var div float64
	switch normalizer {
	case NormL2:
		for _, v := range stat {
			div += v * v
		}
		div = math.Sqrt(div) / float64(len(stat))
	default:
		for _, v := range stat {
			div = max(div, v)
		}
	}
	if div == 0 {
		return out
	}
	for i, v := range stat {
		out[i] = v / div
	}
	return out
}

// merge combines the statistics of an equalization group channel by channel.
func merge(stats [][]float64, criterion string) []float64 {
	out := slices.Clone(stats[0])
	for c := range out {
		switch criterion {
		case EqUnion:
			for _, s := range stats[1:] {
				out[c] = max(out[c], s[c])
			}
		case EqIntersection:
			for _, s := range stats[1:] {
				out[c] = min(out[c], s[c])
			}
		case EqArithmeticMean:
			sum := 0.0
			for _, s := range stats {
				sum += s[c]
			}
			out[c] = sum / float64(len(stats))
		case EqGeometricMean:
			sum := 0.0
			for _, s := range stats {
				sum += math.Log(s[c])
			}
			out[c] = math.Exp(sum / float64(len(stats)))
		}
	}
	return out
}

// Decision is how many channels a statistic keeps and why.
type Decision struct {
	Kept        []int // kept channel indices, ascending
	Above       int   // channels whose statistic is > threshold
	ForMin      int   // channels added to reach the minimum number of filters
	Granularity int   // channels added to round up to the granularity
}

// Decide applies TAO's _get_retained_idx to one (merged) statistic: strict > threshold, at least
// min(MinFilters, channels), rounded up to a multiple of Granularity (capped at the channel
// count), then the top-n channels by statistic in ascending index order.
func (o Options) Decide(stat []float64) Decision {
	above := 0
	for _, v := range stat {
		if v > o.Threshold {
			above++
		}
	}
	d := o.Top(stat, above)
	d.Above = above
	d.ForMin = max(min(o.MinFilters, len(stat)), above) - above
	d.Granularity = len(d.Kept) - above - d.ForMin
	return d
}

// Top keeps the n channels with the largest statistic, n raised to min(MinFilters, channels)
// and rounded up to a multiple of Granularity (capped at the channel count), in ascending index
// order. It is the count rule of Decide without the threshold.
func (o Options) Top(stat []float64, n int) Decision {
	channels := len(stat)
	n = max(min(o.MinFilters, channels), n)
	if g := max(o.Granularity, 1); n%g != 0 {
		n += g - n%g
	}
	n = min(n, channels)
	order := make([]int, channels)
	for i := range order {
		order[i] = i
	}
	// Stable, like numpy's argsort(-stat) for ties in practice: equal statistics keep index order.
	sort.SliceStable(order, func(a, b int) bool { return stat[order[a]] > stat[order[b]] })
	kept := slices.Clone(order[:n])
	slices.Sort(kept)
	return Decision{Kept: kept}
}
