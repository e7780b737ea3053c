package purego

import (
	"math"
	"runtime"
)

// Batch normalization kernels. x is viewed as [outer, c, inner] with the
// feature axis in the middle (inner == 1 for channels-last layouts).
// Per-feature sums are accumulated in float64.

type bnLayout struct{ outer, c, inner int }

// channelSums returns, per feature, Σ f(i, ch) over all positions, for the
// functions fs, computed in parallel over the outer axis.
func (l bnLayout) channelSums(fs ...func(i, ch int) float64) [][]float64 {
	workers := max(1, min(runtime.GOMAXPROCS(0), l.outer))
	partial := make([][][]float64, workers)
	chunk := (l.outer + workers - 1) / workers
	for w := range workers {
		partial[w] = make([][]float64, len(fs))
		for j := range fs {
			partial[w][j] = make([]float64, l.c)
		}
	}
	parallelFor(workers, func(w int) {
		for o := w * chunk; o < min(l.outer, (w+1)*chunk); o++ {
			for ch := range l.c {
				base := (o*l.c + ch) * l.inner
				for j, f := range fs {
					var s float64
					for i := base; i < base+l.inner; i++ {
						s += f(i, ch)
					}
					partial[w][j][ch] += s
				}
			}
		}
	})
	for w := 1; w < workers; w++ {
		for j := range fs {
			for ch := range l.c {
				partial[0][j][ch] += partial[w][j][ch]
			}
		}
	}
	return partial[0]
}

// rowSums is channelSums for inner == 1 (channels last): f adds row o's
// contributions to acc (one float64 slice of c values per sum).
func (l bnLayout) rowSums(numSums int, f func(o int, acc [][]float64)) [][]float64 {
	workers := max(1, min(runtime.GOMAXPROCS(0), l.outer))
	partial := make([][][]float64, workers)
	chunk := (l.outer + workers - 1) / workers
	for w := range workers {
		partial[w] = make([][]float64, numSums)
		for j := range numSums {
			partial[w][j] = make([]float64, l.c)
		}
	}
	parallelFor(workers, func(w int) {
		for o := w * chunk; o < min(l.outer, (w+1)*chunk); o++ {
			f(o, partial[w])
		}
	})
	for w := 1; w < workers; w++ {
		for j := range numSums {
			for ch := range l.c {
				partial[0][j][ch] += partial[w][j][ch]
			}
		}
	}
	return partial[0]
}

// bnStats writes the batch mean (stats[:c]) and biased variance (stats[c:]).
func bnStats[T float](x []T, l bnLayout, stats []T) {
	var sums [][]float64
	if l.inner == 1 {
		sums = l.rowSums(2, func(o int, acc [][]float64) {
			row := x[o*l.c : (o+1)*l.c]
			bnSumsRow(row, row, acc[0][:l.c], acc[1][:l.c])
		})
	} else {
		sums = l.channelSums(
			func(i, _ int) float64 { return float64(x[i]) },
			func(i, _ int) float64 { return float64(x[i]) * float64(x[i]) })
	}
	n := float64(l.outer * l.inner)
	for ch := range l.c {
		mean := sums[0][ch] / n
		stats[ch] = T(mean)
		stats[l.c+ch] = T(max(0, sums[1][ch]/n-mean*mean))
	}
}

// bnApply writes out = (x - mean) * scale / sqrt(variance + eps) + offset.
func bnApply[T float](x, scale, offset, mean, variance []T, eps float64, l bnLayout, out []T) {
	factor, shift := make([]T, l.c), make([]T, l.c)
	for ch := range l.c {
		f := float64(scale[ch]) / math.Sqrt(float64(variance[ch])+eps)
		factor[ch] = T(f)
		shift[ch] = T(float64(offset[ch]) - float64(mean[ch])*f)
	}
	parallelRows(l.outer, func(start, end int) {
		for o := start; o < end; o++ {
			if l.inner == 1 {
				bnAffineRow(out[o*l.c:(o+1)*l.c], x[o*l.c:(o+1)*l.c], factor, shift)
				continue
			}
			for ch := range l.c {
				base := (o*l.c + ch) * l.inner
				f, s := factor[ch], shift[ch]
				for i := base; i < base+l.inner; i++ {
					out[i] = x[i]*f + s
				}
			}
		}
	})
}

// bnGradSums writes Σ dy (sums[:c]) and Σ dy·x̂ (sums[c:]) per feature.
func bnGradSums[T float](x, mean, variance, dy []T, eps float64, l bnLayout, sums []T) {
	invStd := make([]float64, l.c)
	for ch := range l.c {
		invStd[ch] = 1 / math.Sqrt(float64(variance[ch])+eps)
	}
	var s [][]float64
	if l.inner == 1 {
		// Σ dy·x̂ = invStd·(Σ dy·x − mean·Σ dy), from sums of dy and dy·x.
		s = l.rowSums(2, func(o int, acc [][]float64) {
			bnSumsRow(x[o*l.c:(o+1)*l.c], dy[o*l.c:(o+1)*l.c], acc[0][:l.c], acc[1][:l.c])
		})
		for ch := range l.c {
			s[1][ch] = invStd[ch] * (s[1][ch] - float64(mean[ch])*s[0][ch])
		}
	} else {
		s = l.channelSums(
			func(i, _ int) float64 { return float64(dy[i]) },
			func(i, ch int) float64 { return float64(dy[i]) * (float64(x[i]) - float64(mean[ch])) * invStd[ch] })
	}
	for ch := range l.c {
		sums[ch], sums[l.c+ch] = T(s[0][ch]), T(s[1][ch])
	}
}

// bnGradInput writes dx = scale·invStd·(dy - mean(dy) - x̂·mean(dy·x̂)).
func bnGradInput[T float](x, scale, mean, variance, dy, sums []T, eps float64, l bnLayout, dx []T) {
	n := float64(l.outer * l.inner)
	// dx = a·dy + b·x + c per feature.
	a, b, c := make([]T, l.c), make([]T, l.c), make([]T, l.c)
	for ch := range l.c {
		invStd := 1 / math.Sqrt(float64(variance[ch])+eps)
		k := float64(scale[ch]) * invStd
		meanDy, meanDyXHat := float64(sums[ch])/n, float64(sums[l.c+ch])/n
		// x̂ = (x - mean)·invStd
		a[ch] = T(k)
		b[ch] = T(-k * meanDyXHat * invStd)
		c[ch] = T(-k*meanDy + k*meanDyXHat*invStd*float64(mean[ch]))
	}
	parallelRows(l.outer, func(start, end int) {
		for o := start; o < end; o++ {
			if l.inner == 1 {
				bnGradInputRow(dx[o*l.c:(o+1)*l.c], dy[o*l.c:(o+1)*l.c], x[o*l.c:(o+1)*l.c], a, b, c)
				continue
			}
			for ch := range l.c {
				base := (o*l.c + ch) * l.inner
				ac, bc, cc := a[ch], b[ch], c[ch]
				for i := base; i < base+l.inner; i++ {
					dx[i] = ac*dy[i] + bc*x[i] + cc
				}
			}
		}
	})
}

func bnSumsRowGo[T float](x, y []T, s1, s2 []float64) {
	x, s1, s2 = x[:len(y)], s1[:len(y)], s2[:len(y)]
	for i, v := range y {
		s1[i] += float64(v)
		s2[i] += float64(x[i]) * float64(v)
	}
}

func bnAffineRowGo[T float](dst, x, f, s []T) {
	x, f, s = x[:len(dst)], f[:len(dst)], s[:len(dst)]
	for i, v := range x {
		dst[i] = v*f[i] + s[i]
	}
}

func bnGradInputRowGo[T float](dst, dy, x, a, b, c []T) {
	dy, x, a, b, c = dy[:len(dst)], x[:len(dst)], a[:len(dst)], b[:len(dst)], c[:len(dst)]
	for i := range dst {
		dst[i] = a[i]*dy[i] + b[i]*x[i] + c[i]
	}
}
