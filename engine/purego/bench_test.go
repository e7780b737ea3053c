package purego

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Benchmarks (run by hand, on a quiet machine):
//
//	go test ./engine/purego -run '^$' -bench 'ResNet18Train$|ResNet18Inference$|Conv3x3Lowered' -benchtime 8x
//	go test ./engine/purego -run '^$' -bench 'ResNet18InferenceDirectConv$|Conv3x3Direct' -benchtime 2x
//
// ResNet-18 figures are images/second at 64x64, batch 16, NHWC, float32, from
// data in memory; "compile-s" is the time of the first step (graph building,
// compilation, variable initialization and the first run); "img/cpu-s" counts
// images per second of process CPU time, which varies less than wall time on
// a shared machine. The DirectConv variant keeps SimpleGo's own convolution
// (everything else identical), the baseline for the lowering.

// benchConv3x3 measures a 3x3 stride-1 same-padded convolution
// [4, 32, 32, 64] -> 64 in float32, and reports GFLOP/s.
func benchConv3x3(b *testing.B, config string) {
	const n, hw, c = 4, 32, 64
	backend := newBackend(b, config)
	rng := rand.New(rand.NewPCG(1, 2))
	x := float32Tensor(rng, n, hw, hw, c)
	k := float32Tensor(rng, 3, 3, c, c)
	exec := MustNewExec(backend, func(x, k *Node) *Node {
		return Convolve(x, k).PadSame().Done()
	})
	defer exec.Finalize()
	exec.MustExec(x, k) // compile and warm up
	b.ResetTimer()
	start, cpu := time.Now(), cputime.Used()
	for range b.N {
		exec.MustExec(x, k)[0].FinalizeAll()
	}
	flops := 2.0 * n * hw * hw * c * c * 9 * float64(b.N)
	b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/(cputime.Used()-cpu).Seconds()/1e9, "GFLOP/cpu-s")
}

func BenchmarkConv3x3Lowered(b *testing.B) { benchConv3x3(b, "") }
func BenchmarkConv3x3Direct(b *testing.B)  { benchConv3x3(b, "conv=direct") }

func float32Tensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	flat := make([]float32, n)
	for i := range flat {
		flat[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(flat, dims...)
}

const benchBatch, benchSize = 16, 64

// BenchmarkResNet18Train measures SGD training steps of ResNet-18.
func BenchmarkResNet18Train(b *testing.B) {
	trainer := newResNetTrainer(b, "", resnet18, 0.01)
	images, labels := randomBatch(1, benchBatch, benchSize, resnet18.classes)
	step := func() {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{images}, []*tensors.Tensor{labels}); err != nil {
			b.Fatal(err)
		}
	}
	timeSteps(b, step)
}

// BenchmarkResNet18Inference measures ResNet-18 inference (batch norm with
// moving averages) on the lowered convolution.
func BenchmarkResNet18Inference(b *testing.B) { benchInference(b, "") }

// BenchmarkResNet18InferenceDirectConv is the same with SimpleGo's direct
// convolution, the baseline for the lowering.
func BenchmarkResNet18InferenceDirectConv(b *testing.B) { benchInference(b, "conv=direct") }

func benchInference(b *testing.B, config string) {
	backend := newBackend(b, config)
	exec := newInferenceExec(b, backend, resnet18)
	images, _ := randomBatch(1, benchBatch, benchSize, resnet18.classes)
	timeSteps(b, func() { exec.MustExec(images)[0].FinalizeAll() })
}

func newInferenceExec(b *testing.B, backend backends.Backend, rc resnetConfig) *context.Exec {
	ctx := context.New()
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node { return rc.model(ctx, x) })
	if err != nil {
		b.Fatal(err)
	}
	return exec
}

// timeSteps runs step once untimed (reporting its duration as compile-s),
// then b.N times, reporting images per second.
func timeSteps(b *testing.B, step func()) {
	start := time.Now()
	step()
	compile := time.Since(start)
	b.ResetTimer() // (also drops reported metrics: report compile-s below)
	start, cpu := time.Now(), cputime.Used()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(benchBatch*b.N)/time.Since(start).Seconds(), "img/s")
	// Images per CPU-second: less sensitive to other load on a shared machine.
	b.ReportMetric(float64(benchBatch*b.N)/(cputime.Used()-cpu).Seconds(), "img/cpu-s")
	b.ReportMetric(compile.Seconds(), "compile-s")
}
