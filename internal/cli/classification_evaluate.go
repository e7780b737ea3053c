package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/report"
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
	fs.StringVar(&f.backend, "backend", "", engine.BackendHelp)
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
	modelPath := f.model
	if modelPath == "" {
		modelPath = e.ModelPath()
	}
	mf, err := loadModelFile(modelPath, f.key)
	if err != nil {
		return err
	}
	dir := f.imageDir
	if dir == "" {
		dir = e.EvalDatasetPath()
	}
	ds, err := openEvalDataset(dir, f.classmap, mf)
	if err != nil {
		return err
	}
	ec := e.Proto.GetEvalConfig()
	batch := f.batch
	if batch == 0 {
		batch = int(ec.GetBatchSize())
	}
	status, err := startStatus(f.results, "Starting evaluation.")
	if err != nil {
		return err
	}
	rep, err := evaluateDataset(env, f.backend, mf, ds, preprocessing(e, mf), ec.GetEnableCenterCrop(), batch, int(ec.GetTopK()), f.verbose)
	if err == nil {
		// As TAO: the model is rebuilt with the spec's regularizer, whose penalty Keras adds to the loss.
		var penalty float64
		penalty, err = engine.Penalty(mf.Graph, mf.Weights, train.TrainConfigFromSpec(e))
		rep.AddPenalty(penalty)
	}
	if err != nil {
		status.fail(err)
		return err
	}
	if err := rep.PrintTAO(env.Stdout); err != nil {
		return err
	}
	if f.results != "" {
		if err := writeEvalOutputs(f.results, rep); err != nil {
			return err
		}
		status.log.KPI = map[string]any{"top_k_accuracy": rep.TopKAccuracy}
		return status.log.Write(train.StatusSuccess, "Evaluation finished successfully.")
	}
	return nil
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

// loadModelFile reads a Bonsai model file and checks that it holds a model graph.
func loadModelFile(path, key string) (*modelfile.File, error) {
	if path == "" {
		return nil, Usagef("no model: pass -m MODEL")
	}
	mf, err := modelfile.Load(path, key)
	if errors.Is(err, modelfile.ErrKeyRequired) {
		return nil, UsageError{err}
	}
	if err != nil {
		return nil, err
	}
	if mf.Graph == nil {
		return nil, fmt.Errorf("%s has no model graph: it is not a Bonsai model file (train one with 'bonsai classification train')", path)
	}
	return mf, nil
}

// openEvalDataset lists a folder-per-class dataset in the class order of -cm, else of the
// model, and checks it against the model's class count.
func openEvalDataset(dir, classmapPath string, mf *modelfile.File) (*data.Dataset, error) {
	cm := data.ClassMap(mf.Classmap)
	if classmapPath != "" {
		var err error
		if cm, err = data.ReadClassMap(classmapPath); err != nil {
			return nil, err
		}
	}
	if len(cm) == 0 {
		cm = nil
	}
	ds, err := data.Open(dir, cm)
	if err != nil {
		return nil, err
	}
	if units := outputUnits(mf.Graph); units != len(ds.Classes) {
		return nil, fmt.Errorf("the model predicts %d classes but %s has %d (%v); pass the training classmap with -cm", units, dir, len(ds.Classes), ds.Classes)
	}
	return ds, nil
}

// preprocessing returns the spec's preprocessing when its train_config sets one, else the model
// file's; the input size is always the model's.
func preprocessing(e *spec.Experiment, mf *modelfile.File) modelfile.Preprocessing {
	p := mf.Preprocessing
	if e != nil && e.PreprocessMode() != "" {
		p = train.PreprocessingFromSpec(e)
	}
	p.InputSize = mf.Graph.Input
	return p
}

// evaluateDataset runs the model over every image of ds and computes the metrics.
func evaluateDataset(env *Env, backend string, mf *modelfile.File, ds *data.Dataset, p modelfile.Preprocessing, centerCrop bool, batch, topK int, verbose bool) (*evaluate.Report, error) {
	m, err := newInferenceModel(env, backend, mf, verbose)
	if err != nil {
		return nil, err
	}
	ld, err := loader.New(loaderItems(ds), len(ds.Classes), train.EvalLoaderOptions(p, centerCrop, batch, 0))
	if err != nil {
		return nil, err
	}
	ev, err := evaluate.NewEvaluator(ds.Classes, max(topK, 1))
	if err != nil {
		return nil, err
	}
	err = predictBatches(m, ld, func(b loader.Batch, probs *model.Tensor) error {
		return ev.AddBatch(b.Targets, probs.Data)
	})
	if err != nil {
		return nil, err
	}
	if bad := ld.BadImageSummary(); bad != "" {
		fmt.Fprintln(env.Stderr, "warning:", bad)
	}
	return ev.Report()
}

// printSummaries prints the model summary as TAO does (Keras' layout), and with verbose also
// Bonsai's (FLOPs, freeze blocks).
func printSummaries(w io.Writer, g *model.Graph, verbose bool) {
	s, err := g.Summarize()
	if err != nil {
		return
	}
	s.PrintKeras(w)
	if verbose {
		s.Print(w)
	}
}

// newInferenceModel binds the model file's graph and weights to the backend, printing the model
// summary.
func newInferenceModel(env *Env, backend string, mf *modelfile.File, verbose bool) (*engine.Model, error) {
	eng, err := engine.Open(backend)
	if err != nil {
		return nil, err
	}
	printSummaries(env.Stdout, mf.Graph, verbose)
	m, err := eng.NewModel(mf.Graph, mf.Weights, 0)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %w", err)
	}
	return m, nil
}

// predictBatches runs the model on every batch of ld and hands each batch with its
// probabilities to fn.
func predictBatches(m *engine.Model, ld *loader.Loader, fn func(loader.Batch, *model.Tensor) error) error {
	it := ld.Epoch(0)
	defer it.Close()
	for it.Next() {
		b := it.Batch()
		probs, err := m.Predict(b.Images)
		if err != nil {
			return err
		}
		if err := fn(b, probs); err != nil {
			return err
		}
	}
	return it.Err()
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

// statusFile is an optional status.json in a results folder (TAO's hidden -r).
type statusFile struct{ log *train.StatusLog }

// startStatus creates dir and writes the STARTED event; an empty dir gives a no-op status.
func startStatus(dir, message string) (*statusFile, error) {
	if dir == "" {
		return &statusFile{}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating results folder: %w", err)
	}
	s := &statusFile{log: train.NewStatusLog(dir)}
	return s, s.log.Write(train.StatusStarted, message)
}

func (s *statusFile) fail(err error) {
	if s.log != nil {
		s.log.Write(train.StatusFailure, err.Error())
	}
}
