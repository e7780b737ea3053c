package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/report"
	"github.com/bonsai-ml/bonsai/results"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/bonsai-ml/bonsai/train"
)

func init() {
	Register(&Command{
		Path:  "classification evaluate",
		Short: "evaluate a trained classifier: loss, top-k, confusion matrix, per-class report",
		Run:   runClassificationEvaluate,
	})
}

const evaluateUsage = `-e SPEC [-m MODEL] [-k KEY] [-cm CLASSMAP] [-r RESULTS_DIR] [-i IMAGE_DIR] [-b BATCH] [--backend B]

Evaluates eval_config.model_path (or -m MODEL) on eval_config.eval_dataset_path (or -i
IMAGE_DIR; one folder per class) and prints what TAO's "classification evaluate" prints:
Evaluation Loss, Evaluation Top K accuracy (k = eval_config.top_k), the confusion matrix
(rows = true class) and the classification report (precision, recall, f1-score, support).
As in TAO, the loss includes the spec's reg_config penalty on the model's weights; a line
after it gives the cross-entropy alone.

The class order comes from -cm, else from the model file's classmap, else from the sorted
folder names. Preprocessing comes from the spec's train_config (as in TAO), else from the
model file. With -r, RESULTS_DIR also receives results.json (every metric),
classification_report.csv (per class), confusion_matrix.png and status.json.`

type evalFlags struct {
	spec, model, key, classmap, results, imageDir, backend, labelDir string
	batch                                                            int
	verbose                                                          bool
}

func runClassificationEvaluate(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification evaluate", evaluateUsage)
	var f evalFlags
	fs.StringVar(&f.spec, "e", "", "experiment spec file; required")
	alias(fs, "e", "experiment_spec")
	fs.StringVar(&f.model, "m", "", "model file (default: eval_config.model_path)")
	alias(fs, "m", "model_path")
	fs.StringVar(&f.key, "k", "", "key of an encrypted model file")
	alias(fs, "k", "key")
	fs.StringVar(&f.classmap, "cm", "", "classmap.json giving the class order (default: the model's)")
	alias(fs, "cm", "classmap")
	fs.StringVar(&f.results, "r", "", "write results.json, the per-class CSV, the confusion-matrix PNG and status.json here")
	alias(fs, "r", "results_dir")
	fs.StringVar(&f.imageDir, "i", "", "dataset folder (default: eval_config.eval_dataset_path)")
	alias(fs, "i", "image_dir")
	fs.IntVar(&f.batch, "b", 0, "batch size (default: eval_config.batch_size)")
	alias(fs, "b", "batch_size")
	fs.StringVar(&f.labelDir, "l", "", "TAO deploy compatibility; ignored (labels are the class folders)")
	alias(fs, "l", "label_dir")
	fs.BoolVar(&f.verbose, "v", false, "print the model summary")
	alias(fs, "v", "verbose")
	BackendFlag(fs, &f.backend)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if f.spec == "" {
		return Usagef("-e SPEC is required (the experiment spec file)")
	}
	if f.batch < 0 {
		return Usagef("-b %d: the batch size must be positive", f.batch)
	}
	return evaluateFromSpec(env, &f)
}

func evaluateFromSpec(env *Env, f *evalFlags) error {
	e, err := loadEvalSpec(f)
	if err != nil {
		return err
	}
	ec := e.Proto.GetEvalConfig()
	modelPath := f.model
	if modelPath == "" {
		modelPath = e.ModelPath()
	}
	mf, err := loadModelFile(modelPath, f.key)
	if f.model == "" && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; train first, or evaluate another model with -m MODEL", e.ExplainMissing("eval_config.model_path", ec.GetModelPath(), err))
	}
	if err != nil {
		return err
	}
	dir := f.imageDir
	if dir == "" {
		dir = e.EvalDatasetPath()
	}
	ds, err := evaluate.OpenDataset(dir, f.classmap, mf)
	if f.imageDir == "" {
		err = e.ExplainMissing("eval_config.eval_dataset_path", ec.GetEvalDatasetPath(), err)
	}
	if err != nil {
		return err
	}
	eng, err := openEngine(env, f.backend, mf, f.verbose)
	if err != nil {
		return err
	}
	batch := f.batch
	if batch == 0 {
		batch = int(ec.GetBatchSize())
	}
	unlock, err := lockResults(f.results, "classification evaluate")
	if err != nil {
		return err
	}
	defer unlock()
	status, err := results.StartStatus(f.results, "Starting evaluation.")
	if err != nil {
		return err
	}
	rep, err := evaluate.Dataset(evaluate.DatasetOptions{Engine: eng, Model: mf, Dataset: ds,
		Preprocessing: evaluate.Preprocessing(e, mf), CenterCrop: ec.GetEnableCenterCrop(),
		Batch: batch, TopK: int(ec.GetTopK()), Warn: env.Stderr, Regularization: train.TrainConfigFromSpec(e)})
	if err != nil {
		status.Fail(err)
		return err
	}
	if err := rep.PrintTAO(env.Stdout); err != nil {
		return err
	}
	if f.results == "" {
		return nil
	}
	if err := writeEvalOutputs(f.results, rep); err != nil {
		return err
	}
	return status.Succeed("Evaluation finished successfully.", map[string]any{"top_k_accuracy": rep.TopKAccuracy})
}

// loadEvalSpec loads the spec and checks what evaluate needs; -m and -i stand in for
// eval_config.model_path and eval_dataset_path.
func loadEvalSpec(f *evalFlags) (*spec.Experiment, error) {
	e, err := spec.Load(f.spec)
	if err != nil {
		return nil, UsageError{err}
	}
	ec := e.Proto.GetEvalConfig()
	if ec != nil && f.model != "" && ec.ModelPath == "" {
		ec.ModelPath = f.model
	}
	if ec != nil && f.imageDir != "" && ec.EvalDatasetPath == "" {
		ec.EvalDatasetPath = f.imageDir
	}
	if ec != nil && f.batch > 0 && ec.BatchSize == 0 {
		ec.BatchSize = uint32(f.batch)
	}
	if err := e.Validate(spec.Evaluate); err != nil {
		return nil, UsageError{err}
	}
	return e, nil
}

// loadModelFile reads a Bonsai model file; a missing key is a command-line error.
func loadModelFile(path, key string) (*modelfile.File, error) {
	if path == "" {
		return nil, Usagef("no model: pass -m MODEL")
	}
	if err := foreignModel(path); err != nil {
		return nil, err
	}
	return modelfile.LoadModel(path, key)
}

// lockResults takes the lock of a results folder for the command (nothing for dir ""); the
// returned function releases it.
func lockResults(dir, command string) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	l, err := results.LockDir(dir, command)
	if err != nil {
		return nil, err
	}
	return func() { l.Unlock() }, nil
}

// openEngine opens the backend, printing the model summary first as TAO does (Keras' layout),
// and with -v also Bonsai's (FLOPs, freeze blocks).
func openEngine(env *Env, backend string, mf *modelfile.File, verbose bool) (*engine.Engine, error) {
	if s, err := mf.Graph.Summarize(); err == nil {
		s.PrintKeras(env.Stdout)
		if verbose {
			s.Print(env.Stdout)
		}
	}
	return engine.Open(backend)
}

// writeEvalOutputs writes results.json, classification_report.csv and confusion_matrix.png.
func writeEvalOutputs(dir string, rep *evaluate.Report) error {
	if err := rep.WriteJSON(filepath.Join(dir, "results.json")); err != nil {
		return err
	}
	if err := rep.WriteCSV(filepath.Join(dir, "classification_report.csv")); err != nil {
		return err
	}
	return report.WriteConfusionMatrix(filepath.Join(dir, "confusion_matrix.png"), rep.Classes, rep.Confusion, false)
}
