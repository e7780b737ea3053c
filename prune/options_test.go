package prune

import (
	"math"
	"slices"
	"testing"
)

// stat64 returns 64 statistics: the first `above` are > 0.5 (descending strengths), the rest
// below it, weakest last.
func stat64(above int) []float64 {
	s := make([]float64, 64)
	for i := range s {
		if i < above {
			s[i] = 1 - float64(i)*0.001
		} else {
			s[i] = 0.4 - float64(i)*0.001
		}
	}
	return s
}

func TestDecideMinFiltersAndGranularity(t *testing.T) {
	o := Options{Threshold: 0.5, Granularity: 8, MinFilters: 16}
	cases := []struct {
		channels, above, want, forMin, gran int
	}{
		{64, 13, 16, 3, 0}, // TAO's example: 13 above -> min 16
		{64, 17, 24, 0, 7}, // 17 above -> rounded up to 24
		{64, 16, 16, 0, 0},
		{64, 0, 16, 16, 0},
		{64, 64, 64, 0, 0},
		{64, 57, 64, 0, 7},
	}
	for _, c := range cases {
		d := o.Decide(stat64(c.above))
		if len(d.Kept) != c.want || d.Above != c.above || d.ForMin != c.forMin || d.Granularity != c.gran {
			t.Errorf("%d above: kept %d (above %d, min %d, gran %d), want %d (%d, %d, %d)",
				c.above, len(d.Kept), d.Above, d.ForMin, d.Granularity, c.want, c.above, c.forMin, c.gran)
		}
		if !slices.IsSorted(d.Kept) {
			t.Errorf("%d above: kept %v not ascending", c.above, d.Kept)
		}
	}
	// Fewer channels than the minimum: all of them; granularity capped at the channel count.
	if d := o.Decide([]float64{0.1, 0.2, 0.9, 0.3, 1, 0, 0.2, 0.1, 0.05, 0.3}); len(d.Kept) != 10 {
		t.Errorf("10 channels with min 16: kept %d, want 10", len(d.Kept))
	}
	o.MinFilters = 1
	if d := o.Decide([]float64{0.1, 0.2, 0.9, 0.3, 1, 0, 0.2, 0.1, 0.05, 0.3}); len(d.Kept) != 8 || d.Granularity != 6 {
		t.Errorf("10 channels, 2 above, min 1, granularity 8: kept %d (gran %d), want 8 (6)", len(d.Kept), d.Granularity)
	}
}

func TestDecideStrictAndTopN(t *testing.T) {
	o := Options{Threshold: 0.5, Granularity: 1, MinFilters: 3}
	// Exactly at the threshold is not above (strict >).
	d := o.Decide([]float64{0.5, 0.9, 0.2, 0.6, 0.5, 0.1, 0.45})
	if d.Above != 2 {
		t.Errorf("above = %d, want 2 (0.9 and 0.6; 0.5 is not > 0.5)", d.Above)
	}
	// Min 3: the third strongest (one of the 0.5s) is re-admitted; result ascending.
	if len(d.Kept) != 3 || d.Kept[1] != 1 || d.Kept[2] != 3 || (d.Kept[0] != 0 && d.Kept[0] != 4) {
		t.Errorf("kept %v, want [0 1 3] (top 3 by stat, ascending)", d.Kept)
	}
	o.MinFilters = 0
	o.Threshold = 0
	if d := o.Decide([]float64{0, 0.1, 0}); !slices.Equal(d.Kept, []int{1}) {
		t.Errorf("pth 0 with zero norms: kept %v, want [1] (0 is not > 0)", d.Kept)
	}
}

func TestNormalizeAndMerge(t *testing.T) {
	s := []float64{3, 4, 0}
	if got := normalize(s, NormMax); !slices.Equal(got, []float64{0.75, 1, 0}) {
		t.Errorf("max: %v", got)
	}
	got := normalize(s, NormL2) // s / 5 * 3
	for i, want := range []float64{1.8, 2.4, 0} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("L2: %v, want [1.8 2.4 0]", got)
		}
	}
	if got := normalize([]float64{0, 0}, NormMax); !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("all-zero layer: %v", got)
	}
	a, b := []float64{0.2, 0.9}, []float64{0.8, 0.1}
	for crit, want := range map[string][]float64{
		EqUnion: {0.8, 0.9}, EqIntersection: {0.2, 0.1}, EqArithmeticMean: {0.5, 0.5},
		EqGeometricMean: {0.4, 0.3},
	} {
		got := merge([][]float64{a, b}, crit)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Errorf("%s: %v, want %v", crit, got, want)
			}
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, o := range []Options{
		{Normalizer: "off"}, {Equalization: "mean"}, {Granularity: -1}, {Threshold: -0.1}, {MinFilters: -2},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := Options{}
	if err := o.Check(); err != nil || o.Normalizer != NormMax || o.Equalization != EqUnion || o.Granularity != 8 {
		t.Errorf("defaults: %+v %v", o, err)
	}
}
