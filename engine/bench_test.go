package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// benchModel builds a ResNet-18 at 64x64 (batch 16) on the pure-Go backend.
func benchModel(b *testing.B) (*Model, *model.Tensor, *model.Tensor) {
	e, err := Open("go")
	if err != nil {
		b.Fatal(err)
	}
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 64, 64}, NumClasses: 10,
		UseBatchNorm: true, UsePooling: true})
	if err != nil {
		b.Fatal(err)
	}
	m, err := e.NewModel(g, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := model.NewTensor(16, 64, 64, 3)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	y := model.NewTensor(16, 10)
	for i := range 16 {
		y.Data[i*10+i%10] = 1
	}
	return m, x, y
}

func BenchmarkResNet18TrainStep(b *testing.B) {
	m, x, y := benchModel(b)
	tr, err := m.NewTrainer(TrainConfig{Optimizer: "sgd", Momentum: 0.9})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := tr.Step(x, y, 0.01); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResNet18Predict(b *testing.B) {
	m, x, _ := benchModel(b)
	for b.Loop() {
		if _, err := m.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
}
