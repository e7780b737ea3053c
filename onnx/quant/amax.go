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

// EntropyAmax is TensorRT's legacy entropy calibration: for each candidate i from Levels to
// Bins bins, the reference distribution P is the first i bins with the counts beyond them
// added to bin i-1, and Q is those i bins (without the outliers) merged into Levels levels and
// spread back evenly over the bins that are non-zero in P; amax is the right edge of bin i-1
// for the i with the smallest KL(P || Q). Zero bins are smoothed with 1e-4 as MXNet's and TVM's
// ports of the method do.
func EntropyAmax(h *Histogram) float64 {
	n := len(h.Counts)
	suffix := make([]float64, n+1) // suffix[i] = sum of Counts[i:]
	for i := n - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] + h.Counts[i]
	}
	best, bestI := math.Inf(1), n
	p := make([]float64, n)
	q := make([]float64, n)
	for i := Levels; i <= n; i++ {
		copy(p, h.Counts[:i])
		p[i-1] += suffix[i]
		expandLevels(h.Counts[:i], p[:i], q[:i])
		if d := klDivergence(p[:i], q[:i]); d < best {
			best, bestI = d, i
		}
	}
	return float64(bestI) * h.width()
}

// expandLevels fills q with the counts of hist merged into Levels levels (the last level takes
// the remainder) and each level's total spread evenly over the bins where p is non-zero.
func expandLevels(hist, p, q []float64) {
	merged := len(hist) / Levels
	for j := range Levels {
		start, stop := j*merged, (j+1)*merged
		if j == Levels-1 {
			stop = len(hist)
		}
		total, nonzero := 0.0, 0
		for k := start; k < stop; k++ {
			total += hist[k]
			if p[k] != 0 {
				nonzero++
			}
		}
		for k := start; k < stop; k++ {
			q[k] = 0
			if p[k] != 0 {
				q[k] = total / float64(nonzero)
			}
		}
	}
}

// smoothEps is the mass moved onto each zero bin before the divergence is taken.
const smoothEps = 1e-4

// klDivergence is KL(P || Q) of two count vectors after smoothing: every zero bin gets
// smoothEps, taken evenly from the non-zero bins (which keeps each total). It is +Inf when
// smoothing would make a bin negative or either vector is all zeros.
func klDivergence(p, q []float64) float64 {
	takeP, sp, okP := smoothing(p)
	takeQ, sq, okQ := smoothing(q)
	if !okP || !okQ {
		return math.Inf(1)
	}
	d := 0.0
	for i := range p {
		a, b := smoothEps, smoothEps
		if p[i] != 0 {
			a = p[i] - takeP
		}
		if q[i] != 0 {
			b = q[i] - takeQ
		}
		if a <= 0 || b <= 0 {
			return math.Inf(1)
		}
		a, b = a/sp, b/sq
		d += a * math.Log(a/b)
	}
	return d
}

// smoothing returns what each non-zero bin gives up and the total; ok is false when all bins
// are zero.
func smoothing(v []float64) (take, total float64, ok bool) {
	zeros := 0
	for _, x := range v {
		total += x
		if x == 0 {
			zeros++
		}
	}
	if zeros == len(v) {
		return 0, 0, false
	}
	return smoothEps * float64(zeros) / float64(len(v)-zeros), total, true
}
