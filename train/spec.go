package train

import (
	"runtime"
	"strings"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/spec"
)

// CacheBytes caps the loader's cache of decoded images (per loader).
const CacheBytes = 1 << 30

// TrainConfigFromSpec maps train_config's optimizer, reg_config, label_smoothing,
// batch_size_per_gpu and random_seed to the engine's training configuration.
func TrainConfigFromSpec(e *spec.Experiment) engine.TrainConfig {
	o := e.Optimizer()
	r := e.Regularizer()
	tc := e.Proto.GetTrainConfig()
	cfg := engine.TrainConfig{
		Optimizer: o.Kind, Momentum: o.Momentum, Nesterov: o.Nesterov,
		Beta1: o.Beta1, Beta2: o.Beta2, Epsilon: o.Epsilon, Rho: o.Rho, Decay: o.Decay,
		RegType: r.Type, WeightDecay: r.WeightDecay, BNRegType: r.BNType, BNWeightDecay: r.BNWeightDecay,
		LabelSmoothing: float64(tc.GetLabelSmoothing()),
		BatchSize:      int(tc.GetBatchSizePerGpu()),
		Seed:           int64(tc.GetRandomSeed()),
	}
	if cfg.BNRegType == "" {
		cfg.BNRegType = r.Type
	}
	if r.Conv2D { // TAO matches the exact Keras type: depthwise kernels are not penalised
		cfg.RegScope = append(cfg.RegScope, "Conv2D")
	}
	if r.Dense {
		cfg.RegScope = append(cfg.RegScope, "Dense")
	}
	return cfg
}

// ScheduleFromSpec returns lr_config's schedule with the base learning rate multiplied by
// the number of devices, as TAO does.
func ScheduleFromSpec(e *spec.Experiment, devices int) Schedule {
	s := e.LRSchedule()
	return Schedule{
		Kind: s.Kind, LearningRate: s.BaseLR * float64(max(devices, 1)),
		StepSize: float64(s.StepSize), Gamma: s.Gamma,
		SoftStart: s.SoftStart, StartLR: s.StartLR, AnnealingPoints: s.AnnealingPoints,
		AnnealingDivider: s.AnnealingDivider, MinLRRatio: s.MinLRRatio,
	}
}

// PreprocessingFromSpec is what a model file records about turning images into inputs:
// preprocess_mode, image_mean, torch mode's std (always written, so that the file says which
// std it was trained with), input size, interpolation and eval_config's center crop.
func PreprocessingFromSpec(e *spec.Experiment) modelfile.Preprocessing {
	c, h, w := e.InputSize()
	return modelfile.Preprocessing{
		Mode:          e.PreprocessMode(),
		ImageMean:     e.Proto.GetTrainConfig().GetImageMean(),
		ImageStd:      e.ImageStd(),
		InputSize:     [3]int{c, h, w},
		Interpolation: strings.ToLower(e.Interpolation().String()),
		CenterCrop:    e.Proto.GetEvalConfig().GetEnableCenterCrop(),
	}
}

// EvalLoaderOptions returns loader options for evaluation or inference from preprocessing
// facts: no augmentation, no shuffle, the given crop and batch size.
func EvalLoaderOptions(p modelfile.Preprocessing, centerCrop bool, batch, workers int) loader.Options {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	return loader.Options{
		Height: p.InputSize[1], Width: p.InputSize[2], Channels: p.InputSize[0],
		Interpolation: p.Interpolation, PreprocessMode: p.Mode, ImageMean: p.ImageMean, ImageStd: p.ImageStd,
		CenterCrop: centerCrop, BatchSize: max(batch, 1), Workers: workers,
		Cache: true, CacheMaxBytes: CacheBytes,
	}
}

// TrainLoaderOptions returns the training loader options of train_config: random crop,
// color augmentation, flip and mixup, shuffled, seeded by random_seed.
func TrainLoaderOptions(e *spec.Experiment) loader.Options {
	tc := e.Proto.GetTrainConfig()
	o := EvalLoaderOptions(PreprocessingFromSpec(e), false, int(tc.GetBatchSizePerGpu()), int(tc.GetNWorkers()))
	o.RandomCrop = tc.GetEnableRandomCrop()
	o.ColorAugmentation = tc.GetEnableColorAugmentation()
	o.HorizontalFlip = e.HorizontalFlip()
	o.MixupAlpha = float64(tc.GetMixupAlpha())
	o.Seed = int64(tc.GetRandomSeed())
	o.Shuffle = true
	return o
}

// ValLoaderOptions returns the validation loader options of train_config (center crop when
// enable_center_crop is set).
func ValLoaderOptions(e *spec.Experiment) loader.Options {
	tc := e.Proto.GetTrainConfig()
	return EvalLoaderOptions(PreprocessingFromSpec(e), tc.GetEnableCenterCrop(), int(tc.GetBatchSizePerGpu()), int(tc.GetNWorkers()))
}
