package train

import (
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/spec"
)

// TestDefaultResNet18RunFolderUnder2GB: with the default checkpoint interval, the checkpoints
// of TAO's usual 80-epoch ResNet-18 (224x224, 1000 classes, SGD with momentum) take under
// 2 GB: epoch files and best hold weights only, last alone keeps the optimizer state. (Every
// epoch file with optimizer state, as before, took 7.4 GB.)
func TestDefaultResNet18RunFolderUnder2GB(t *testing.T) {
	e, err := spec.Parse("s.cfg", []byte("train_config { n_epochs: 80 }"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224}, NumClasses: 1000, UseBatchNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	w, opt := model.Weights{}, map[string]*model.Tensor{}
	for _, k := range keys {
		w[k] = model.NewTensor(params[k].Shape...)
		if params[k].Trainable {
			opt[k+"/momentum"] = w[k]
		}
	}
	size := func(f *modelfile.File) int64 {
		b, err := modelfile.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(b))
	}
	weightsOnly := size(&modelfile.File{Graph: g, Weights: w})
	withOptimizer := size(&modelfile.File{Graph: g, Weights: w, Optimizer: opt})
	interval := e.CheckpointInterval()
	var total int64
	files := 0
	for epoch := 1; epoch <= 80; epoch++ {
		if isCheckpointEpoch(epoch, 80, interval) {
			total += weightsOnly
			files++
		}
	}
	total += weightsOnly + withOptimizer // best and last
	if total >= 2<<30 {
		t.Errorf("%d epoch files (interval %d) + best + last = %.2f GB, want under 2 GB", files, interval, float64(total)/(1<<30))
	}
	t.Logf("%d epoch files of %d MB, last %d MB: %.2f GB", files, weightsOnly>>20, withOptimizer>>20, float64(total)/(1<<30))
}
