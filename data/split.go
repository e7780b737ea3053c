package data

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/bonsai-ml/bonsai/internal/splitmix"
)

// Split names, in order.
var SplitNames = [3]string{"train", "val", "test"}

// Ratios are the fractions of each class that go to train, val and test.
type Ratios struct{ Train, Val, Test float64 }

// DefaultRatios is TAO's 70/10/20.
var DefaultRatios = Ratios{0.7, 0.1, 0.2}

func (r Ratios) values() [3]float64 { return [3]float64{r.Train, r.Val, r.Test} }

// Validate checks that every ratio is in [0,1], train is positive and they sum to 1.
func (r Ratios) Validate() error {
	sum := 0.0
	for i, v := range r.values() {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("%s ratio %v is outside [0, 1]", SplitNames[i], v)
		}
		sum += v
	}
	if r.Train <= 0 {
		return fmt.Errorf("train ratio must be positive, got %v", r.Train)
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("train+val+test ratios sum to %v, want 1 (for example 0.7 0.1 0.2)", sum)
	}
	return nil
}

// SplitCounts says how many of n items go to train, val and test (see the package doc for the
// rounding rule).
func SplitCounts(n int, r Ratios) [3]int {
	var counts [3]int
	if n <= 0 {
		return counts
	}
	ratios := r.values()
	var frac [3]float64
	given := 0
	for i, v := range ratios {
		exact := float64(n) * v
		counts[i] = int(math.Floor(exact + 1e-9))
		frac[i] = exact - float64(counts[i])
		given += counts[i]
	}
	order := []int{0, 1, 2}
	sort.SliceStable(order, func(a, b int) bool { return frac[order[a]] > frac[order[b]]+1e-9 })
	for k := 0; given < n; k++ {
		counts[order[k%3]]++
		given++
	}
	byRatio := []int{0, 1, 2}
	sort.SliceStable(byRatio, func(a, b int) bool { return ratios[byRatio[a]] > ratios[byRatio[b]] })
	for _, i := range byRatio {
		if ratios[i] == 0 || counts[i] > 0 {
			continue
		}
		largest := 0
		for j := range counts {
			if counts[j] > counts[largest] {
				largest = j
			}
		}
		if counts[largest] > 1 {
			counts[largest]--
			counts[i]++
		}
	}
	return counts
}

// assignSplits shuffles items (after sorting them) with a stream derived from seed and key, and
// cuts them into train, val and test.
func assignSplits(items []string, r Ratios, seed int64, key string) [3][]string {
	sorted := append([]string(nil), items...)
	sort.Strings(sorted)
	shuffle(newRNG(seed, key), sorted)
	counts := SplitCounts(len(sorted), r)
	var out [3][]string
	start := 0
	for i, c := range counts {
		out[i] = sorted[start : start+c]
		start += c
	}
	return out
}

// rng is SplitMix64: small, fast, and fixed here so that splits never change with Go versions.
type rng struct{ state uint64 }

func newRNG(seed int64, key string) *rng {
	h := fnv.New64a()
	h.Write([]byte(key))
	r := &rng{state: uint64(seed) ^ h.Sum64()}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	z := splitmix.Mix(r.state)
	r.state += splitmix.Gamma
	return z
}

// intn returns a value in [0, n) without modulo bias.
func (r *rng) intn(n int) int {
	bound := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%bound
	for {
		if v := r.next(); v < limit {
			return int(v % bound)
		}
	}
}

// shuffle is Fisher-Yates.
func shuffle[T any](r *rng, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}
