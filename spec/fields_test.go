package spec

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// fieldCase sets one field and reads back its effective value.
type fieldCase struct {
	path  string                // dotted field path
	value string                // the value as written in both formats
	yaml  string                // YAML value when it differs from value
	get   func(*Experiment) any // effective value
	want  any                   // after setting value
	unset any                   // when the spec is empty (nil: skip)
}

func mc(e *Experiment) *specpb.ModelConfig { return e.Proto.GetModelConfig() }
func tc(e *Experiment) *specpb.TrainConfig { return e.Proto.GetTrainConfig() }
func ec(e *Experiment) *specpb.EvalConfig  { return e.Proto.GetEvalConfig() }
func viz(e *Experiment) *specpb.VisualizerConfig {
	return e.Proto.GetTrainConfig().GetVisualizer()
}

var fieldCases = []fieldCase{
	// top level
	{path: "model_config", value: "{}", get: func(e *Experiment) any { return mc(e) != nil }, want: true, unset: false},
	{path: "train_config", value: "{}", get: func(e *Experiment) any { return tc(e) != nil }, want: true, unset: false},
	{path: "eval_config", value: "{}", get: func(e *Experiment) any { return ec(e) != nil }, want: true, unset: false},

	// model_config
	{path: "model_config.arch", value: `"googlenet"`, get: func(e *Experiment) any { return e.Arch() }, want: "googlenet", unset: ""},
	{path: "model_config.input_image_size", value: `"1, 32,48"`,
		get: func(e *Experiment) any { c, h, w := e.InputSize(); return [3]int{c, h, w} }, want: [3]int{1, 32, 48}, unset: [3]int{}},
	{path: "model_config.resize_interpolation_method", value: "BICUBIC", yaml: "bicubic",
		get: func(e *Experiment) any { return e.Interpolation() }, want: specpb.InterpolationMethod_BICUBIC, unset: specpb.InterpolationMethod_BILINEAR},
	{path: "model_config.n_layers", value: "34", get: func(e *Experiment) any { return e.NLayers() }, want: 34, unset: 18},
	{path: "model_config.retain_head", value: "true", get: func(e *Experiment) any { return mc(e).GetRetainHead() }, want: true, unset: false},
	{path: "model_config.use_batch_norm", value: "true", get: func(e *Experiment) any { return mc(e).GetUseBatchNorm() }, want: true, unset: false},
	{path: "model_config.use_bias", value: "true", get: func(e *Experiment) any { return mc(e).GetUseBias() }, want: true, unset: false},
	{path: "model_config.use_pooling", value: "true", get: func(e *Experiment) any { return mc(e).GetUsePooling() }, want: true, unset: false},
	{path: "model_config.all_projections", value: "true", get: func(e *Experiment) any { return mc(e).GetAllProjections() }, want: true, unset: false},
	{path: "model_config.freeze_bn", value: "true", get: func(e *Experiment) any { return mc(e).GetFreezeBn() }, want: true, unset: false},
	{path: "model_config.freeze_blocks", value: "[3, 0, 3]", get: func(e *Experiment) any { return e.FreezeBlocks() }, want: []int{0, 3}, unset: []int(nil)},
	{path: "model_config.dropout", value: "0.25", get: func(e *Experiment) any { return mc(e).GetDropout() }, want: float32(0.25), unset: float32(0)},
	{path: "model_config.batch_norm_config", value: "{}", get: func(e *Experiment) any { return [2]float64{e.BNMomentum(), e.BNEpsilon()} },
		want: [2]float64{0.9, 1e-5}, unset: [2]float64{0.9, 1e-5}},
	{path: "model_config.batch_norm_config.momentum", value: "0.99", get: func(e *Experiment) any { return e.BNMomentum() }, want: 0.99, unset: 0.9},
	{path: "model_config.batch_norm_config.epsilon", value: "0.001", get: func(e *Experiment) any { return e.BNEpsilon() }, want: 0.001, unset: 1e-5},
	{path: "model_config.activation", value: `{ activation_type: "relu" }`, yaml: "{activation_type: relu}",
		get: func(e *Experiment) any { t, _ := e.Activation(); return t }, want: "relu", unset: ""},
	{path: "model_config.activation.activation_type", value: `"mish"`, get: func(e *Experiment) any { t, _ := e.Activation(); return t }, want: "mish", unset: ""},
	{path: "model_config.activation.activation_parameters", value: `{ key: "alpha" value: 0.1 } activation_type: "leaky_relu"`,
		yaml: "{alpha: 0.1}\n    activation_type: leaky_relu",
		get:  func(e *Experiment) any { _, p := e.Activation(); return p }, want: map[string]float64{"alpha": 0.1}, unset: map[string]float64{}},
	{path: "model_config.width_multiplier", value: "0.35", get: func(e *Experiment) any { return mc(e).GetWidthMultiplier() }, want: float32(0.35), unset: float32(0)},
	{path: "model_config.padding_mode", value: `"tao"`, get: func(e *Experiment) any { return mc(e).GetPaddingMode() }, want: "tao", unset: ""},
	{path: "model_config.byom_model", value: `"m/x.tltb"`, get: func(e *Experiment) any { return e.BYOMModelPath() }, want: "/specs/m/x.tltb", unset: ""},

	// train_config
	{path: "train_config.train_dataset_path", value: `"data/train"`, get: func(e *Experiment) any { return e.TrainDatasetPath() }, want: "/specs/data/train", unset: ""},
	{path: "train_config.val_dataset_path", value: `"/abs/val/"`, get: func(e *Experiment) any { return e.ValDatasetPath() }, want: "/abs/val", unset: ""},
	{path: "train_config.pretrained_model_path", value: `"../w/r18.hdf5"`, get: func(e *Experiment) any { return e.PretrainedModelPath() }, want: "/w/r18.hdf5", unset: ""},
	{path: "train_config.optimizer", value: "{}", get: func(e *Experiment) any { return e.Optimizer().Kind }, want: "", unset: ""},
	{path: "train_config.optimizer.sgd", value: "{}", get: func(e *Experiment) any { return e.Optimizer() }, want: Optimizer{Kind: "sgd"}, unset: Optimizer{}},
	{path: "train_config.optimizer.sgd.lr", value: "0.01", get: func(e *Experiment) any { return e.Optimizer().LR }, want: 0.01, unset: 0.0},
	{path: "train_config.optimizer.sgd.decay", value: "0.0001", get: func(e *Experiment) any { return e.Optimizer().Decay }, want: 0.0001, unset: 0.0},
	{path: "train_config.optimizer.sgd.momentum", value: "0.9", get: func(e *Experiment) any { return e.Optimizer().Momentum }, want: 0.9, unset: 0.0},
	{path: "train_config.optimizer.sgd.nesterov", value: "True", get: func(e *Experiment) any { return e.Optimizer().Nesterov }, want: true, unset: false},
	{path: "train_config.optimizer.adam", value: "{}", get: func(e *Experiment) any { return e.Optimizer() },
		want: Optimizer{Kind: "adam", Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}, unset: Optimizer{}},
	{path: "train_config.optimizer.adam.lr", value: "0.001", get: func(e *Experiment) any { return e.Optimizer().LR }, want: 0.001, unset: 0.0},
	{path: "train_config.optimizer.adam.beta_1", value: "0.8", get: func(e *Experiment) any { return e.Optimizer().Beta1 }, want: 0.8, unset: 0.0},
	{path: "train_config.optimizer.adam.beta_2", value: "0.99", get: func(e *Experiment) any { return e.Optimizer().Beta2 }, want: 0.99, unset: 0.0},
	{path: "train_config.optimizer.adam.epsilon", value: "1e-8", get: func(e *Experiment) any { return e.Optimizer().Epsilon }, want: 1e-8, unset: 0.0},
	{path: "train_config.optimizer.adam.decay", value: "0.5", get: func(e *Experiment) any { return e.Optimizer().Decay }, want: 0.5, unset: 0.0},
	{path: "train_config.optimizer.rmsprop", value: "{}", get: func(e *Experiment) any { return e.Optimizer() },
		want: Optimizer{Kind: "rmsprop", Rho: 0.9, Epsilon: 1e-7}, unset: Optimizer{}},
	{path: "train_config.optimizer.rmsprop.lr", value: "0.002", get: func(e *Experiment) any { return e.Optimizer().LR }, want: 0.002, unset: 0.0},
	{path: "train_config.optimizer.rmsprop.rho", value: "0.95", get: func(e *Experiment) any { return e.Optimizer().Rho }, want: 0.95, unset: 0.0},
	{path: "train_config.optimizer.rmsprop.epsilon", value: "0.01", get: func(e *Experiment) any { return e.Optimizer().Epsilon }, want: 0.01, unset: 0.0},
	{path: "train_config.optimizer.rmsprop.decay", value: "0.3", get: func(e *Experiment) any { return e.Optimizer().Decay }, want: 0.3, unset: 0.0},
	{path: "train_config.batch_size_per_gpu", value: "64", get: func(e *Experiment) any { return tc(e).GetBatchSizePerGpu() }, want: uint32(64), unset: uint32(0)},
	{path: "train_config.n_epochs", value: "80", get: func(e *Experiment) any { return tc(e).GetNEpochs() }, want: uint32(80), unset: uint32(0)},
	{path: "train_config.n_workers", value: "16", get: func(e *Experiment) any { return tc(e).GetNWorkers() }, want: uint32(16), unset: uint32(0)},
	{path: "train_config.reg_config", value: "{}", get: func(e *Experiment) any { return e.Regularizer() }, want: Regularizer{}, unset: Regularizer{}},
	{path: "train_config.reg_config.type", value: `"L2"`, get: func(e *Experiment) any { return e.Regularizer().Type }, want: "l2", unset: ""},
	{path: "train_config.reg_config.scope", value: `"conv2d, Dense"`,
		get: func(e *Experiment) any { r := e.Regularizer(); return [2]bool{r.Conv2D, r.Dense} }, want: [2]bool{true, true}, unset: [2]bool{}},
	{path: "train_config.reg_config.bn_type", value: `"L1"`, get: func(e *Experiment) any { return e.Regularizer().BNType }, want: "l1", unset: ""},
	{path: "train_config.reg_config.bn_weight_decay", value: "0.001", get: func(e *Experiment) any { return e.Regularizer().BNWeightDecay }, want: 1e-3, unset: 0.0},
	{path: "train_config.reg_config.weight_decay", value: "0.00005", get: func(e *Experiment) any { return e.Regularizer().WeightDecay }, want: 5e-5, unset: 0.0},
	{path: "train_config.lr_config", value: "{}", get: func(e *Experiment) any { return e.LRSchedule().Kind }, want: "", unset: ""},
	{path: "train_config.lr_config.step", value: "{}", get: func(e *Experiment) any { return e.LRSchedule().Kind }, want: "step", unset: ""},
	{path: "train_config.lr_config.step.learning_rate", value: "0.006", get: func(e *Experiment) any { return e.LRSchedule().BaseLR }, want: 0.006, unset: 0.0},
	{path: "train_config.lr_config.step.step_size", value: "10", get: func(e *Experiment) any { return e.LRSchedule().StepSize }, want: 10, unset: 0},
	{path: "train_config.lr_config.step.gamma", value: "0.1", get: func(e *Experiment) any { return e.LRSchedule().Gamma }, want: 0.1, unset: 0.0},
	{path: "train_config.lr_config.soft_anneal", value: "{}", get: func(e *Experiment) any { s := e.LRSchedule(); return [2]any{s.Kind, s.StartLR} },
		want: [2]any{"soft_anneal", 3e-4}, unset: [2]any{"", 0.0}},
	{path: "train_config.lr_config.soft_anneal.learning_rate", value: "0.05", get: func(e *Experiment) any { return e.LRSchedule().BaseLR }, want: 0.05, unset: 0.0},
	{path: "train_config.lr_config.soft_anneal.soft_start", value: "0.056", get: func(e *Experiment) any { return e.LRSchedule().SoftStart }, want: 0.056, unset: 0.0},
	{path: "train_config.lr_config.soft_anneal.annealing_divider", value: "10", get: func(e *Experiment) any { return e.LRSchedule().AnnealingDivider }, want: 10.0, unset: 0.0},
	{path: "train_config.lr_config.soft_anneal.annealing_points", value: "[0.3, 0.6, 0.8] annealing_divider: 10", yaml: "[0.3, 0.6, 0.8]\n      annealing_divider: 10",
		get: func(e *Experiment) any { return e.LRSchedule().AnnealingPoints }, want: []float64{0.3, 0.6, 0.8}, unset: []float64(nil)},
	{path: "train_config.lr_config.cosine", value: "{}", get: func(e *Experiment) any { return e.LRSchedule().Kind }, want: "cosine", unset: ""},
	{path: "train_config.lr_config.cosine.learning_rate", value: "0.04", get: func(e *Experiment) any { return e.LRSchedule().BaseLR }, want: 0.04, unset: 0.0},
	{path: "train_config.lr_config.cosine.min_lr_ratio", value: "0.01", get: func(e *Experiment) any { return e.LRSchedule().MinLRRatio }, want: 0.01, unset: 0.0},
	{path: "train_config.lr_config.cosine.soft_start", value: "0.05", get: func(e *Experiment) any { return e.LRSchedule().SoftStart }, want: 0.05, unset: 0.0},
	{path: "train_config.random_seed", value: "42", get: func(e *Experiment) any { return tc(e).GetRandomSeed() }, want: uint32(42), unset: uint32(0)},
	{path: "train_config.enable_random_crop", value: "True", get: func(e *Experiment) any { return tc(e).GetEnableRandomCrop() }, want: true, unset: false},
	{path: "train_config.enable_center_crop", value: "True", get: func(e *Experiment) any { return tc(e).GetEnableCenterCrop() }, want: true, unset: false},
	{path: "train_config.enable_color_augmentation", value: "True", get: func(e *Experiment) any { return tc(e).GetEnableColorAugmentation() }, want: true, unset: false},
	{path: "train_config.label_smoothing", value: "0.1", get: func(e *Experiment) any { return tc(e).GetLabelSmoothing() }, want: float32(0.1), unset: float32(0)},
	{path: "train_config.preprocess_mode", value: `"torch"`, get: func(e *Experiment) any { return e.PreprocessMode() }, want: "torch", unset: ""},
	{path: "train_config.mixup_alpha", value: "0.2", get: func(e *Experiment) any { return tc(e).GetMixupAlpha() }, want: float32(0.2), unset: float32(0)},
	{path: "train_config.model_parallelism", value: "[50, 50]", get: func(e *Experiment) any { return tc(e).GetModelParallelism() }, want: []float32{50, 50}, unset: []float32(nil)},
	{path: "train_config.image_mean", value: `{ key: "l" value: 100 } preprocess_mode: "caffe"`, yaml: "{l: 100}\n  preprocess_mode: caffe",
		get: func(e *Experiment) any { return tc(e).GetImageMean() }, want: map[string]float32{"l": 100}, unset: map[string]float32(nil)},
	{path: "train_config.image_std", value: `{ key: "r" value: 0.229 } image_std { key: "g" value: 0.224 } image_std { key: "b" value: 0.225 } preprocess_mode: "torch"`,
		yaml: "{r: 0.229, g: 0.224, b: 0.225}\n  preprocess_mode: torch",
		get:  func(e *Experiment) any { return e.ImageStd() }, want: map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}, unset: map[string]float32(nil)},
	{path: "train_config.disable_horizontal_flip", value: "true", get: func(e *Experiment) any { return e.HorizontalFlip() }, want: false, unset: true},
	{path: "train_config.distillation", value: `{ teacher_model_path: "t.safetensors" }`, yaml: "{teacher_model_path: t.safetensors}",
		get: func(e *Experiment) any { d := e.Distillation(); return [2]float64{d.Temperature, d.Alpha} }, want: [2]float64{4, 0.5}, unset: [2]float64{4, 0.5}},
	{path: "train_config.distillation.teacher_model_path", value: `"../w/t.safetensors"`, get: func(e *Experiment) any { return e.Distillation().TeacherPath }, want: "/w/t.safetensors", unset: ""},
	{path: "train_config.distillation.temperature", value: `2 teacher_model_path: "t"`, yaml: "2\n    teacher_model_path: t",
		get: func(e *Experiment) any { return e.Distillation().Temperature }, want: 2.0, unset: 4.0},
	{path: "train_config.distillation.alpha", value: `0.9 teacher_model_path: "t"`, yaml: "0.9\n    teacher_model_path: t",
		get: func(e *Experiment) any { return e.Distillation().Alpha }, want: 0.9, unset: 0.5},
	{path: "train_config.checkpoint_interval", value: "5", get: func(e *Experiment) any { return e.CheckpointInterval() }, want: 5, unset: 1},
	{path: "train_config.precision", value: `"bf16"`, get: func(e *Experiment) any { return e.Precision() }, want: "bf16", unset: "fp32"},
	{path: "train_config.sync_bn", value: "true", get: func(e *Experiment) any { return tc(e).GetSyncBn() }, want: true, unset: false},
	{path: "train_config.visualizer", value: "{}", get: func(e *Experiment) any { return viz(e) != nil }, want: true, unset: false},
	{path: "train_config.visualizer.enabled", value: "true", get: func(e *Experiment) any { return viz(e).GetEnabled() }, want: true, unset: false},
	{path: "train_config.visualizer.num_images", value: "5", get: func(e *Experiment) any { return viz(e).GetNumImages() }, want: uint32(5), unset: uint32(0)},
	{path: "train_config.visualizer.weight_histograms", value: "true", get: func(e *Experiment) any { return viz(e).GetWeightHistograms() }, want: true, unset: false},
	{path: "train_config.visualizer.wandb_config", value: "{}", get: func(e *Experiment) any { return viz(e).GetWandbConfig() != nil }, want: true, unset: false},
	{path: "train_config.visualizer.wandb_config.enabled", value: "true", get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetEnabled() }, want: true, unset: false},
	{path: "train_config.visualizer.wandb_config.key", value: `"k"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetKey() }, want: "k", unset: ""},
	{path: "train_config.visualizer.wandb_config.project", value: `"p"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetProject() }, want: "p", unset: ""},
	{path: "train_config.visualizer.wandb_config.entity", value: `"en"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetEntity() }, want: "en", unset: ""},
	{path: "train_config.visualizer.wandb_config.reinit", value: "true", get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetReinit() }, want: true, unset: false},
	{path: "train_config.visualizer.wandb_config.name", value: `"run1"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetName() }, want: "run1", unset: ""},
	{path: "train_config.visualizer.wandb_config.tags", value: `["a", "b"]`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetTags() }, want: []string{"a", "b"}, unset: []string(nil)},
	{path: "train_config.visualizer.wandb_config.wandb_dir", value: `"/tmp/w"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetWandbDir() }, want: "/tmp/w", unset: ""},
	{path: "train_config.visualizer.wandb_config.notes", value: `"n"`, get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetNotes() }, want: "n", unset: ""},
	{path: "train_config.visualizer.wandb_config.mode", value: "OFFLINE", yaml: "offline",
		get: func(e *Experiment) any { return viz(e).GetWandbConfig().GetMode() }, want: specpb.WandBConfig_OFFLINE, unset: specpb.WandBConfig_ONLINE},
	{path: "train_config.visualizer.clearml_config", value: "{}", get: func(e *Experiment) any { return viz(e).GetClearmlConfig() != nil }, want: true, unset: false},
	{path: "train_config.visualizer.clearml_config.project", value: `"p"`, get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetProject() }, want: "p", unset: ""},
	{path: "train_config.visualizer.clearml_config.task", value: `"t"`, get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetTask() }, want: "t", unset: ""},
	{path: "train_config.visualizer.clearml_config.tags", value: `["x"]`, get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetTags() }, want: []string{"x"}, unset: []string(nil)},
	{path: "train_config.visualizer.clearml_config.reuse_last_task_id", value: "true", get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetReuseLastTaskId() }, want: true, unset: false},
	{path: "train_config.visualizer.clearml_config.continue_last_task", value: "true", get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetContinueLastTask() }, want: true, unset: false},
	{path: "train_config.visualizer.clearml_config.deferred_init", value: "true", get: func(e *Experiment) any { return viz(e).GetClearmlConfig().GetDeferredInit() }, want: true, unset: false},

	// eval_config
	{path: "eval_config.top_k", value: "3", get: func(e *Experiment) any { return ec(e).GetTopK() }, want: uint32(3), unset: uint32(0)},
	{path: "eval_config.eval_dataset_path", value: `"split/test"`, get: func(e *Experiment) any { return e.EvalDatasetPath() }, want: "/specs/split/test", unset: ""},
	{path: "eval_config.model_path", value: `"out/weights/resnet_080.hdf5"`, get: func(e *Experiment) any { return e.ModelPath() }, want: "/specs/out/weights/resnet_080.hdf5", unset: ""},
	{path: "eval_config.batch_size", value: "256", get: func(e *Experiment) any { return ec(e).GetBatchSize() }, want: uint32(256), unset: uint32(0)},
	{path: "eval_config.n_workers", value: "8", get: func(e *Experiment) any { return ec(e).GetNWorkers() }, want: uint32(8), unset: uint32(0)},
	{path: "eval_config.enable_center_crop", value: "True", get: func(e *Experiment) any { return ec(e).GetEnableCenterCrop() }, want: true, unset: false},
}

// nestText writes "a { b { c: v } }" for path a.b.c.
func nestText(path, value string) string {
	parts := strings.Split(path, ".")
	s := parts[len(parts)-1] + ": " + value
	for i := len(parts) - 2; i >= 0; i-- {
		s = parts[i] + " { " + s + " }"
	}
	return s + "\n"
}

// nestYAML writes nested mappings for path, two spaces per level.
func nestYAML(path, value string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString(" " + value + "\n")
	return b.String()
}

func TestEveryFieldReadsBack(t *testing.T) {
	empty, err := Parse("/specs/empty.cfg", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range fieldCases {
		yamlValue := fc.yaml
		if yamlValue == "" {
			yamlValue = fc.value
		}
		for _, src := range []struct{ file, text string }{
			{"/specs/exp.cfg", nestText(fc.path, fc.value)},
			{"/specs/exp.yaml", nestYAML(fc.path, yamlValue)},
		} {
			t.Run(fc.path+"/"+filepath.Ext(src.file)[1:], func(t *testing.T) {
				e, err := Parse(src.file, []byte(src.text))
				if err != nil {
					t.Fatalf("spec %q: %v", src.text, err)
				}
				if got := fc.get(e); !reflect.DeepEqual(got, fc.want) {
					t.Errorf("spec %q: got %#v, want %#v", src.text, got, fc.want)
				}
			})
		}
		if got := fc.get(empty); !reflect.DeepEqual(got, fc.unset) {
			t.Errorf("%s unset: got %#v, want %#v", fc.path, got, fc.unset)
		}
	}
}

// TestFieldCasesCoverSchema fails when a field of the schema has no case in
// fieldCases, so a field added to the .proto must get a test.
func TestFieldCasesCoverSchema(t *testing.T) {
	var all []string
	var walk func(md protoreflect.MessageDescriptor, prefix string)
	walk = func(md protoreflect.MessageDescriptor, prefix string) {
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			p := joinPath(prefix, string(fd.Name()))
			all = append(all, p)
			if fd.Message() != nil && !fd.IsMap() {
				walk(fd.Message(), p)
			}
		}
	}
	walk((&specpb.Experiment{}).ProtoReflect().Descriptor(), "")
	var tested []string
	for _, fc := range fieldCases {
		tested = append(tested, fc.path)
	}
	for _, p := range all {
		if !slices.Contains(tested, p) {
			t.Errorf("field %s has no case in fieldCases", p)
		}
	}
	for _, p := range tested {
		if !slices.Contains(all, p) {
			t.Errorf("fieldCases has %s, which is not in the schema", p)
		}
	}
	if len(all) < 90 {
		t.Errorf("schema walk found only %d fields", len(all))
	}
}
