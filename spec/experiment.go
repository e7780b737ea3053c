package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// TAO's effective defaults for fields left at their proto3 zero value.
const (
	DefaultNLayers    = 18   // train.py: n_layers or 18
	DefaultBNMomentum = 0.9  // helper.setup_config, batch_norm_config unset
	DefaultBNEpsilon  = 1e-5 // helper.setup_config, batch_norm_config unset
	SoftAnnealStartLR = 3e-4 // cv/common/utils.py: the warm-up starts here
	CaffeMeanGray     = 117.3786
	// TorchStd is the std torch mode divides every channel by: TAO's numpy
	// preprocessing (the one its Keras generators and tao_deploy use).
	TorchStd = 0.224
	// Keras defaults used when an adam / rmsprop field is 0 (see doc.go).
	DefaultAdamBeta1 = 0.9
	DefaultAdamBeta2 = 0.999
	DefaultEpsilon   = 1e-7
	DefaultRMSRho    = 0.9
	// Bonsai's distillation defaults (train_config.distillation).
	DefaultDistillTemperature = 4
	DefaultDistillAlpha       = 0.5
)

// model_config.padding_mode values (Bonsai): the model graph's padding modes.
const (
	PaddingTF  = "tf"  // TensorFlow's SAME (the default)
	PaddingTAO = "tao" // TAO's symmetric SAME; average pools count the padding
	// PaddingKeras is TensorFlow's SAME, with MobileNets padding strided layers as Keras
	// Applications does (for its ImageNet weights).
	PaddingKeras = "keras"
)

// CaffeMeanBGR is the default caffe-mode mean for 3-channel input, in the
// B, G, R order the network sees.
var CaffeMeanBGR = []float64{103.939, 116.779, 123.68}

// Experiment is a loaded spec. Proto holds the fields as written; the methods
// return effective values (TAO's defaults applied, paths resolved). Read paths
// through the methods: a relative path is taken relative to the spec file's
// folder, not the working directory.
type Experiment struct {
	Proto    *specpb.Experiment
	Path     string // the spec file as given to Load
	Format   Format
	pos      *positions
	warnings []string
}

// Warnings lists things that load but deserve the user's attention (ignored
// fields, places where Bonsai deliberately differs from TAO), one per line,
// each "file:line:col: field: message" without a "warning:" prefix, which
// the caller adds.
func (e *Experiment) Warnings() []string { return slices.Clone(e.warnings) }

// Dir is the folder relative paths in the spec are resolved against.
func (e *Experiment) Dir() string { return filepath.Dir(e.Path) }

// ResolvePath makes a path from the spec absolute-or-spec-relative: "" stays
// "", an absolute path is cleaned, and a relative one is joined to Dir().
func (e *Experiment) ResolvePath(p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(e.Dir(), p)
}

// ---------------------------------------------------------------- model_config

// Arch is model_config.arch as written (validation rejects "").
func (e *Experiment) Arch() string { return e.Proto.GetModelConfig().GetArch() }

// NLayers is model_config.n_layers. 0 means 18 as in TAO, except for the
// families that have no depth 18, where TAO would fail: there it means the
// family's smallest depth (vgg 16, darknet and cspdarknet 19), the same
// choice model/arch makes.
func (e *Experiment) NLayers() int {
	if n := e.Proto.GetModelConfig().GetNLayers(); n != 0 {
		return int(n)
	}
	return DefaultDepth(e.Arch())
}

// DefaultDepth is the depth n_layers 0 means for arch: 18 as in TAO, or the family's
// smallest depth where it has no 18 (see NLayers). Architectures without a depth choice get
// DefaultNLayers, which they ignore.
func DefaultDepth(arch string) int {
	if depths, ok := ArchDepths[arch]; ok && !slices.Contains(depths, DefaultNLayers) {
		return depths[0]
	}
	return DefaultNLayers
}

// InputSize is model_config.input_image_size as channels, height, width; all
// zero when it is unset.
func (e *Experiment) InputSize() (c, h, w int) {
	dims, err := ParseInputSize(e.Proto.GetModelConfig().GetInputImageSize())
	if err != nil {
		return 0, 0, 0
	}
	return dims[0], dims[1], dims[2]
}

// Grayscale reports one input channel (TAO's "grayscale" color mode).
func (e *Experiment) Grayscale() bool {
	c, _, _ := e.InputSize()
	return c == 1
}

// Interpolation is the resize filter for every resize (train, val, eval,
// inference).
func (e *Experiment) Interpolation() specpb.InterpolationMethod {
	return e.Proto.GetModelConfig().GetResizeInterpolationMethod()
}

// BNMomentum is the batch-norm momentum: batch_norm_config.momentum, or 0.9
// when it is unset or 0.
func (e *Experiment) BNMomentum() float64 {
	if m := e.Proto.GetModelConfig().GetBatchNormConfig().GetMomentum(); m != 0 {
		return f64(m)
	}
	return DefaultBNMomentum
}

// BNEpsilon is the batch-norm epsilon: batch_norm_config.epsilon, or 1e-5
// when it is unset or 0.
func (e *Experiment) BNEpsilon() float64 {
	if eps := e.Proto.GetModelConfig().GetBatchNormConfig().GetEpsilon(); eps != 0 {
		return f64(eps)
	}
	return DefaultBNEpsilon
}

// FreezeBlocks is model_config.freeze_blocks, sorted and without repeats.
func (e *Experiment) FreezeBlocks() []int {
	var out []int
	for _, b := range e.Proto.GetModelConfig().GetFreezeBlocks() {
		out = append(out, int(b))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Activation is model_config.activation: its type ("" means the
// architecture's own default) and parameters (never nil).
func (e *Experiment) Activation() (typ string, params map[string]float64) {
	a := e.Proto.GetModelConfig().GetActivation()
	params = map[string]float64{}
	for k, v := range a.GetActivationParameters() {
		params[k] = f64(v)
	}
	return a.GetActivationType(), params
}

// ParseInputSize parses TAO's input_image_size "C,H,W" (spaces allowed around numbers); the
// value rules (channels 1 or 3, sides 16 to MaxImageSide) are checked where a spec is loaded.
func ParseInputSize(s string) ([3]int, error) {
	var dims [3]int
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return dims, fmt.Errorf("must be \"C,H,W\" (three numbers), got %q", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return dims, fmt.Errorf("must be \"C,H,W\" with whole numbers, got %q", s)
		}
		dims[i] = n
	}
	return dims, nil
}

// ---------------------------------------------------------------- train_config

// TrainDatasetPath is train_config.train_dataset_path, resolved.
func (e *Experiment) TrainDatasetPath() string {
	return e.ResolvePath(e.Proto.GetTrainConfig().GetTrainDatasetPath())
}

// ValDatasetPath is train_config.val_dataset_path, resolved.
func (e *Experiment) ValDatasetPath() string {
	return e.ResolvePath(e.Proto.GetTrainConfig().GetValDatasetPath())
}

// PretrainedModelPath is train_config.pretrained_model_path, resolved.
func (e *Experiment) PretrainedModelPath() string {
	return e.ResolvePath(e.Proto.GetTrainConfig().GetPretrainedModelPath())
}

// Distillation is train_config.distillation with its defaults applied; TeacherPath is ""
// when the spec asks for no distillation.
type Distillation struct {
	TeacherPath        string
	Temperature, Alpha float64
}

// Distillation returns train_config.distillation, the teacher path resolved.
func (e *Experiment) Distillation() Distillation {
	d := e.Proto.GetTrainConfig().GetDistillation()
	return Distillation{
		TeacherPath: e.ResolvePath(d.GetTeacherModelPath()),
		Temperature: orDefault(d.GetTemperature(), DefaultDistillTemperature),
		Alpha:       orDefault(d.GetAlpha(), DefaultDistillAlpha),
	}
}

// MaxEpochCheckpoints is how many weights/<arch>_NNN files a run keeps at most when
// train_config.checkpoint_interval is unset.
const MaxEpochCheckpoints = 20

// CheckpointInterval is train_config.checkpoint_interval (Bonsai): every how many epochs a
// run writes weights/<arch>_NNN. Unset, it is 1 for up to MaxEpochCheckpoints epochs, else
// n_epochs/MaxEpochCheckpoints rounded up.
func (e *Experiment) CheckpointInterval() int {
	tc := e.Proto.GetTrainConfig()
	if n := tc.GetCheckpointInterval(); n > 0 {
		return int(n)
	}
	return max(1, (int(tc.GetNEpochs())+MaxEpochCheckpoints-1)/MaxEpochCheckpoints)
}

// Precision is train_config.precision: "fp32" (also when unset) or "bf16".
func (e *Experiment) Precision() string {
	if p := e.Proto.GetTrainConfig().GetPrecision(); p != "" {
		return p
	}
	return "fp32"
}

// BYOMModelPath is model_config.byom_model, resolved.
func (e *Experiment) BYOMModelPath() string {
	return e.ResolvePath(e.Proto.GetModelConfig().GetByomModel())
}

// PreprocessMode is train_config.preprocess_mode: "tf", "caffe" or "torch"
// ("" when there is no train_config, e.g. an evaluate-only spec).
func (e *Experiment) PreprocessMode() string { return e.Proto.GetTrainConfig().GetPreprocessMode() }

// ImageMean is the per-channel mean that caffe mode subtracts, in the order
// the network sees channels: B, G, R for color input (TAO turns RGB into BGR
// before subtracting), L for grayscale. It is image_mean when given, else
// TAO's defaults (103.939, 116.779, 123.68 / 117.3786). Other modes use no
// mean: the result is nil.
func (e *Experiment) ImageMean() []float64 {
	if e.PreprocessMode() != "caffe" {
		return nil
	}
	m := e.Proto.GetTrainConfig().GetImageMean()
	if e.Grayscale() {
		if v, ok := m["l"]; ok {
			return []float64{f64(v)}
		}
		return []float64{CaffeMeanGray}
	}
	if len(m) > 0 {
		return []float64{f64(m["b"]), f64(m["g"]), f64(m["r"])}
	}
	return slices.Clone(CaffeMeanBGR)
}

// ImageStd is the std torch mode divides by, keyed r, g, b (or l for
// grayscale): image_std when given (a Bonsai field), else TorchStd for every
// channel, as TAO does. Other modes divide by no std: the result is nil.
func (e *Experiment) ImageStd() map[string]float32 {
	if e.PreprocessMode() != "torch" {
		return nil
	}
	if m := e.Proto.GetTrainConfig().GetImageStd(); len(m) > 0 {
		return maps.Clone(m)
	}
	if e.Grayscale() {
		return map[string]float32{"l": TorchStd}
	}
	return map[string]float32{"r": TorchStd, "g": TorchStd, "b": TorchStd}
}

// HorizontalFlip reports whether training flips images at random (on unless
// disable_horizontal_flip is set).
func (e *Experiment) HorizontalFlip() bool {
	return !e.Proto.GetTrainConfig().GetDisableHorizontalFlip()
}

// Optimizer is the resolved train_config.optimizer.
type Optimizer struct {
	Kind     string  // "sgd", "adam", "rmsprop"; "" when unset
	LR       float64 // overwritten every step by the LR schedule, as in TAO
	Decay    float64 // Keras per-iteration decay: lr / (1 + decay*iterations)
	Momentum float64 // sgd
	Nesterov bool    // sgd
	Beta1    float64 // adam
	Beta2    float64 // adam
	Rho      float64 // rmsprop
	Epsilon  float64 // adam, rmsprop
}

// Optimizer returns the optimizer with zero adam / rmsprop constants replaced
// by Keras' defaults (beta_1 0.9, beta_2 0.999, rho 0.9, epsilon 1e-7).
func (e *Experiment) Optimizer() Optimizer {
	o := e.Proto.GetTrainConfig().GetOptimizer()
	switch {
	case o.GetSgd() != nil:
		s := o.GetSgd()
		return Optimizer{Kind: "sgd", LR: f64(s.GetLr()), Decay: f64(s.GetDecay()),
			Momentum: f64(s.GetMomentum()), Nesterov: s.GetNesterov()}
	case o.GetAdam() != nil:
		a := o.GetAdam()
		return Optimizer{Kind: "adam", LR: f64(a.GetLr()), Decay: f64(a.GetDecay()),
			Beta1: orDefault(a.GetBeta_1(), DefaultAdamBeta1), Beta2: orDefault(a.GetBeta_2(), DefaultAdamBeta2),
			Epsilon: orDefault(a.GetEpsilon(), DefaultEpsilon)}
	case o.GetRmsprop() != nil:
		r := o.GetRmsprop()
		return Optimizer{Kind: "rmsprop", LR: f64(r.GetLr()), Decay: f64(r.GetDecay()),
			Rho: orDefault(r.GetRho(), DefaultRMSRho), Epsilon: orDefault(r.GetEpsilon(), DefaultEpsilon)}
	}
	return Optimizer{}
}

// Regularizer is the resolved train_config.reg_config.
type Regularizer struct {
	Type        string  // "l1", "l2" or "none" (lower-cased); "" when unset
	Conv2D      bool    // applies to Conv2D kernels (not depthwise ones: TAO matches the exact type)
	Dense       bool    // applies to dense kernels
	WeightDecay float64 // the L1/L2 factor
	// BNType and BNWeightDecay penalise batch norm gammas (Bonsai); an empty BNType means Type.
	BNType        string
	BNWeightDecay float64
}

// Regularizer returns reg_config with the scope list parsed the way TAO does
// (case-insensitive, unknown entries ignored), except that entries are
// trimmed: TAO splits "Conv2D, Dense" into "Conv2D" and " Dense" and silently
// drops Dense, a bug Bonsai does not copy.
func (e *Experiment) Regularizer() Regularizer {
	rc := e.Proto.GetTrainConfig().GetRegConfig()
	r := Regularizer{Type: strings.ToLower(rc.GetType()), WeightDecay: f64(rc.GetWeightDecay()),
		BNType: strings.ToLower(rc.GetBnType()), BNWeightDecay: f64(rc.GetBnWeightDecay())}
	for _, s := range strings.Split(rc.GetScope(), ",") {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "conv2d":
			r.Conv2D = true
		case "dense":
			r.Dense = true
		}
	}
	return r
}

// LRSchedule is the resolved train_config.lr_config. Progress is the fraction
// of all training iterations done, as in TAO; TAO also multiplies BaseLR by
// the number of GPUs.
type LRSchedule struct {
	Kind             string // "step", "soft_anneal", "cosine"; "" when unset
	BaseLR           float64
	StepSize         int     // step: percent of training per factor of Gamma
	Gamma            float64 // step
	SoftStart        float64 // soft_anneal, cosine: warm-up fraction
	AnnealingDivider float64 // soft_anneal
	AnnealingPoints  []float64
	StartLR          float64 // soft_anneal: warm-up start, 3e-4 in TAO
	MinLRRatio       float64 // cosine: final lr = BaseLR * MinLRRatio
}

// LRSchedule returns the learning-rate schedule.
func (e *Experiment) LRSchedule() LRSchedule {
	lc := e.Proto.GetTrainConfig().GetLrConfig()
	switch {
	case lc.GetStep() != nil:
		s := lc.GetStep()
		return LRSchedule{Kind: "step", BaseLR: f64(s.GetLearningRate()), StepSize: int(s.GetStepSize()), Gamma: f64(s.GetGamma())}
	case lc.GetSoftAnneal() != nil:
		s := lc.GetSoftAnneal()
		pts := make([]float64, len(s.GetAnnealingPoints()))
		for i, p := range s.GetAnnealingPoints() {
			pts[i] = f64(p)
		}
		return LRSchedule{Kind: "soft_anneal", BaseLR: f64(s.GetLearningRate()), SoftStart: f64(s.GetSoftStart()),
			AnnealingDivider: f64(s.GetAnnealingDivider()), AnnealingPoints: pts, StartLR: SoftAnnealStartLR}
	case lc.GetCosine() != nil:
		s := lc.GetCosine()
		return LRSchedule{Kind: "cosine", BaseLR: f64(s.GetLearningRate()), MinLRRatio: f64(s.GetMinLrRatio()),
			SoftStart: f64(s.GetSoftStart())}
	}
	return LRSchedule{}
}

// String describes the schedule in one line.
func (s LRSchedule) String() string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch s.Kind {
	case "step":
		return fmt.Sprintf("step: lr = %s * %s^(progress / %d%%), decaying smoothly (TAO does not floor the exponent)",
			g(s.BaseLR), g(s.Gamma), s.StepSize)
	case "soft_anneal":
		pts := make([]string, len(s.AnnealingPoints))
		for i, p := range s.AnnealingPoints {
			pts[i] = g(p)
		}
		return fmt.Sprintf("soft_anneal: linear %s -> %s until progress %s, then divided by %s at progress [%s]",
			g(s.StartLR), g(s.BaseLR), g(s.SoftStart), g(s.AnnealingDivider), strings.Join(pts, ", "))
	case "cosine":
		return fmt.Sprintf("cosine: linear %s -> %s until progress %s, then cosine down to %s",
			g(s.BaseLR*s.MinLRRatio), g(s.BaseLR), g(s.SoftStart), g(s.BaseLR*s.MinLRRatio))
	}
	return "no learning-rate schedule"
}

// ----------------------------------------------------------------- eval_config

// EvalDatasetPath is eval_config.eval_dataset_path, resolved.
func (e *Experiment) EvalDatasetPath() string {
	return e.ResolvePath(e.Proto.GetEvalConfig().GetEvalDatasetPath())
}

// ModelPath is eval_config.model_path, resolved.
func (e *Experiment) ModelPath() string {
	return e.ResolvePath(e.Proto.GetEvalConfig().GetModelPath())
}

// f64 widens a float32 proto value without float32 noise: 0.1f reads as 0.1,
// not 0.10000000149011612.
func f64(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}

func orDefault(x float32, def float64) float64 {
	if x == 0 {
		return def
	}
	return f64(x)
}

// sortedKeys returns a map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// ExplainMissing adds to err, when it says that the path a spec field gives does not exist
// and the spec wrote it relative, where the path was looked for and where it would have been
// from the current folder. field is the dotted field name, raw its value as written.
func (e *Experiment) ExplainMissing(field, raw string, err error) error {
	if err == nil || !errors.Is(err, fs.ErrNotExist) || raw == "" || filepath.IsAbs(raw) {
		return err
	}
	fromCwd, aerr := filepath.Abs(raw)
	if aerr != nil || fromCwd == e.ResolvePath(raw) {
		return err
	}
	exists := "does not exist either"
	if _, serr := os.Stat(fromCwd); serr == nil {
		exists = "exists: write that path in the spec, or a path relative to the spec's folder"
	}
	return fmt.Errorf("%s %q: %w (relative paths in a spec are resolved against the spec's folder, %s; from the current folder it would be %s, which %s)",
		field, raw, err, e.Dir(), fromCwd, exists)
}
