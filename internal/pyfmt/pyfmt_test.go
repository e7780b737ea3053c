package pyfmt

import (
	"math"
	"testing"
)

// The wanted strings are Python 3.11's repr() of the same float64 values.
func TestFloat(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{1, "1.0"}, {0, "0.0"}, {-2, "-2.0"}, {0.6, "0.6"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
		{0.00012345, "0.00012345"}, {1.5e-7, "1.5e-07"}, {123456789, "123456789.0"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.25e17, "1.25e+17"},
		{float64(float32(math.Pi / 4)), "0.7853981852531433"}, {0.6353601900291853, "0.6353601900291853"},
		{math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, c := range cases {
		if got := Float(c.v); got != c.want {
			t.Errorf("Float(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
