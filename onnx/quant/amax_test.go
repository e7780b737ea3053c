package quant

import (
	"math"
	"testing"
)

// refHistograms are two histograms (max 10, 2048 bins) with the amax that NVIDIA
// pytorch-quantization's _compute_amax_entropy computes for them, its loop run with numpy (no
// scipy here; entropy(p, q) = sum p*log(p/q) over p > 0):
//
//	a: counts floor(1e5*exp(-i/60)), bin 1500 = 3, bin 2047 = 1      -> 3.125
//	b: bin 0 = 50000, others floor(2e4*exp(-((i-300)/150)^2))       -> 3.7548828125
func refHistograms() []struct {
	name string
	h    *Histogram
	amax float64
} {
	a, b := NewHistogram(10), NewHistogram(10)
	for i := range Bins {
		a.Counts[i] = math.Floor(1e5 * math.Exp(-float64(i)/60))
		b.Counts[i] = math.Floor(2e4 * math.Exp(-math.Pow((float64(i)-300)/150, 2)))
	}
	a.Counts[1500], a.Counts[2047] = 3, 1
	b.Counts[0] = 50000
	return []struct {
		name string
		h    *Histogram
		amax float64
	}{{"a", a, 3.125}, {"b", b, 3.7548828125}}
}

func TestEntropyAmaxMatchesReference(t *testing.T) {
	for _, c := range refHistograms() {
		if got := EntropyAmax(c.h); got != c.amax {
			t.Errorf("histogram %s: entropy amax %v, reference %v", c.name, got, c.amax)
		}
	}
}

// TestAmaxAlgorithms checks percentile and max by hand: the values are i*0.008 (i < 1000, half
// of them negated) in bins of width 1/128, so the k-th smallest |value| lies in bin
// floor((k-1)*0.008*128) and the percentile is that bin's right edge.
func TestAmaxAlgorithms(t *testing.T) {
	h := NewHistogram(16)
	v := make([]float32, 1000)
	for i := range v {
		v[i] = float32(i) * 8 / 1000
		if i%2 == 1 {
			v[i] = -v[i] // absolute values are counted
		}
	}
	h.Add(v)
	for _, c := range []struct {
		alg  string
		pct  float64
		want float64
	}{
		{MaxAbs, 0, 16},
		{Percentile, 99, 7.9140625},  // the 990th, 7.912, is in bin 1012: edge 1013/128
		{Percentile, 100, 7.9921875}, // the largest, 7.992, is in bin 1022: edge 1023/128
		{Percentile, 50, 3.9921875},  // the 500th, 3.992, is in bin 510: edge 511/128
	} {
		got, err := Amax(h, c.alg, c.pct)
		if err != nil || got != c.want {
			t.Errorf("%s %g: amax %v (%v), want %v", c.alg, c.pct, got, err, c.want)
		}
	}
	if got, _ := Amax(NewHistogram(0), Entropy, 0); got != 1 {
		t.Errorf("all-zero tensor: amax %v, want 1", got)
	}
	for _, bad := range []struct {
		alg string
		pct float64
	}{{"kl", 0}, {Percentile, 0}, {Percentile, 101}} {
		if _, err := Amax(h, bad.alg, bad.pct); err == nil {
			t.Errorf("%s %g accepted", bad.alg, bad.pct)
		}
	}
}
