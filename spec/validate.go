package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
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

// Precisions are the allowed train_config.precision values (Bonsai).
var Precisions = []string{"fp32", "bf16"}

// MaxImageSide bounds input height and width (a Bonsai limit; TAO has none): the largest
// input a model may take.
const MaxImageSide = model.MaxInputSide

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
