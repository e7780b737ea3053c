package train

import (
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/spec"
)

// TrainConfigFromSpec maps train_config's optimizer, reg_config, label_smoothing,
// batch_size_per_gpu, random_seed and precision to the engine's training configuration.
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
		Precision:      e.Precision(),
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

// TrainLoaderOptions returns the training loader options of train_config: random crop,
// color augmentation, flip and mixup, shuffled, seeded by random_seed.
func TrainLoaderOptions(e *spec.Experiment) loader.Options {
	tc := e.Proto.GetTrainConfig()
	o := evaluate.LoaderOptions(modelfile.PreprocessingFromSpec(e), false, int(tc.GetBatchSizePerGpu()), int(tc.GetNWorkers()))
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
	return evaluate.LoaderOptions(modelfile.PreprocessingFromSpec(e), tc.GetEnableCenterCrop(), int(tc.GetBatchSizePerGpu()), int(tc.GetNWorkers()))
}
