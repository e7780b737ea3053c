package jpeg

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestIDCT8MatchesGo: the full-size inverse DCT this build uses (AVX2 assembly on amd64)
// writes exactly the samples of the portable Go one, on blocks from DC-only to dense, with
// dequantized coefficients up to 2^15 (8-bit JPEGs stay under 2^12; libjpeg-turbo keeps them in
// 16 bits), so far beyond what clamping needs. Past that, int32 overflows, and the Go version's
// shortcuts for zero columns and rows would differ from the full transform both compute.
func TestIDCT8MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		nonzero int   // coefficients set, in zigzag order
		coefMax int32 // |coefficient| bound
		qMax    int32 // quantizer bound
	}{
		{"dc only", 1, 2047, 16},
		{"low frequencies", 6, 100, 40},
		{"half", 32, 60, 30},
		{"dense", 64, 30, 20},
		{"dense, large", 64, 1024, 16},
		{"saturating", 64, 2047, 16},
		{"coarse quantizers", 64, 127, 255},
	}
	const stride = 13
	for _, c := range cases {
		for trial := range 200 {
			var coef, q [64]int32
			for k := range 64 {
				q[k] = 1 + rng.Int32N(c.qMax)
			}
			for k := range c.nonzero {
				coef[zigzag[k]] = rng.Int32N(2*c.coefMax+1) - c.coefMax
			}
			want := make([]uint8, 8*stride)
			got := make([]uint8, 8*stride)
			for i := range got {
				want[i], got[i] = uint8(i), uint8(i) // bytes outside the block stay
			}
			idct8Go(&coef, &q, want, stride)
			idct8(&coef, &q, got, stride)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, trial %d: got\n%v\nwant\n%v", c.name, trial, got, want)
			}
		}
	}
}

// reducedReference is the n x n inverse DCT of idctReduced written as the basis sums it stands
// for, with the basis values computed here (rounded to reducedBits).
func reducedReference(coef, q *[64]int32, dst []uint8, stride, n int) {
	basis := func(x, u int) int64 { // C(u) cos((2x+1)uπ/2n) / 2
		c := math.Cos(float64((2*x+1)*u) * math.Pi / float64(2*n))
		if u == 0 {
			c /= math.Sqrt2
		}
		return int64(math.Round(c / 2 * (1 << reducedBits)))
	}
	for y := range n {
		for x := range n {
			var s int64
			for v := range n {
				for u := range n {
					s += basis(y, v) * basis(x, u) * int64(coef[v*8+u]*q[v*8+u])
				}
			}
			dst[y*stride+x] = reducedSample(s)
		}
	}
}

// TestReducedIDCTMatchesBasisSums: the even/odd factorized 4x4 and 2x2 inverse DCTs give
// exactly the samples of the plain basis sums.
func TestReducedIDCTMatchesBasisSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{4, 2} {
		for trial := range 500 {
			var coef, q [64]int32
			for k := range 64 {
				q[k] = 1 + rng.Int32N(40)
				coef[k] = rng.Int32N(121) - 60
			}
			const stride = 6
			want, got := make([]uint8, n*stride), make([]uint8, n*stride)
			reducedReference(&coef, &q, want, stride, n)
			idctReduced(n)(&coef, &q, got, stride)
			if !bytes.Equal(got, want) {
				t.Fatalf("%dx%d, trial %d: got %v, want %v", n, n, trial, got, want)
			}
		}
	}
}
