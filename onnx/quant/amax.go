package quant

import (
	"fmt"
	"math"
)

// Bins is the histogram size of TensorRT's legacy entropy calibrator; Levels is the number of
// positive int8 levels the entropy search quantizes a histogram prefix into.
const (
	Bins   = 2048
	Levels = 128
)

// Histogram counts |x| in Bins equal bins over [0, Max]; a value equal to Max falls in the
// last bin.
type Histogram struct {
	Max    float64
	Counts []float64
}

// NewHistogram returns an empty histogram over [0, max].
func NewHistogram(max float64) *Histogram {
	return &Histogram{Max: max, Counts: make([]float64, Bins)}
}

// Add counts the absolute values of v; values beyond Max go into the last bin.
func (h *Histogram) Add(v []float32) {
	if h.Max <= 0 {
		h.Counts[0] += float64(len(v))
		return
	}
	scale := float64(len(h.Counts)) / h.Max
	last := len(h.Counts) - 1
	for _, x := range v {
		b := int(math.Abs(float64(x)) * scale)
		h.Counts[min(b, last)]++
	}
}

// width is the width of one bin.
func (h *Histogram) width() float64 { return h.Max / float64(len(h.Counts)) }

// Algorithms that choose amax from a histogram.
const (
	Entropy    = "entropy"    // TensorRT's legacy entropy calibrator (KL divergence)
	Percentile = "percentile" // the given percentile of |x|
	MaxAbs     = "max"        // the largest |x| seen
)

// Amax chooses a tensor's range by the named algorithm (percentile in percent, e.g. 99.99, for
// Percentile). A histogram of zeros gives 1: any scale represents zero exactly.
func Amax(h *Histogram, algorithm string, percentile float64) (float64, error) {
	if h.Max <= 0 {
		return 1, nil
	}
	switch algorithm {
	case Entropy, "":
		return EntropyAmax(h), nil
	case Percentile:
		if percentile <= 0 || percentile > 100 {
			return 0, fmt.Errorf("percentile %g must be in (0, 100]", percentile)
		}
		return PercentileAmax(h, percentile), nil
	case MaxAbs:
		return h.Max, nil
	}
	return 0, fmt.Errorf("unknown calibration algorithm %q: want %s, %s or %s", algorithm, Entropy, Percentile, MaxAbs)
}

// PercentileAmax is the right edge of the first bin at which the cumulative count reaches
// percentile % of all values.
func PercentileAmax(h *Histogram, percentile float64) float64 {
	total := 0.0
	for _, c := range h.Counts {
		total += c
	}
	target := total * percentile / 100
	cum := 0.0
	for i, c := range h.Counts {
		cum += c
		if cum >= target {
			return float64(i+1) * h.width()
		}
	}
	return h.Max
}

// EntropyAmax is TensorRT's entropy calibration as NVIDIA's pytorch-quantization writes it
// (calib/histogram.py, _compute_amax_entropy): bin 0 takes bin 1's count (a ReLU's zeros would
// otherwise dominate), then for each candidate i from Levels to Bins bins the reference
// distribution P is the first i bins with the counts beyond them added to bin i-1, and Q is
// those i bins merged into Levels levels (bin k in level floor(k*Levels/i)) and spread evenly
// over each level's non-zero bins; amax is the right edge of bin i-1 for the i with the smallest
// KL(P || Q), the largest such i on a tie.
func EntropyAmax(h *Histogram) float64 {
	n := len(h.Counts)
	bins := append([]float64(nil), h.Counts...)
	bins[0] = bins[1]
	suffix := make([]float64, n+1) // suffix[i] = sum of bins[i:]
	for i := n - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] + bins[i]
	}
	best, bestI := math.Inf(1), n
	sum := make([]float64, Levels)
	nonzero := make([]int, Levels)
	for i := Levels; i <= n; i++ {
		clear(sum)
		clear(nonzero)
		for k, c := range bins[:i] {
			if c != 0 {
				sum[k*Levels/i] += c
				nonzero[k*Levels/i]++
			}
		}
		if d := divergence(bins[:i], suffix, sum, nonzero); d <= best {
			best, bestI = d, i
		}
	}
	return float64(bestI) * h.width()
}

// divergence is KL(P || Q) for the candidate of len(bins) bins (see EntropyAmax); +Inf where Q
// is zero and P is not.
func divergence(bins, suffix, sum []float64, nonzero []int) float64 {
	i := len(bins)
	totalP, totalQ := suffix[0], suffix[0]-suffix[i]
	d := 0.0
	for k, c := range bins {
		p := c
		if k == i-1 {
			p += suffix[i]
		}
		if p == 0 {
			continue
		}
		if c == 0 {
			return math.Inf(1)
		}
		level := k * Levels / i
		q := sum[level] / float64(nonzero[level]) / totalQ
		p /= totalP
		d += p * math.Log(p/q)
	}
	return d
}
