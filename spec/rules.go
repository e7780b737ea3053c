package spec

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// checkValues applies the rules that hold whatever the task: every value
// that is set must be in range. It also gathers warnings.
func (e *Experiment) checkValues() error {
	c := &checker{e: e}
	c.finiteFloats(e.Proto.ProtoReflect(), "", 0)
	c.modelValues(e.Proto.GetModelConfig())
	c.trainValues(e.Proto.GetTrainConfig())
	c.imageMeanValues()
	c.imageStdValues()
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
		if math.IsInf(hi, 1) && !loOpen {
			c.errorf(path, "must be >= %g, got %g", lo, f64(v))
			return
		}
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
	c.taoIgnoredValues(mc)
	if mc.GetByomModel() != "" {
		c.warnf(p+"byom_model", "TAO bring-your-own-model files (.tltb) are not read by Bonsai; this field is ignored")
	}
	c.inRange(p+"width_multiplier", mc.GetWidthMultiplier(), 0, math.Inf(1), false, false)
	if w := mc.GetWidthMultiplier(); w != 0 && w != 1 && !strings.HasPrefix(mc.GetArch(), "mobilenet") {
		c.warnf(p+"width_multiplier", "applies to mobilenet_v1 and mobilenet_v2 only; ignored for %s", mc.GetArch())
	}
	if m := mc.GetPaddingMode(); m != "" && m != PaddingTF && m != PaddingTAO && m != PaddingKeras {
		c.errorf(p+"padding_mode", "unknown padding mode %q; allowed: %s (TensorFlow's SAME), %s (TAO's symmetric SAME), %s (SAME; MobileNets pad as Keras Applications)%s",
			m, PaddingTF, PaddingTAO, PaddingKeras, didYouMean(m, []string{PaddingTF, PaddingTAO, PaddingKeras}))
	}
}

func (c *checker) inputSizeValue(s string) {
	if s == "" {
		return
	}
	path := "model_config.input_image_size"
	dims, err := ParseInputSize(s)
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
	if v := tc.GetPrecision(); v != "" && !slices.Contains(Precisions, v) {
		c.errorf(p+"precision", "unknown precision %q; allowed: fp32, bf16 (mixed precision)%s", v, didYouMean(v, Precisions))
	}
	c.nonNegative(p+"mixup_alpha", tc.GetMixupAlpha())
	if len(tc.GetModelParallelism()) > 0 {
		c.warnf(p+"model_parallelism", "model parallelism is not supported; the whole model runs on each device")
	}
	c.optimizerValues(tc.GetOptimizer())
	c.regValues(tc.GetRegConfig())
	c.lrValues(tc.GetLrConfig())
	c.visualizerValues(tc.GetVisualizer())
	if d := tc.GetDistillation(); d != nil {
		c.nonNegative(p+"distillation.temperature", d.GetTemperature())
		c.inRange(p+"distillation.alpha", d.GetAlpha(), 0, 1, false, false)
		if d.GetTeacherModelPath() == "" {
			c.errorf(p+"distillation.teacher_model_path", "is required when distillation is set (the model whose predictions the student learns from)")
		}
	}
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
		if t := strings.TrimSpace(s); t != s && t != "" {
			c.warnf(p+"scope", "TAO does not trim scope entries, so it ignores %q and trains without that penalty; Bonsai trims it and applies it to %s", s, t)
		}
		if s = strings.TrimSpace(s); s != "" && !strings.EqualFold(s, "conv2d") && !strings.EqualFold(s, "dense") {
			c.warnf(p+"scope", "%q is not Conv2D or Dense and is ignored (as in TAO)%s", s,
				didYouMean(s, []string{"Conv2D", "Dense"}))
		}
	}
	if bt := strings.ToLower(r.GetBnType()); bt != "" && bt != "l1" && bt != "l2" {
		c.errorf(p+"bn_type", "unknown regularizer %q; allowed: L1, L2%s", r.GetBnType(), didYouMean(r.GetBnType(), []string{"L1", "L2"}))
	}
	c.inRange(p+"bn_weight_decay", r.GetBnWeightDecay(), 0, 1, false, true)
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
	if v.GetWandbConfig() != nil {
		c.warnf(p+"wandb_config", "not supported: Bonsai does not log to Weights & Biases (it needs the network); the TensorBoard files in <results_dir>/events hold the same curves")
	}
	if v.GetClearmlConfig() != nil {
		c.warnf(p+"clearml_config", "not supported: Bonsai does not log to ClearML (it needs the network); the TensorBoard files in <results_dir>/events hold the same curves")
	}
}

// imageStdValues checks image_std (Bonsai): keys r, g, b or l, positive
// values, all channels given, torch mode only.
func (c *checker) imageStdValues() {
	tc := c.e.Proto.GetTrainConfig()
	m := tc.GetImageStd()
	if len(m) == 0 {
		return
	}
	path := "train_config.image_std"
	for _, k := range sortedKeys(m) {
		if !slices.Contains([]string{"r", "g", "b", "l"}, k) {
			c.errorf(path, "unknown key %q; keys are r, g, b (color) or l (grayscale)", k)
		} else if m[k] <= 0 {
			c.errorf(path, "%s must be above 0, got %g", k, f64(m[k]))
		}
	}
	if mode := tc.GetPreprocessMode(); mode != "torch" {
		c.warnf(path, "image_std is used only in torch mode; it is ignored in %q mode", mode)
		return
	}
	want := []string{"r", "g", "b"}
	if chans, _, _ := c.e.InputSize(); chans == 1 {
		want = []string{"l"}
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			c.errorf(path, "needs %s for %d-channel input; %q is missing", strings.Join(want, ", "), len(want), k)
		}
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
