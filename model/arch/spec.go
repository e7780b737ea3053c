package arch

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/spec"
)

// FromSpec turns a loaded spec's model_config into a Config for numClasses classes (TAO counts
// them from the training folder). n_layers 0 is left to Build, which picks the family's default
// (18 for resnet, as TAO; 16 for vgg, where TAO would fail on 18).
func FromSpec(e *spec.Experiment, numClasses int) (Config, error) {
	mc := e.Proto.GetModelConfig()
	if mc == nil {
		return Config{}, fmt.Errorf("%s: no model_config", e.Path)
	}
	c, h, w := e.InputSize()
	act, params := e.Activation()
	cfg := Config{
		Arch:             mc.GetArch(),
		NLayers:          int(mc.GetNLayers()),
		InputSize:        [3]int{c, h, w},
		NumClasses:       numClasses,
		UseBatchNorm:     mc.GetUseBatchNorm(),
		UseBias:          mc.GetUseBias(),
		UsePooling:       mc.GetUsePooling(),
		AllProjections:   mc.GetAllProjections(),
		FreezeBN:         mc.GetFreezeBn(),
		FreezeBlocks:     e.FreezeBlocks(),
		Dropout:          mc.GetDropout(),
		RetainHead:       mc.GetRetainHead(),
		Activation:       act,
		BNMomentum:       float32(e.BNMomentum()),
		BNEpsilon:        float32(e.BNEpsilon()),
		ActivationParams: map[string]float32{},
		WidthMultiplier:  mc.GetWidthMultiplier(),
		Padding:          mc.GetPaddingMode(),
	}
	for k, v := range params {
		cfg.ActivationParams[k] = float32(v)
	}
	return cfg, nil
}

// BuildFromSpec is FromSpec followed by Build, with the spec file named in errors.
func BuildFromSpec(e *spec.Experiment, numClasses int) (*model.Graph, error) {
	cfg, err := FromSpec(e, numClasses)
	if err != nil {
		return nil, err
	}
	g, err := Build(cfg)
	if err != nil {
		return nil, &spec.Error{File: e.Path, Field: "model_config", Msg: err.Error()}
	}
	return g, nil
}
