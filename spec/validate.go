package spec

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// Task is the command a spec is used for; each needs different fields.
type Task string

// The tasks Validate knows.
const (
	Train     Task = "train"
	Evaluate  Task = "evaluate"
	Inference Task = "inference"
	Prune     Task = "prune"
	Export    Task = "export"
)

// Archs lists the architectures TAO's validator allows (constants.py).
var Archs = []string{
	"resnet", "vgg", "alexnet", "googlenet", "mobilenet_v1", "mobilenet_v2",
	"squeezenet", "darknet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
	"efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
	"efficientnet_b7", "cspdarknet", "cspdarknet_tiny",
}

// ArchDepths lists, for the architectures whose depth n_layers selects, the
// depths TAO's templates build. Other architectures ignore n_layers.
var ArchDepths = map[string][]int{
	"resnet":     {10, 18, 34, 50, 101, 152, 200},
	"vgg":        {16, 19},
	"darknet":    {19, 53},
	"cspdarknet": {19, 53},
}

// PreprocessModes are the allowed train_config.preprocess_mode values.
var PreprocessModes = []string{"tf", "caffe", "torch"}

// MaxImageSide bounds input height and width (a Bonsai limit; TAO has none).
const MaxImageSide = 8192

// Validate checks that the spec has every field task needs (TAO's required
// fields, see doc.go). Range rules were already checked by Load.
func (e *Experiment) Validate(task Task) error {
	c := &checker{e: e}
	switch task {
	case Train:
		c.requireModel()
		c.requireTrain()
	case Evaluate:
		c.requireModel()
		c.requireEval()
	case Inference:
		c.requireModel()
	case Prune, Export:
	default:
		return fmt.Errorf("spec: unknown task %q (want train, evaluate, inference, prune or export)", task)
	}
	return c.result()
}

// checker collects problems with their positions.
type checker struct {
	e     *Experiment
	errs  Errors
	warns []*Error
}

func (c *checker) at(path string) (int, int) {
	p, _ := c.e.pos.find(path)
	return p.Line, p.Col
}

func (c *checker) errorf(path, format string, args ...any) {
	line, col := c.at(path)
	c.errs = append(c.errs, &Error{File: c.e.Path, Line: line, Col: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(path, format string, args ...any) {
	line, col := c.at(path)
	c.warns = append(c.warns, &Error{File: c.e.Path, Line: line, Col: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	sortByPosition(c.errs)
	return c.errs
}

// sortByPosition orders problems by place in the file, unplaced ones last.
func sortByPosition(es []*Error) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // 0 last
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// ------------------------------------------------------------ required fields

func (c *checker) requireMsg(path string, present bool, task string) bool {
	if !present {
		c.errorf(path, "missing; %s needs it", task)
	}
	return present
}

func (c *checker) requireString(path, value, what string) {
	if value == "" {
		c.errorf(path, "must be set%s", what)
	}
}

func (c *checker) requirePositive(path string, value float64) {
	if value <= 0 {
		c.errorf(path, "must be set to a value > 0")
	}
}

func (c *checker) requireModel() {
	mc := c.e.Proto.GetModelConfig()
	if !c.requireMsg("model_config", mc != nil, "this task") {
		return
	}
	c.requireString("model_config.arch", mc.GetArch(), "; one of "+strings.Join(Archs, ", "))
	c.requireString("model_config.input_image_size", mc.GetInputImageSize(), ", e.g. \"3,224,224\"")
}

func (c *checker) requireTrain() {
	tc := c.e.Proto.GetTrainConfig()
	if !c.requireMsg("train_config", tc != nil, "train") {
		return
	}
	p := "train_config."
	c.requireString(p+"train_dataset_path", tc.GetTrainDatasetPath(), "")
	c.requireString(p+"val_dataset_path", tc.GetValDatasetPath(), "")
	c.requirePositive(p+"batch_size_per_gpu", float64(tc.GetBatchSizePerGpu()))
	c.requirePositive(p+"n_epochs", float64(tc.GetNEpochs()))
	c.requirePositive(p+"n_workers", float64(tc.GetNWorkers()))
	c.requireString(p+"preprocess_mode", tc.GetPreprocessMode(), "; one of tf, caffe, torch")
	c.requireOptimizer(tc.GetOptimizer())
	c.requireReg(tc.GetRegConfig())
	c.requireLR(tc.GetLrConfig())
}

func (c *checker) requireOptimizer(o *specpb.OptimizerConfig) {
	path := "train_config.optimizer"
	if !c.requireMsg(path, o != nil, "train") {
		return
	}
	switch {
	case o.GetSgd() != nil:
		c.requirePositive(path+".sgd.lr", float64(o.GetSgd().GetLr()))
	case o.GetAdam() != nil:
		c.requirePositive(path+".adam.lr", float64(o.GetAdam().GetLr()))
	case o.GetRmsprop() != nil:
		c.requirePositive(path+".rmsprop.lr", float64(o.GetRmsprop().GetLr()))
	default:
		c.errorf(path, "must hold one of sgd, adam, rmsprop")
	}
}

func (c *checker) requireReg(r *specpb.RegConfig) {
	path := "train_config.reg_config"
	if !c.requireMsg(path, r != nil, "train") {
		return
	}
	c.requireString(path+".type", r.GetType(), "; one of L1, L2, None")
	if strings.EqualFold(r.GetType(), "none") {
		return // scope and weight_decay are unused (TAO still demands them)
	}
	c.requireString(path+".scope", r.GetScope(), "; e.g. \"Conv2D,Dense\"")
	c.requirePositive(path+".weight_decay", float64(r.GetWeightDecay()))
}

func (c *checker) requireLR(lc *specpb.LRConfig) {
	path := "train_config.lr_config"
	if !c.requireMsg(path, lc != nil, "train") {
		return
	}
	switch {
	case lc.GetStep() != nil:
		c.requirePositive(path+".step.learning_rate", float64(lc.GetStep().GetLearningRate()))
		if lc.GetStep().GetStepSize() == 0 {
			c.errorf(path+".step.step_size", "must be set to a percentage from 1 to 100 (0 divides by zero in TAO)")
		}
	case lc.GetSoftAnneal() != nil:
		c.requirePositive(path+".soft_anneal.learning_rate", float64(lc.GetSoftAnneal().GetLearningRate()))
	case lc.GetCosine() != nil:
		c.requirePositive(path+".cosine.learning_rate", float64(lc.GetCosine().GetLearningRate()))
	default:
		c.errorf(path, "must hold one of step, soft_anneal, cosine")
	}
}

func (c *checker) requireEval() {
	ec := c.e.Proto.GetEvalConfig()
	if !c.requireMsg("eval_config", ec != nil, "evaluate") {
		return
	}
	c.requirePositive("eval_config.top_k", float64(ec.GetTopK()))
	c.requireString("eval_config.eval_dataset_path", ec.GetEvalDatasetPath(), "")
	c.requireString("eval_config.model_path", ec.GetModelPath(), "")
	c.requirePositive("eval_config.batch_size", float64(ec.GetBatchSize()))
	c.requirePositive("eval_config.n_workers", float64(ec.GetNWorkers()))
}

// ---------------------------------------------------------------- value rules

// checkValues applies the rules that hold whatever the task: every value
// that is set must be in range. It also gathers warnings.
func (e *Experiment) checkValues() error {
	c := &checker{e: e}
	c.finiteFloats(e.Proto.ProtoReflect(), "", 0)
	c.modelValues(e.Proto.GetModelConfig())
	c.trainValues(e.Proto.GetTrainConfig())
	c.imageMeanValues()
	sortByPosition(c.warns)
	for _, w := range c.warns {
		e.warnings = append(e.warnings, w.Error())
	}
	return c.result()
}

// finiteFloats rejects NaN and infinities anywhere in the spec.
func (c *checker) finiteFloats(m protoreflect.Message, path string, depth int) {
	if depth > 8 {
		return
	}
	bad := func(p string, v protoreflect.Value) {
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			c.errorf(p, "must be a finite number, got %v", f)
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := joinPath(path, string(fd.Name()))
		isFloat := func(k protoreflect.Kind) bool { return k == protoreflect.FloatKind || k == protoreflect.DoubleKind }
		switch {
		case fd.IsMap():
			if isFloat(fd.MapValue().Kind()) {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { bad(p, mv); return true })
			}
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				if isFloat(fd.Kind()) {
					bad(p, v.List().Get(i))
				} else if fd.Message() != nil {
					c.finiteFloats(v.List().Get(i).Message(), p, depth+1)
				}
			}
		case fd.Message() != nil:
			c.finiteFloats(v.Message(), p, depth+1)
		case isFloat(fd.Kind()):
			bad(p, v)
		}
		return true
	})
}

func (c *checker) inRange(path string, v float32, lo, hi float64, loOpen, hiOpen bool) {
	x := float64(v)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return // reported by finiteFloats
	}
	if x < lo || x > hi || (loOpen && x == lo) || (hiOpen && x == hi) {
		lb, rb := "[", "]"
		if loOpen {
			lb = "("
		}
		if hiOpen {
			rb = ")"
		}
		c.errorf(path, "must be in %s%g, %g%s, got %g", lb, lo, hi, rb, f64(v))
	}
}

func (c *checker) nonNegative(path string, v float32) {
	c.inRange(path, v, 0, math.Inf(1), false, false)
}

func (c *checker) modelValues(mc *specpb.ModelConfig) {
	if mc == nil {
		return
	}
	p := "model_config."
	if a := mc.GetArch(); a != "" && !slices.Contains(Archs, a) {
		c.errorf(p+"arch", "unknown arch %q; allowed: %s%s", a, strings.Join(Archs, ", "), didYouMean(a, Archs))
	}
	c.inputSizeValue(mc.GetInputImageSize())
	c.depthValue(mc)
	if m := mc.GetResizeInterpolationMethod(); m.Descriptor().Values().ByNumber(m.Number()) == nil {
		c.errorf(p+"resize_interpolation_method", "unknown value %d; allowed: BILINEAR, BICUBIC", m)
	}
	c.inRange(p+"dropout", mc.GetDropout(), 0, 1, false, true)
	if bn := mc.GetBatchNormConfig(); bn != nil {
		c.inRange(p+"batch_norm_config.momentum", bn.GetMomentum(), 0, 1, false, false)
		c.nonNegative(p+"batch_norm_config.epsilon", bn.GetEpsilon())
	}
	if a := mc.GetActivation(); a != nil && a.GetActivationType() == "" {
		c.errorf(p+"activation.activation_type", "must be set when activation is given")
	}
	if mc.GetByomModel() != "" {
		c.warnf(p+"byom_model", "TAO bring-your-own-model files (.tltb) are not read by Bonsai; this field is ignored")
	}
}

func (c *checker) inputSizeValue(s string) {
	if s == "" {
		return
	}
	path := "model_config.input_image_size"
	dims, err := parseInputSize(s)
	if err != nil {
		c.errorf(path, "%v", err)
		return
	}
	if dims[0] != 1 && dims[0] != 3 {
		c.errorf(path, "channels must be 1 or 3, got %d", dims[0])
	}
	for i, name := range []string{"height", "width"} {
		if d := dims[i+1]; d < 16 || d > MaxImageSide {
			c.errorf(path, "%s must be from 16 to %d, got %d", name, MaxImageSide, d)
		}
	}
}

func (c *checker) depthValue(mc *specpb.ModelConfig) {
	depths, ok := ArchDepths[mc.GetArch()]
	n := c.e.NLayers()
	switch {
	case ok && mc.GetNLayers() == 0 && n != DefaultNLayers:
		c.warnf("model_config.n_layers", "not set; using %s's depth %d (TAO would use 18, which %s does not have)",
			mc.GetArch(), n, mc.GetArch())
	case ok && !slices.Contains(depths, n):
		c.errorf("model_config.n_layers", "%s has no depth %d; allowed: %s", mc.GetArch(), n, joinInts(depths))
	case !ok && mc.GetNLayers() != 0 && slices.Contains(Archs, mc.GetArch()):
		c.warnf("model_config.n_layers", "%s has a fixed depth; n_layers is ignored", mc.GetArch())
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func (c *checker) trainValues(tc *specpb.TrainConfig) {
	if tc == nil {
		return
	}
	p := "train_config."
	if m := tc.GetPreprocessMode(); m != "" && !slices.Contains(PreprocessModes, m) {
		c.errorf(p+"preprocess_mode", "unknown mode %q; allowed: tf, caffe, torch%s", m, didYouMean(m, PreprocessModes))
	}
	c.inRange(p+"label_smoothing", tc.GetLabelSmoothing(), 0, 1, false, true)
	if tc.GetLabelSmoothing() > 0 {
		c.warnf(p+"label_smoothing", "TAO 5 ignores a nonzero label_smoothing (a bug in its loss); Bonsai applies it")
	}
	c.nonNegative(p+"mixup_alpha", tc.GetMixupAlpha())
	if len(tc.GetModelParallelism()) > 0 {
		c.warnf(p+"model_parallelism", "model parallelism is not supported; the whole model runs on each device")
	}
	c.optimizerValues(tc.GetOptimizer())
	c.regValues(tc.GetRegConfig())
	c.lrValues(tc.GetLrConfig())
	c.visualizerValues(tc.GetVisualizer())
}

func (c *checker) optimizerValues(o *specpb.OptimizerConfig) {
	p := "train_config.optimizer."
	if s := o.GetSgd(); s != nil {
		c.nonNegative(p+"sgd.lr", s.GetLr())
		c.nonNegative(p+"sgd.decay", s.GetDecay())
		c.nonNegative(p+"sgd.momentum", s.GetMomentum())
	}
	if a := o.GetAdam(); a != nil {
		c.nonNegative(p+"adam.lr", a.GetLr())
		c.inRange(p+"adam.beta_1", a.GetBeta_1(), 0, 1, false, true)
		c.inRange(p+"adam.beta_2", a.GetBeta_2(), 0, 1, false, true)
		c.nonNegative(p+"adam.epsilon", a.GetEpsilon())
		c.nonNegative(p+"adam.decay", a.GetDecay())
		c.warnZeroDefaults(p+"adam", map[string]float32{"beta_1": a.GetBeta_1(), "beta_2": a.GetBeta_2(), "epsilon": a.GetEpsilon()})
	}
	if r := o.GetRmsprop(); r != nil {
		c.nonNegative(p+"rmsprop.lr", r.GetLr())
		c.nonNegative(p+"rmsprop.rho", r.GetRho())
		c.nonNegative(p+"rmsprop.epsilon", r.GetEpsilon())
		c.nonNegative(p+"rmsprop.decay", r.GetDecay())
		c.warnZeroDefaults(p+"rmsprop", map[string]float32{"rho": r.GetRho(), "epsilon": r.GetEpsilon()})
	}
}

// warnZeroDefaults notes the optimizer constants left at 0, which Bonsai
// replaces with Keras' defaults where TAO would pass 0 on.
func (c *checker) warnZeroDefaults(path string, fields map[string]float32) {
	var zero []string
	for _, k := range sortedKeys(fields) {
		if fields[k] == 0 {
			zero = append(zero, k)
		}
	}
	if len(zero) > 0 {
		c.warnf(path, "%s not set; using Keras' defaults (beta_1 0.9, beta_2 0.999, rho 0.9, epsilon 1e-7) where TAO would use 0",
			strings.Join(zero, ", "))
	}
}

func (c *checker) regValues(r *specpb.RegConfig) {
	if r == nil {
		return
	}
	p := "train_config.reg_config."
	t := strings.ToLower(r.GetType())
	if t != "" && t != "l1" && t != "l2" && t != "none" {
		c.errorf(p+"type", "unknown regularizer %q; allowed: L1, L2, None%s", r.GetType(),
			didYouMean(r.GetType(), []string{"L1", "L2", "None"}))
	}
	hi := math.Inf(1)
	if t == "l1" || t == "l2" {
		hi = 1
	}
	c.inRange(p+"weight_decay", r.GetWeightDecay(), 0, hi, false, t == "l1" || t == "l2")
	for _, s := range strings.Split(r.GetScope(), ",") {
		if s = strings.TrimSpace(s); s != "" && !strings.EqualFold(s, "conv2d") && !strings.EqualFold(s, "dense") {
			c.warnf(p+"scope", "%q is not Conv2D or Dense and is ignored (as in TAO)%s", s,
				didYouMean(s, []string{"Conv2D", "Dense"}))
		}
	}
}

func (c *checker) lrValues(lc *specpb.LRConfig) {
	p := "train_config.lr_config."
	if s := lc.GetStep(); s != nil {
		c.nonNegative(p+"step.learning_rate", s.GetLearningRate())
		if s.GetStepSize() > 100 {
			c.errorf(p+"step.step_size", "must be a percentage from 1 to 100, got %d", s.GetStepSize())
		}
		c.inRange(p+"step.gamma", s.GetGamma(), 0, 1, false, false)
	}
	if s := lc.GetSoftAnneal(); s != nil {
		c.nonNegative(p+"soft_anneal.learning_rate", s.GetLearningRate())
		c.inRange(p+"soft_anneal.soft_start", s.GetSoftStart(), 0, 1, false, true)
		c.nonNegative(p+"soft_anneal.annealing_divider", s.GetAnnealingDivider())
		if len(s.GetAnnealingPoints()) > 0 && s.GetAnnealingDivider() == 0 {
			c.errorf(p+"soft_anneal.annealing_divider", "must be > 0 when annealing_points are given")
		}
		c.annealingPoints(p+"soft_anneal.annealing_points", s.GetAnnealingPoints(), s.GetSoftStart())
	}
	if s := lc.GetCosine(); s != nil {
		c.nonNegative(p+"cosine.learning_rate", s.GetLearningRate())
		c.inRange(p+"cosine.min_lr_ratio", s.GetMinLrRatio(), 0, 1, false, false)
		c.inRange(p+"cosine.soft_start", s.GetSoftStart(), 0, 1, false, true)
	}
}

// annealingPoints: each in [0,1], after soft_start, strictly increasing.
func (c *checker) annealingPoints(path string, pts []float32, softStart float32) {
	for i, x := range pts {
		switch {
		case x < 0 || x > 1:
			c.errorf(path, "point %d is %g; points are fractions of training in [0, 1]", i+1, f64(x))
		case x <= softStart:
			c.errorf(path, "point %d is %g; points must come after soft_start %g", i+1, f64(x), f64(softStart))
		case i > 0 && x <= pts[i-1]:
			c.errorf(path, "point %d is %g; points must increase (previous %g)", i+1, f64(x), f64(pts[i-1]))
		}
	}
}

func (c *checker) visualizerValues(v *specpb.VisualizerConfig) {
	if v == nil {
		return
	}
	p := "train_config.visualizer."
	if m := v.GetWandbConfig().GetMode(); m.Descriptor().Values().ByNumber(m.Number()) == nil {
		c.errorf(p+"wandb_config.mode", "unknown value %d; allowed: ONLINE, OFFLINE, DISABLED", m)
	}
	if v.GetWandbConfig() != nil || v.GetClearmlConfig() != nil {
		c.warnf(p+"wandb_config", "Weights & Biases and ClearML logging are not supported; these settings are ignored")
	}
}

// imageMeanValues checks image_mean against the preprocess mode and the
// number of input channels, as TAO's train.py does.
func (c *checker) imageMeanValues() {
	tc := c.e.Proto.GetTrainConfig()
	m := tc.GetImageMean()
	if len(m) == 0 {
		return
	}
	path := "train_config.image_mean"
	for _, k := range sortedKeys(m) {
		if !slices.Contains([]string{"r", "g", "b", "l"}, k) {
			c.errorf(path, "unknown key %q; keys are r, g, b (color) or l (grayscale)", k)
		}
	}
	switch mode := tc.GetPreprocessMode(); {
	case mode == "tf" || mode == "torch":
		c.warnf(path, "image_mean is used only in caffe mode; it is ignored in %s mode", mode)
		return
	case mode != "caffe":
		return
	}
	chans, _, _ := c.e.InputSize()
	switch chans {
	case 3:
		for _, k := range []string{"r", "g", "b"} {
			if _, ok := m[k]; !ok {
				c.errorf(path, "needs r, g and b for 3-channel input; %q is missing", k)
			}
		}
	case 1:
		if _, ok := m["l"]; !ok {
			c.errorf(path, "needs l for 1-channel input")
		}
	}
}
