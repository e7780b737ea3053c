package purego

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/bonsai-ml/bonsai/internal/testutil"
)

func naiveMatMul(a, b []float64, m, k, n int) []float64 {
	c := make([]float64, m*n)
	for i := range m {
		for p := range k {
			for j := range n {
				c[i*n+j] += a[i*k+p] * b[p*n+j]
			}
		}
	}
	return c
}

// TestMatMulMatchesNaive covers edge tiles and every blocking level, in
// float64 (portable kernel) and float32 (the fast kernel where available).
func TestMatMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, dims := range [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 5}, {13, 300, 33}, {100, 40, 530}, {50, 600, 200}, {200, 520, 20}, {500, 70, 300}} {
		m, k, n := dims[0], dims[1], dims[2]
		a, b := make([]float64, m*k), make([]float64, k*n)
		for i := range a {
			a[i] = rng.Float64()*2 - 1
		}
		for i := range b {
			b[i] = rng.Float64()*2 - 1
		}
		want := naiveMatMul(a, b, m, k, n)
		got := make([]float64, m*n)
		for i := range got {
			got[i] = math.NaN() // must be overwritten
		}
		matMul(a, b, got, m, k, n, false)
		testutil.AssertClose(t, "float64 matMul", got, want, 1e-12)
		matMul(transpose2D(a, m, k), b, got, m, k, n, true)
		testutil.AssertClose(t, "float64 matMul transA", got, want, 1e-12)
		// B stored transposed, rows listed backwards in pairs of blocks.
		bt := transpose2D(b, k, n)
		rowOffsets := make([]int, k)
		for p := range rowOffsets {
			rowOffsets[p] = p
		}
		matMulB(a, bt, got, m, k, n, false, &bLayout{rowOffsets: rowOffsets, colStride: k})
		testutil.AssertClose(t, "float64 matMul strided B", got, want, 1e-12)

		a32, b32, c32 := make([]float32, len(a)), make([]float32, len(b)), make([]float32, m*n)
		for i, v := range a {
			a32[i] = float32(v)
		}
		for i, v := range b {
			b32[i] = float32(v)
		}
		at32 := make([]float32, len(a))
		for i, v := range transpose2D(a, m, k) {
			at32[i] = float32(v)
		}
		// float32 B stored transposed, its rows rotated (two runs of
		// consecutive offsets, as the taps of a reversed kernel): transpose8.
		rowOffsets = make([]int, k)
		bPermuted := make([]float64, len(b))
		for p := range rowOffsets {
			rowOffsets[p] = (p + k/3) % k
			copy(bPermuted[p*n:(p+1)*n], b[rowOffsets[p]*n:(rowOffsets[p]+1)*n])
		}
		bt32 := make([]float32, len(bt))
		for i, v := range bt {
			bt32[i] = float32(v)
		}
		matMulB(a32, bt32, c32, m, k, n, false, &bLayout{rowOffsets: rowOffsets, colStride: k})
		got32 := make([]float64, len(c32))
		for i, v := range c32 {
			got32[i] = float64(v)
		}
		testutil.AssertClose(t, "float32 matMul strided B", got32, naiveMatMul(a, bPermuted, m, k, n), 1e-4*math.Sqrt(float64(k)))
		for _, transA := range []bool{false, true} {
			for i := range c32 {
				c32[i] = float32(math.NaN()) // must be overwritten
			}
			if transA {
				matMul(at32, b32, c32, m, k, n, true)
			} else {
				matMul(a32, b32, c32, m, k, n, false)
			}
			got32 := make([]float64, len(c32))
			for i, v := range c32 {
				got32[i] = float64(v)
			}
			testutil.AssertClose(t, "float32 matMul", got32, want, 1e-4*math.Sqrt(float64(k)))
		}
	}
}

func BenchmarkMatMul(b *testing.B) { benchMatMul(b, 4096, 576, 64) }

// benchMatMul times float32 matMul of [m×k] by [k×n] and reports GFLOP/s.
func benchMatMul(b *testing.B, m, k, n int) {
	a, w, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	b.ResetTimer()
	start, cpu := time.Now(), cputime.Used()
	for range b.N {
		matMul(a, w, c, m, k, n, false)
	}
	flops := 2 * float64(m*k*n) * float64(b.N)
	b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/(cputime.Used()-cpu).Seconds()/1e9, "GFLOP/cpu-s")
}

func transpose2D(a []float64, rows, cols int) []float64 {
	t := make([]float64, len(a))
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// TestMicroKernelMatchesGo runs the micro-kernel this build uses for float32 (assembly on amd64
// with AVX2/FMA and on arm64, see MatMulKernel) against the portable Go kernel: row-major and
// packed A, padded B and C rows, adding to C and overwriting it.
func TestMicroKernelMatchesGo(t *testing.T) {
	t.Logf("float32 micro-kernel: %s", MatMulKernel())
	rng := rand.New(rand.NewPCG(10, 10))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for _, k := range []int{1, 2, 7, 64, 257} {
		for _, layout := range []struct{ name, aRow, aDepth int }{{0, k + 3, 1}, {1, 1, mr}} {
			for _, overwrite := range []bool{false, true} {
				a := random(mr * k * (k + 3))
				ldb, ldc := nr+5, nr+3
				b, c := random(k*ldb), random(mr*ldc)
				want := append([]float32(nil), c...)
				goKernel(k, a, layout.aRow, layout.aDepth, b, ldb, want, ldc, overwrite)
				got := append([]float32(nil), c...)
				fastKernel(k, a, layout.aRow, layout.aDepth, b, ldb, got, ldc, overwrite)
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(k) {
						t.Fatalf("k=%d layout %d overwrite %v: c[%d] = %g, Go kernel %g", k, layout.name, overwrite, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkMatMulShapes times the products of ResNet-18's layers at 64 px, batch 16, and a
// wide one.
func BenchmarkMatMulShapes(b *testing.B) {
	for _, s := range [][3]int{{4096, 576, 64}, {64, 4608, 512}, {256, 2304, 256}, {1024, 1152, 128}, {2048, 1024, 512}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) { benchMatMul(b, s[0], s[1], s[2]) })
	}
}

// BenchmarkMicroKernel times the float32 micro-kernel alone on data in L1 (packed or
// row-major A; B rows 16, 64 or 512 floats apart: the last collide in the cache's sets).
func BenchmarkMicroKernel(b *testing.B) {
	if !haveFastKernel {
		b.Skip()
	}
	const k = 256
	for _, cfg := range []struct {
		name         string
		aRow, aDepth int
		ldb          int
	}{{"packedA-ldb16", 1, mr, 16}, {"rowA-ldb64", k, 1, 64}, {"rowA-ldb512", k, 1, 512}} {
		b.Run(cfg.name, func(b *testing.B) {
			a := make([]float32, mr*k*8)
			bb := make([]float32, k*cfg.ldb)
			c := make([]float32, mr*16)
			start := time.Now()
			for range b.N {
				for range 100 {
					fastKernel(k, a, cfg.aRow, cfg.aDepth, bb, cfg.ldb, c, 16, false)
				}
			}
			flops := float64(b.N) * 100 * 2 * mr * 16 * k
			b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}

// Column blocks are balanced when the rows give the workers too little to do.
func TestBalancedColBlock(t *testing.T) {
	for _, c := range []struct{ rowBlocks, n, workers, colBlock, want int }{
		{1, 147, 2, 128, 80},  // 10 panels: 5 + 5
		{1, 288, 2, 128, 80},  // 18 panels: 5 + 5 + 5 + 3 (4 blocks)
		{1, 512, 2, 128, 128}, // 32 panels: 4 blocks of 8
		{1, 64, 2, 128, 32},   // 4 panels: 2 + 2
		{1, 16, 2, 128, 16},   // 1 panel: nothing to split
		{3, 64, 2, 128, 32},   // 3 row blocks: 6 blocks, not 3
		{5, 256, 2, 256, 128}, // whole columns (packed A), 5 row blocks: 10 blocks
		{4, 256, 2, 256, 256}, // 4 row blocks: even already
		{11, 147, 2, 128, 128},
		{1, 147, 1, 128, 128},
	} {
		if got := balancedColBlock(c.rowBlocks, c.n, c.workers, c.colBlock); got != c.want {
			t.Errorf("balancedColBlock(%d, %d, %d, %d) = %d, want %d", c.rowBlocks, c.n, c.workers, c.colBlock, got, c.want)
		}
	}
}
