package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/splitmix"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// ErrNonFinite is returned by Trainer.Step when the loss is NaN or infinite; the update was not
// applied (weights, optimizer state and the iteration counter are unchanged).
var ErrNonFinite = errors.New("loss is NaN or infinite")

// TrainConfig selects the optimizer and the loss, with Keras semantics.
//
//   - Optimizer "sgd": v = Momentum*v - lr*g; w += v (Nesterov: w += Momentum*v - lr*g).
//   - "adam": Keras' Adam with bias correction folded into the learning rate
//     (lr_t = lr*sqrt(1-Beta2^t)/(1-Beta1^t); w -= lr_t*m/(sqrt(v)+Epsilon)); defaults 0.9, 0.999, 1e-7.
//   - "rmsprop": a = Rho*a + (1-Rho)*g^2; w -= lr*g/(sqrt(a)+Epsilon); defaults Rho 0.9, Epsilon 1e-7.
//   - Decay: Keras' per-iteration decay, lr/(1 + Decay*iterations), applied to the lr given to Step.
//   - RegType "L1" / "L2" (or "None"): WeightDecay*sum|w| or WeightDecay*sum(w^2) over the kernels
//     of the layer types in RegScope ("Conv2D", "DepthwiseConv2D", "Dense"; exact types, as TAO
//     matches them: "Conv2D" does not take in depthwise kernels), frozen layers included;
//     biases and BN are never regularised. The loss Step and Evaluate report includes it, as
//     Keras reports it (Penalty computes the same value from weights).
//   - BNRegType "L1" / "L2" with BNWeightDecay > 0 penalises every trainable batch norm gamma the
//     same way (network slimming), so that channels the model does not need fade towards zero.
//   - LabelSmoothing s: labels become y*(1-s) + s/classes before the cross-entropy.
//   - Layers with Frozen set keep their parameters; FrozenBN layers keep their moving statistics.
//   - Distillation (with a teacher, see Trainer.SetTeacher): the cross-entropy term becomes
//     (1-DistillAlpha)*CE + DistillAlpha*T^2*KL(softmax(teacher/T) || softmax(student/T)), with
//     T = DistillTemperature (Hinton et al. 2015); defaults 0.5 and 4.
//   - Precision "fp32" (default) or "bf16" (mixed precision: see PrecisionBF16). It applies to
//     the training step and to Evaluate.
//   - Devices, when set, trains data-parallel on these device ids (one replica each; parallel.go):
//     a batch splits evenly over them and the update is the whole batch's. SyncBN normalises with
//     the whole batch's batch-norm statistics instead of each replica's. Without Devices the
//     trainer runs on device 0 as a plain (non-SPMD) program; Devices {0} runs the SPMD program
//     with one replica.
type TrainConfig struct {
	Optimizer                  string
	Momentum                   float64
	Nesterov                   bool
	Beta1, Beta2, Epsilon, Rho float64
	Decay                      float64
	RegType                    string
	RegScope                   []string
	WeightDecay                float64
	BNRegType                  string
	BNWeightDecay              float64
	LabelSmoothing             float64
	DistillAlpha               float64
	DistillTemperature         float64
	BatchSize                  int
	Seed                       int64
	Precision                  string
	Devices                    []int
	SyncBN                     bool
}

// Trainer runs training steps on a Model; it shares the model's parameters.
type Trainer struct {
	m   *Model
	cfg TrainConfig

	trainable []int    // indices (into m.keys) of the parameters the optimizer updates
	slotNames []string // optimizer slots per trainable parameter
	slotKeys  []string // "<param>/<slot>" for every slot, trainable-major
	slots     []*tensors.Tensor
	bnKeys    []int        // indices of moving statistics updated in training mode
	regular   map[int]bool // regularised kernels
	bnGamma   []int        // batch norm gammas under the BN penalty
	iter      int64
	teacher   *Model // distillation teacher (nil: none)
	par       *parallel
	gen       int // the model's weights generation the replicas were copied from

	stepExec, evalExec *Exec
}

// NewTrainer validates cfg and prepares the optimizer state (zeros).
func (m *Model) NewTrainer(cfg TrainConfig) (*Trainer, error) {
	if err := cfg.normalise(); err != nil {
		return nil, err
	}
	t := &Trainer{m: m, cfg: cfg, regular: map[int]bool{}}
	if len(cfg.Devices) > 0 {
		var err error
		if t.par, err = newParallel(m.eng.Backend, cfg.Devices, cfg.SyncBN); err != nil {
			return nil, err
		}
		m.SetDevice(int(t.par.devices[0]))
	}
	t.slotNames = map[string][]string{"sgd": {"momentum"}, "adam": {"m", "v"}, "rmsprop": {"rms"}}[cfg.Optimizer]
	layers := m.ir.Index()
	scope := cfg.scope()
	for i, k := range m.keys {
		name, param, _ := strings.Cut(k, "/")
		l := layers[name]
		switch {
		case param == "moving_mean" || param == "moving_variance":
			if !l.FrozenBN {
				t.bnKeys = append(t.bnKeys, i)
			}
		case !l.Frozen:
			t.trainable = append(t.trainable, i)
			for _, s := range t.slotNames {
				t.slotKeys = append(t.slotKeys, k+"/"+s)
				t.slots = append(t.slots, zerosLike(m.params[k].Shape))
			}
		}
		switch cfg.penalised(l, param, scope) {
		case kernelPenalty:
			t.regular[i] = true
		case gammaPenalty:
			t.bnGamma = append(t.bnGamma, i)
		}
	}
	return t, nil
}

// Which penalty a parameter takes.
const (
	noPenalty = iota
	kernelPenalty
	gammaPenalty
)

// scope is the set of ops whose kernels RegScope regularises.
func (c *TrainConfig) scope() map[model.Op]bool {
	scope := map[model.Op]bool{}
	for _, s := range c.RegScope {
		scope[scopeOp(s)] = true
	}
	return scope
}

// penalised says which penalty parameter param of layer l takes. Keras adds a frozen layer's
// kernel penalty to the loss too (a constant: it has no gradient); the batch norm gamma penalty
// (Bonsai's) covers trainable gammas.
func (c *TrainConfig) penalised(l *model.Layer, param string, scope map[model.Op]bool) int {
	switch {
	case param == "kernel" && scope[l.Op] && c.RegType != "none":
		return kernelPenalty
	case param == "gamma" && c.BNWeightDecay > 0 && !l.Frozen:
		return gammaPenalty
	}
	return noPenalty
}

// Penalty is the regularisation term the training loss adds for weights w of graph g, computed
// on the host in float64: what Keras adds to the loss it prints (TAO's evaluate rebuilds the
// model with the spec's regularizer, so its "Evaluation Loss" includes it).
func Penalty(g *model.Graph, w model.Weights, cfg TrainConfig) (float64, error) {
	if err := cfg.normalise(); err != nil {
		return 0, err
	}
	layers, scope := g.Index(), cfg.scope()
	var total float64
	for _, k := range slices.Sorted(maps.Keys(w)) {
		name, param, _ := strings.Cut(k, "/")
		l := layers[name]
		if l == nil {
			continue
		}
		switch cfg.penalised(l, param, scope) {
		case kernelPenalty:
			total += cfg.WeightDecay * norm(w[k].Data, cfg.RegType)
		case gammaPenalty:
			total += cfg.BNWeightDecay * norm(w[k].Data, cfg.BNRegType)
		}
	}
	return total, nil
}

// norm is sum|x| ("l1") or sum x^2 ("l2").
func norm(xs []float32, kind string) float64 {
	var s float64
	for _, x := range xs {
		if kind == "l1" {
			s += math.Abs(float64(x))
		} else {
			s += float64(x) * float64(x)
		}
	}
	return s
}

func scopeOp(s string) model.Op {
	switch strings.ToLower(s) {
	case "conv2d":
		return model.OpConv
	case "depthwiseconv2d":
		return model.OpDepthwiseConv
	case "dense":
		return model.OpDense
	}
	return model.Op(s)
}

func zerosLike(shape []int) *tensors.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensors.FromFlatDataAndDimensions(make([]float32, n), shape...)
}

// normalise fills Keras defaults and checks names.
func (c *TrainConfig) normalise() error {
	c.Optimizer = strings.ToLower(c.Optimizer)
	if c.Optimizer == "" {
		c.Optimizer = "sgd"
	}
	switch c.Optimizer {
	case "sgd":
	case "adam":
		c.Beta1 = orDefault(c.Beta1, 0.9)
		c.Beta2 = orDefault(c.Beta2, 0.999)
		c.Epsilon = orDefault(c.Epsilon, 1e-7)
	case "rmsprop":
		c.Rho = orDefault(c.Rho, 0.9)
		c.Epsilon = orDefault(c.Epsilon, 1e-7)
	default:
		return fmt.Errorf("optimizer %q: want sgd, adam or rmsprop", c.Optimizer)
	}
	c.RegType = strings.ToLower(c.RegType)
	switch c.RegType {
	case "", "none":
		c.RegType = "none"
	case "l1", "l2":
	default:
		return fmt.Errorf("regularizer type %q: want L1, L2 or None", c.RegType)
	}
	c.BNRegType = strings.ToLower(c.BNRegType)
	if c.BNWeightDecay > 0 && c.BNRegType != "l1" && c.BNRegType != "l2" {
		return fmt.Errorf("batch norm regularizer type %q: want L1 or L2", c.BNRegType)
	}
	for _, s := range c.RegScope {
		if op := scopeOp(s); op != model.OpConv && op != model.OpDense && op != model.OpDepthwiseConv {
			return fmt.Errorf("regularizer scope %q: want Conv2D, DepthwiseConv2D or Dense", s)
		}
	}
	if c.LabelSmoothing < 0 || c.LabelSmoothing >= 1 {
		return fmt.Errorf("label smoothing %g must be in [0, 1)", c.LabelSmoothing)
	}
	var err error
	if c.Precision, err = normalisePrecision(c.Precision); err != nil {
		return err
	}
	c.DistillAlpha = orDefault(c.DistillAlpha, 0.5)
	c.DistillTemperature = orDefault(c.DistillTemperature, 4)
	if c.DistillAlpha < 0 || c.DistillAlpha > 1 || c.DistillTemperature <= 0 {
		return fmt.Errorf("distillation alpha %g must be in [0, 1] and temperature %g above 0", c.DistillAlpha, c.DistillTemperature)
	}
	return nil
}

// SetTeacher makes training distil from teacher (inference mode, never updated), which must
// take the same input and predict the same number of classes. Call it before the first Step.
func (t *Trainer) SetTeacher(teacher *Model) error {
	if t.stepExec != nil {
		return errors.New("the teacher must be set before the first training step")
	}
	if in, tin := t.m.ir.Input, teacher.ir.Input; in != tin {
		return fmt.Errorf("teacher input %v differs from the model's %v", tin, in)
	}
	if c, tc := t.m.Classes(), teacher.Classes(); c != tc {
		return fmt.Errorf("teacher predicts %d classes, the model %d", tc, c)
	}
	if t.par != nil {
		teacher.SetDevice(int(t.par.devices[0]))
	}
	t.teacher = teacher
	return nil
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// Model is the model the trainer updates.
func (t *Trainer) Model() *Model { return t.m }

// Penalty is the regularization term of the model's current weights (see Penalty).
func (t *Trainer) Penalty() (float64, error) {
	w, err := t.m.Weights()
	if err != nil {
		return 0, err
	}
	return Penalty(t.m.ir, w, t.cfg)
}

// Iterations is the number of updates applied so far.
func (t *Trainer) Iterations() int64 { return t.iter }

// effectiveLR applies Keras' decay and, for Adam, the bias correction, for the next update.
func (t *Trainer) effectiveLR(lr float32) float32 {
	l := float64(lr) / (1 + t.cfg.Decay*float64(t.iter))
	if t.cfg.Optimizer == "adam" {
		step := float64(t.iter + 1)
		l *= math.Sqrt(1-math.Pow(t.cfg.Beta2, step)) / (1 - math.Pow(t.cfg.Beta1, step))
	}
	return float32(l)
}

// rngState derives the dropout random state of an iteration and replica from the seed (so resume
// is exact).
func (t *Trainer) rngState(replica int) *tensors.Tensor {
	a := splitmix.Mix(uint64(t.cfg.Seed) ^ 0x5bd1e995)
	b := splitmix.Mix(a ^ uint64(t.iter) ^ uint64(replica)<<48)
	c := splitmix.Mix(b)
	return tensors.FromFlatDataAndDimensions([]uint64{a, b, c}, 3)
}

// checkLabels verifies labels [N, classes] against images.
func (t *Trainer) checkLabels(images, labels *model.Tensor) error {
	if err := t.m.checkImages(images); err != nil {
		return err
	}
	classes := t.m.shapes[t.m.ir.Output][0]
	if labels == nil || len(labels.Shape) != 2 || labels.Shape[0] != images.Shape[0] || labels.Shape[1] != classes {
		var got []int
		if labels != nil {
			got = labels.Shape
		}
		return fmt.Errorf("labels have shape %v, want [%d %d]", got, images.Shape[0], classes)
	}
	if len(labels.Data) != labels.Size() {
		return fmt.Errorf("labels: %d values for shape %v", len(labels.Data), labels.Shape)
	}
	return nil
}

// Step runs one training step on a batch: images [N,H,W,C], labels [N,classes] (one-hot or soft).
// It returns the loss (cross-entropy plus regularisation) and the argmax accuracy of the batch,
// both measured before the update. A non-finite loss returns ErrNonFinite and changes nothing.
// Step is Stage followed by StepStaged.
func (t *Trainer) Step(images, labels *model.Tensor, lr float32) (loss, acc float32, err error) {
	b, err := t.Stage(images, labels)
	if err != nil {
		return 0, 0, err
	}
	defer b.Release()
	return t.StepStaged(b, lr)
}

// StagedBatch is a training batch already on the training device(s): split into one shard per
// replica, with the teacher's logits when distilling. Trainer.Stage makes one.
type StagedBatch struct {
	n      int                 // images in the whole batch
	shards [][]*tensors.Tensor // per replica: images, labels and (distilling) teacher logits
}

// Release frees the batch's device memory; safe to call twice.
func (b *StagedBatch) Release() {
	for _, s := range b.shards {
		release(s...)
	}
	b.shards = nil
}

// Stage checks a batch, runs the distillation teacher on it, and copies it to the training
// device(s), one shard per replica. It does not touch the trainer's state, so a loader can stage
// the next batch while StepStaged runs the current one (the host-to-device copy then overlaps
// the step).
func (t *Trainer) Stage(images, labels *model.Tensor) (*StagedBatch, error) {
	if err := t.checkLabels(images, labels); err != nil {
		return nil, err
	}
	parts := []*model.Tensor{images, labels}
	if t.teacher != nil {
		logits, err := t.teacher.Logits(images)
		if err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		parts = append(parts, logits)
	}
	devices := t.devices()
	n := images.Shape[0]
	if n%len(devices) != 0 {
		return nil, fmt.Errorf("a batch of %d images does not split evenly over %d devices", n, len(devices))
	}
	b := &StagedBatch{n: n}
	for r, dev := range devices {
		shard := make([]*tensors.Tensor, len(parts))
		for i, p := range parts {
			shard[i] = rowsTensor(p, r*n/len(devices), n/len(devices))
			if err := shard[i].MaterializeOnDevice(t.m.eng.Backend, false, dev); err != nil {
				b.Release()
				release(shard[:i+1]...)
				return nil, fmt.Errorf("copying the batch to device %d: %w", dev, err)
			}
		}
		b.shards = append(b.shards, shard)
	}
	return b, nil
}

// rowsTensor is rows [start, start+n) of t as a host tensor (t itself when that is all of it).
func rowsTensor(t *model.Tensor, start, n int) *tensors.Tensor {
	if start == 0 && n == t.Shape[0] {
		return tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)
	}
	row := t.Size() / t.Shape[0]
	dims := append([]int{n}, t.Shape[1:]...)
	return tensors.FromFlatDataAndDimensions(t.Data[start*row:(start+n)*row], dims...)
}

// StepStaged runs one training step on a staged batch (see Step). The batch stays valid (release
// it when done).
func (t *Trainer) StepStaged(b *StagedBatch, lr float32) (loss, acc float32, err error) {
	if b == nil || len(b.shards) != len(t.devices()) {
		return 0, 0, errors.New("training step: the batch was not staged for this trainer's devices")
	}
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.gen != t.m.gen {
		t.dropReplicas()
		t.gen = t.m.gen
	}
	if err := t.copyReplicas(); err != nil {
		return 0, 0, err
	}
	if t.stepExec == nil {
		if t.stepExec, err = t.newStepExec(); err != nil {
			return 0, 0, fmt.Errorf("building the training graph: %w", err)
		}
	}
	var args []any
	for r, shard := range b.shards {
		args = append(args, tensorArgs(shard[:2])...)
		args = append(args, t.effectiveLR(lr), t.rngState(r))
		args = append(args, tensorArgs(shard[2:])...)
		params, slots := t.replicaState(r)
		args = append(args, tensorArgs(params)...)
		args = append(args, tensorArgs(slots)...)
	}
	out, err := t.stepExec.ExecOnDevice(t.devices()[0], args...)
	if err != nil {
		return 0, 0, fmt.Errorf("training step: %w", err)
	}
	loss = tensors.ToScalar[float32](out[0])
	hits := tensors.ToScalar[float32](out[1])
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		release(out...) // the state before the step stays
		return loss, 0, fmt.Errorf("step %d: %w", t.iter+1, ErrNonFinite)
	}
	t.keepOutputs(out)
	t.iter++
	return loss, hits / float32(b.n), nil
}

// keepOutputs takes a step's outputs (per replica: loss, hits, params..., slots...) as the new
// state, releasing the old.
func (t *Trainer) keepOutputs(out []*tensors.Tensor) {
	np, per := len(t.m.values), len(out)/len(t.devices())
	for r := range t.devices() {
		o := out[r*per : (r+1)*per]
		release(o[0], o[1])
		if r == 0 {
			release(t.m.values...)
			release(t.slots...)
			t.m.values, t.slots = o[2:2+np], o[2+np:]
			continue
		}
		release(t.par.params[r-1]...)
		release(t.par.slots[r-1]...)
		t.par.params[r-1], t.par.slots[r-1] = o[2:2+np], o[2+np:]
	}
}

// stepGraph: inputs [images, labels, lr, rng, teacher logits (with a teacher), params...,
// slots...]; outputs [loss, hits, params..., slots...].
func (t *Trainer) stepGraph(in []*Node) []*Node {
	np := len(t.m.keys)
	x, labels, lr, rng := in[0], in[1], in[2], in[3]
	first := 4
	if t.teacher != nil {
		first = 5
	}
	params, slots := in[first:first+np], in[first+np:]
	var teacherLogits *Node
	if t.teacher != nil {
		teacherLogits = in[4]
	}
	coll := t.collectiveFor(x.Graph())
	b := t.trainingBuilder(params, rng, coll)
	loss, hits, grads := t.lossAndGradients(b, x, labels, teacherLogits, params)
	if coll != nil {
		grads, loss, hits = t.reduceReplicas(coll, b, grads, loss, hits)
	}
	newParams := slices.Clone(params)
	newSlots := make([]*Node, len(slots))
	ns := len(t.slotNames)
	for i, idx := range t.trainable {
		p, s := t.update(params[idx], grads[i], slots[i*ns:(i+1)*ns], lr)
		newParams[idx] = p
		copy(newSlots[i*ns:], s)
	}
	for _, idx := range t.bnKeys {
		if u := b.bnUpdates[t.m.keys[idx]]; u != nil {
			newParams[idx] = u
		}
	}
	// A non-finite loss discards the outputs (StepStaged): no per-element guard here.
	return append(append([]*Node{loss, hits}, newParams...), newSlots...)
}

// trainingBuilder is the forward builder of a training step (with coll: of one replica).
func (t *Trainer) trainingBuilder(params []*Node, rng *Node, coll *collective) *forwardBuilder {
	m := t.m
	b := &forwardBuilder{ir: m.ir, shapes: m.shapes, params: m.paramMap(params), training: true,
		rng: rng, bnUpdates: map[string]*Node{}, fusedBN: hasFusedBN(m.eng.Backend), compute: computeDType(t.cfg.Precision)}
	if coll != nil && t.par.syncBN {
		b.sync, b.fusedBN = coll, false
	}
	return b
}

// lossAndGradients builds the forward pass of a batch x, its loss (cross-entropy or the
// distillation mix, plus regularisation), its hit count, and the loss's gradients with respect
// to the trainable parameters (in t.trainable order).
func (t *Trainer) lossAndGradients(b *forwardBuilder, x, labels, teacherLogits *Node, params []*Node) (loss, hits *Node, grads []*Node) {
	logits, err := b.forward(x)
	if err != nil {
		panic(err)
	}
	ce := ReduceAllMean(softmaxCrossEntropy(logits, labels, t.cfg.LabelSmoothing))
	if teacherLogits != nil {
		a := t.cfg.DistillAlpha
		kd := ReduceAllMean(distillationKL(teacherLogits, logits, t.cfg.DistillTemperature))
		ce = Add(MulScalar(ce, 1-a), MulScalar(kd, a))
	}
	loss = Add(ce, t.regLoss(params))
	hits = accuracyCount(logits, labels)
	wrt := make([]*Node, len(t.trainable))
	for i, idx := range t.trainable {
		wrt[i] = params[idx]
	}
	if len(wrt) > 0 {
		grads = Gradient(loss, wrt...)
	}
	return loss, hits, grads
}

// reduceReplicas averages the gradients, the loss and (without SyncBN) the moving statistics'
// updates across replicas, and adds up the hits.
func (t *Trainer) reduceReplicas(c *collective, b *forwardBuilder, grads []*Node, loss, hits *Node) ([]*Node, *Node, *Node) {
	grads = c.mean(grads...)
	loss = c.mean(loss)[0]
	hits = c.sum(hits)[0]
	if !t.par.syncBN {
		var keys []string
		var updates []*Node
		for k, u := range b.bnUpdates {
			keys, updates = append(keys, k), append(updates, u)
		}
		if len(updates) > 0 {
			for i, u := range c.mean(updates...) {
				b.bnUpdates[keys[i]] = u
			}
		}
	}
	return grads, loss, hits
}

// distillationKL is T^2 * KL(softmax(teacher/T) || softmax(student/T)) per example: zero when the
// student matches the teacher; the T^2 keeps its gradient on the scale of the cross-entropy's.
func distillationKL(teacher, student *Node, temperature float64) *Node {
	logPT := LogSoftmax(DivScalar(teacher, temperature), -1)
	logPS := LogSoftmax(DivScalar(student, temperature), -1)
	kl := ReduceSum(Mul(Exp(logPT), Sub(logPT, logPS)), -1)
	return MulScalar(kl, temperature*temperature)
}

// regLoss is the L1/L2 penalty over the regularised kernels (a scalar zero when there are none).
func (t *Trainer) regLoss(params []*Node) *Node {
	total := ScalarZero(params[0].Graph(), dtypes.Float32)
	penalty := func(p *Node, kind string, weight float64) *Node {
		if kind == "l1" {
			return MulScalar(ReduceAllSum(Abs(p)), weight)
		}
		return MulScalar(ReduceAllSum(Square(p)), weight)
	}
	for i := range t.m.keys {
		if t.regular[i] {
			total = Add(total, penalty(params[i], t.cfg.RegType, t.cfg.WeightDecay))
		}
	}
	for _, i := range t.bnGamma {
		total = Add(total, penalty(params[i], t.cfg.BNRegType, t.cfg.BNWeightDecay))
	}
	return total
}

// update applies one optimizer step to a parameter, returning its new value and slots.
func (t *Trainer) update(w, g *Node, slots []*Node, lr *Node) (*Node, []*Node) {
	c := t.cfg
	switch c.Optimizer {
	case "adam":
		m := Add(MulScalar(slots[0], c.Beta1), MulScalar(g, 1-c.Beta1))
		v := Add(MulScalar(slots[1], c.Beta2), MulScalar(Square(g), 1-c.Beta2))
		step := Div(Mul(lr, m), AddScalar(Sqrt(v), c.Epsilon))
		return Sub(w, step), []*Node{m, v}
	case "rmsprop":
		a := Add(MulScalar(slots[0], c.Rho), MulScalar(Square(g), 1-c.Rho))
		step := Div(Mul(lr, g), AddScalar(Sqrt(a), c.Epsilon))
		return Sub(w, step), []*Node{a}
	}
	v := Sub(MulScalar(slots[0], c.Momentum), Mul(lr, g))
	if c.Nesterov {
		return Add(w, Sub(MulScalar(v, c.Momentum), Mul(lr, g))), []*Node{v}
	}
	return Add(w, v), []*Node{v}
}

// Evaluate runs the model in inference mode on a batch and returns the mean loss (cross-entropy
// without label smoothing, plus regularisation) and the softmax probabilities [N, classes].
func (t *Trainer) Evaluate(images, labels *model.Tensor) (loss float32, probs *model.Tensor, err error) {
	if err := t.checkLabels(images, labels); err != nil {
		return 0, nil, err
	}
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.evalExec == nil {
		if t.evalExec, err = NewExec(m.eng.Backend, t.evalGraph); err != nil {
			return 0, nil, fmt.Errorf("building the evaluation graph: %w", err)
		}
	}
	classes := labels.Shape[1]
	probs = model.NewTensor(images.Shape[0], classes)
	var sum, reg float64
	err = forChunks(images, labels, m.predictBatch, func(x, y *tensors.Tensor, start, n int) error {
		args := append([]any{x, y}, tensorArgs(m.values)...)
		out, err := t.evalExec.ExecOnDevice(m.device, args...)
		if err != nil {
			return fmt.Errorf("evaluating: %w", err)
		}
		ce, err := tensors.CopyFlatData[float32](out[0])
		if err != nil {
			return err
		}
		for _, v := range ce[:n] {
			sum += float64(v)
		}
		reg = float64(tensors.ToScalar[float32](out[1]))
		p, err := tensors.CopyFlatData[float32](out[2])
		if err != nil {
			return err
		}
		copy(probs.Data[start*classes:], p[:n*classes])
		release(x, y)
		release(out...)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return float32(sum/float64(images.Shape[0]) + reg), probs, nil
}

// evalGraph: inputs [images, labels, params...]; outputs [per-example CE, reg, probs].
func (t *Trainer) evalGraph(in []*Node) []*Node {
	m := t.m
	b := &forwardBuilder{ir: m.ir, shapes: m.shapes, params: m.paramMap(in[2:]), compute: computeDType(t.cfg.Precision)}
	logits, err := b.forward(in[0])
	if err != nil {
		panic(err)
	}
	return []*Node{softmaxCrossEntropy(logits, in[1], 0), t.regLoss(in[2:]), Softmax(logits, -1)}
}

// IterationsKey is the OptimizerState entry holding the iteration counter (a scalar).
const IterationsKey = "iterations"

// OptimizerState returns the optimizer slots ("<layer>/<param>/<slot>") and the iteration
// counter (IterationsKey, shape [], exact up to 2^24 iterations), enough to resume training
// exactly (dropout randomness derives from the seed and the counter).
func (t *Trainer) OptimizerState() (map[string]*model.Tensor, error) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	st := make(map[string]*model.Tensor, len(t.slots)+1)
	for i, k := range t.slotKeys {
		v, err := fromTensor(t.slots[i])
		if err != nil {
			return nil, fmt.Errorf("reading optimizer slot %q: %w", k, err)
		}
		st[k] = v
	}
	st[IterationsKey] = &model.Tensor{Shape: []int{}, Data: []float32{float32(t.iter)}}
	return st, nil
}

// SetOptimizerState restores state saved by OptimizerState. Every slot of this trainer must be
// present with its shape; an unknown entry is an error.
func (t *Trainer) SetOptimizerState(st map[string]*model.Tensor) error {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	it, ok := st[IterationsKey]
	if !ok || len(it.Data) != 1 {
		return fmt.Errorf("optimizer state: missing %q", IterationsKey)
	}
	next := make([]*tensors.Tensor, len(t.slots))
	known := map[string]bool{IterationsKey: true}
	for i, k := range t.slotKeys {
		known[k] = true
		v, ok := st[k]
		if !ok {
			return fmt.Errorf("optimizer state: missing slot %q (was it saved with another optimizer?)", k)
		}
		want := t.slots[i].Shape().Dimensions
		if !slices.Equal(v.Shape, want) || len(v.Data) != v.Size() {
			return fmt.Errorf("optimizer state: slot %q has shape %v, want %v", k, v.Shape, want)
		}
		next[i] = tensors.FromFlatDataAndDimensions(slices.Clone(v.Data), want...)
	}
	for k := range st {
		if !known[k] {
			return fmt.Errorf("optimizer state: unknown entry %q", k)
		}
	}
	release(t.slots...)
	t.slots = next
	t.iter = int64(it.Data[0])
	t.dropReplicas()
	return nil
}
