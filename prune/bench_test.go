package prune

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// BenchmarkPredictModelFiles measures in-memory inference throughput (batch 32, pure-Go
// backend) of the model files listed in $BONSAI_BENCH_MODELS (comma-separated), e.g. a model
// and its pruned versions:
//
//	BONSAI_BENCH_MODELS=base.safetensors,pruned.safetensors go test ./prune -run - -bench PredictModelFiles
func BenchmarkPredictModelFiles(b *testing.B) {
	list := os.Getenv("BONSAI_BENCH_MODELS")
	if list == "" {
		b.Skip("set BONSAI_BENCH_MODELS to comma-separated model files")
	}
	eng, err := engine.Open("go")
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range strings.Split(list, ",") {
		b.Run(filepath.Base(path), func(b *testing.B) {
			mf, err := modelfile.Load(path, os.Getenv("BONSAI_BENCH_KEY"))
			if err != nil {
				b.Fatal(err)
			}
			m, err := eng.NewModel(mf.Graph, mf.Weights, 1)
			if err != nil {
				b.Fatal(err)
			}
			x := images(mf.Graph, engine.PredictBatch, 1)
			if _, err := m.Predict(x); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := m.Predict(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*engine.PredictBatch)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
