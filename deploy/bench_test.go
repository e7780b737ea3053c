package deploy

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/internal/exporttest"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/quant"
)

// BenchmarkInferenceBonsaiVsOnnxRuntime measures CPU inference images/second of one model in
// one sitting, interleaved: Bonsai's own engine (the backend $BONSAI_BACKEND or auto picks),
// ONNX Runtime on the FP32 export and on the INT8 QDQ export, from images already in memory,
// batch 32. Models: the demo's ResNet-10 (1x28x28, all projections) and a ResNet-18 at 3x224x224.
// Weights are random (speed does not depend on them); INT8 is calibrated on Fashion-MNIST
// pictures. Run: go test ./deploy -run '^$' -bench BonsaiVsOnnxRuntime -benchtime 1x
func BenchmarkInferenceBonsaiVsOnnxRuntime(b *testing.B) {
	rt := onnxtools.Require(b)
	for _, c := range []struct {
		name string
		cfg  arch.Config
	}{
		{"resnet10_1x28x28", arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{1, 28, 28}, AllProjections: true, NumClasses: 10}},
		{"resnet18_3x224x224", arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 5}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.cfg.UseBatchNorm = true
			for range b.N {
				benchModel(b, rt, c.cfg)
			}
		})
	}
}

// benchModel exports one model (FP32 and INT8) and reports the three rates.
func benchModel(b *testing.B, rt *onnxtools.Runtime, cfg arch.Config) {
	eng := exporttest.OpenEngine(b)
	g, err := arch.Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	w := exporttest.RandomWeights(b, eng, g, 1)
	x := exporttest.FashionImages(b, 64, cfg.InputSize[0], cfg.InputSize[1], cfg.InputSize[2])
	dir := b.TempDir()
	fp32, int8 := filepath.Join(dir, "m.onnx"), filepath.Join(dir, "m.qdq.onnx")
	ex, err := onnx.Export(g, w, onnx.Options{Opset: 13})
	if err != nil {
		b.Fatal(err)
	}
	m, err := eng.NewModel(g, w, 0)
	if err != nil {
		b.Fatal(err)
	}
	amax, err := quant.Calibrate(m, ex.Tensors, func(yield func(*model.Tensor) error) error { return yield(x) }, quant.Options{})
	if err != nil {
		b.Fatal(err)
	}
	q, err := quant.QDQ(ex.Model, amax)
	if err != nil {
		b.Fatal(err)
	}
	if err := onnx.WriteFile(fp32, ex.Model); err != nil {
		b.Fatal(err)
	}
	if err := onnx.WriteFile(int8, q); err != nil {
		b.Fatal(err)
	}
	m.SetPredictBatch(32)
	bonsai := bonsaiRate(b, m, x)
	nchw := onnx.NCHW(x)
	rates := map[string]float64{"bonsai_img/s": bonsai}
	for name, path := range map[string]string{"ort_fp32_img/s": fp32, "ort_int8_img/s": int8} {
		res, err := rt.Run(path, nchw, onnxtools.Options{Batch: 32, BenchSeconds: 5})
		if err != nil {
			b.Fatal(err)
		}
		rates[name] = res.ImagesPerSecond
	}
	for k, v := range rates {
		b.ReportMetric(v, k)
	}
	b.Logf("%s %s: Bonsai (%s) %.1f img/s, ONNX Runtime FP32 %.1f img/s, INT8 QDQ %.1f img/s",
		g.Arch, fmt.Sprint(cfg.InputSize), eng.Name, bonsai, rates["ort_fp32_img/s"], rates["ort_int8_img/s"])
}

// bonsaiRate is Bonsai's inference rate on x after one untimed (compiling) pass, over at least
// five seconds.
func bonsaiRate(b *testing.B, m interface {
	Predict(*model.Tensor) (*model.Tensor, error)
}, x *model.Tensor) float64 {
	if _, err := m.Predict(x); err != nil {
		b.Fatal(err)
	}
	start, images := time.Now(), 0
	for time.Since(start) < 5*time.Second {
		if _, err := m.Predict(x); err != nil {
			b.Fatal(err)
		}
		images += x.Shape[0]
	}
	return float64(images) / time.Since(start).Seconds()
}
