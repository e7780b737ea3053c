package spec_test

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/spec"
)

func ExampleLoad() {
	e, err := spec.Load("testdata/classification_spec.cfg")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Validate(spec.Train); err != nil {
		fmt.Println(err)
		return
	}
	c, h, w := e.InputSize()
	fmt.Println(e.Arch(), e.NLayers(), c, h, w, e.PreprocessMode(), e.ImageMean())
	fmt.Println(e.LRSchedule())
	// Output:
	// resnet 18 3 224 224 caffe [103.939 116.779 123.68]
	// step: lr = 0.006 * 0.1^(progress / 10%), decaying smoothly (TAO does not floor the exponent)
}

func ExampleParse_misspelledField() {
	_, err := spec.Parse("exp.cfg", []byte("model_config {\n  arch: \"resnet\"\n  n_layer: 18\n}\n"))
	fmt.Println(err)
	// Output:
	// exp.cfg:3:3: unknown field "n_layer" in model_config; did you mean "n_layers"?
}

func ExampleExperiment_Validate() {
	e, _ := spec.Parse("exp.cfg", []byte(`model_config { arch: "resnet" input_image_size: "3,224,224" }
train_config {
  train_dataset_path: "data/train"
  n_epochs: 0
}`))
	fmt.Println(e.Validate(spec.Train))
	// Output:
	// exp.cfg:2:1: train_config.val_dataset_path: must be set
	// exp.cfg:2:1: train_config.batch_size_per_gpu: must be set to a value > 0
	// exp.cfg:2:1: train_config.n_workers: must be set to a value > 0
	// exp.cfg:2:1: train_config.preprocess_mode: must be set; one of tf, caffe, torch
	// exp.cfg:2:1: train_config.optimizer: missing; train needs it
	// exp.cfg:2:1: train_config.reg_config: missing; train needs it
	// exp.cfg:2:1: train_config.lr_config: missing; train needs it
	// exp.cfg:4:3: train_config.n_epochs: must be set to a value > 0
}
