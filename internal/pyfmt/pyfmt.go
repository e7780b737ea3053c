// Package pyfmt formats numbers as Python prints them (repr / str of a float), so that Bonsai's
// printouts and files read as TAO's do: "1.0", "0.7853981852531433", "1e-05".
package pyfmt

import (
	"math"
	"strconv"
	"strings"
)

// Float is Python 3's repr(v) (and str(v)): the shortest digits that read back as v, in fixed
// notation with at least one decimal, or in scientific notation when the decimal exponent is
// below -4 or at least 16.
func Float(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	sci := strconv.FormatFloat(v, 'e', -1, 64) // d.ddde±XX, two exponent digits at least, as Python
	_, exp, _ := strings.Cut(sci, "e")
	if e, _ := strconv.Atoi(exp); e < -4 || e >= 16 {
		return sci
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
