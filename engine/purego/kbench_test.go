package purego

import (
	"testing"
	"time"
)

func BenchmarkKernelOnly(b *testing.B) {
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
