package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/report"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/bonsai-ml/bonsai/train"
)

func init() {
	Register(&Command{
		Path:  "classification train",
		Short: "train a classifier from a TAO experiment spec",
		Run:   runClassificationTrain,
	})
}

const trainUsage = `-e SPEC -r RESULTS_DIR [-k KEY] [--init_epoch N | --resume] [-c CLASSMAP] [--teacher MODEL [--distill_alpha A] [--distill_temperature T]] [--backend B] [--gpus N [--gpu_index i ...]] [--log_file FILE] [-v]

Trains model_config's network on train_config.train_dataset_path (one folder per class) and
validates it on val_dataset_path after every epoch, as TAO's "classification train" does.

RESULTS_DIR receives TAO's outputs:
  weights/<arch>_NNN.safetensors   a checkpoint every epoch (.safetensors.enc with -k)
  weights/best.*, weights/last.*   the best epoch (validation accuracy) and the latest one
  classmap.json, training.csv, status.json (JSON lines), results.png (training curves)
  events/                          TensorBoard event files: loss, acc, lr per iteration; val_loss,
                                   val_acc, throughput per epoch; with train_config.visualizer
                                   { enabled: true } num_images augmented images per epoch, with
                                   weight_histograms per-layer weight histograms

Transfer learning: train_config.pretrained_model_path's weights are copied by layer name
where shapes match; a pruned model (its layers differ) is retrained as its own graph.
Resume: --init_epoch N restarts at epoch N from the checkpoint of epoch N-1 (the spec's
pretrained_model_path, as in TAO, or RESULTS_DIR/weights/<arch>_<N-1>.*); --resume picks
RESULTS_DIR/weights/last.*. Weights, optimizer state and schedule position are restored, so
the result is the same as an uninterrupted run.

Distillation (Bonsai; TAO has none): --teacher MODEL, or train_config.distillation { teacher_model_path
alpha temperature }, trains against (1-alpha)*cross-entropy + alpha*T^2*KL(teacher || student) at
temperature T (defaults 0.5 and 4). Typical use: retraining a pruned model with the unpruned one
as teacher. The teacher must take the same input size and classes.

Learning-rate schedules use TAO's formulas: "step" decays continuously (gamma^(progress /
step_size%), not in stairs) and "cosine" does not rescale its phase after soft_start.`

// trainFlags are the command line of classification train.
type trainFlags struct {
	spec, results, key, classmap, backend, logFile string
	teacher                                        string
	distillAlpha, distillTemperature               float64
	initEpoch, gpus                                int
	resume, verbose, amp                           bool
	gpuIndex                                       MultiFlag
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.spec, "e", "", "experiment spec file (TAO protobuf text or YAML); required")
	alias(fs, "e", "experiment_spec_file")
	fs.StringVar(&f.results, "r", "", "folder for checkpoints and logs; required")
	alias(fs, "r", "results_dir")
	fs.StringVar(&f.key, "k", "", "encrypt checkpoints with this key (and decrypt pretrained_model_path)")
	alias(fs, "k", "key")
	fs.StringVar(&f.classmap, "c", "", "classmap.json fixing the class order (default: folders sorted)")
	alias(fs, "c", "classmap")
	fs.StringVar(&f.teacher, "teacher", "", "distil from this model file (overrides train_config.distillation.teacher_model_path)")
	fs.Float64Var(&f.distillAlpha, "distill_alpha", 0, "weight of the distillation term in [0, 1] (default: the spec's, else 0.5)")
	fs.Float64Var(&f.distillTemperature, "distill_temperature", 0, "distillation temperature (default: the spec's, else 4)")
	fs.BoolVar(&f.verbose, "v", false, "print the model summary and more detail")
	alias(fs, "v", "verbose")
	fs.IntVar(&f.initEpoch, "init_epoch", 1, "epoch to start at (1-based); >1 resumes from the checkpoint of the epoch before")
	fs.BoolVar(&f.resume, "resume", false, "resume from RESULTS_DIR/weights/last.* (sets --init_epoch)")
	fs.StringVar(&f.backend, "backend", "", engine.BackendHelp)
	fs.IntVar(&f.gpus, "gpus", 1, "number of devices (TAO: GPUs) to train on")
	fs.Var(&f.gpuIndex, "gpu_index", "device ids to use (space-separated, one per --gpus)")
	fs.StringVar(&f.logFile, "log_file", "", "append standard output and error to this file")
	fs.BoolVar(&f.amp, "use_amp", false, "TAO's mixed precision (not supported: training runs in float32)")
	var np int
	fs.IntVar(&np, "np", -1, "TAO's horovod process count (accepted and ignored)")
	alias(fs, "np", "num_processes")
}

func runClassificationTrain(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification train", trainUsage)
	var f trainFlags
	f.register(fs)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if f.logFile != "" {
		closeLog, err := redirectToLog(env, f.logFile)
		if err != nil {
			return err
		}
		defer closeLog()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return trainFromSpec(ctx, env, &f)
}

// check validates the flags that need no file.
func (f *trainFlags) check() error {
	switch {
	case f.spec == "":
		return Usagef("-e SPEC is required (the experiment spec file)")
	case f.results == "":
		return Usagef("-r RESULTS_DIR is required (where checkpoints and logs go)")
	case f.initEpoch < 1:
		return Usagef("--init_epoch %d: epochs count from 1", f.initEpoch)
	case f.resume && f.initEpoch > 1:
		return Usagef("--resume and --init_epoch exclude each other")
	case f.gpus < 1:
		return Usagef("--gpus %d: need at least 1", f.gpus)
	case f.distillAlpha < 0 || f.distillAlpha > 1:
		return Usagef("--distill_alpha %g: must be in [0, 1]", f.distillAlpha)
	case f.distillTemperature < 0:
		return Usagef("--distill_temperature %g: must be above 0", f.distillTemperature)
	case len(f.gpuIndex.Values) > 0 && len(f.gpuIndex.Values) != f.gpus:
		return Usagef("--gpu_index lists %d ids but --gpus is %d: give one id per device", len(f.gpuIndex.Values), f.gpus)
	}
	for _, v := range f.gpuIndex.Values {
		if i, err := strconv.Atoi(v); err != nil || i < 0 {
			return Usagef("--gpu_index: %q is not a device id", v)
		}
	}
	return nil
}

// redirectToLog sends the command's output to a log file (TAO's --log_file).
func redirectToLog(env *Env, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening --log_file: %w", err)
	}
	env.Stdout, env.Stderr = f, f
	return func() { f.Close() }, nil
}

// openDevices opens the backend and checks that it has the devices --gpus asks for.
func openDevices(backend string, gpus int, gpuIndex []string) (*engine.Engine, error) {
	eng, err := engine.Open(backend)
	if err != nil {
		return nil, err
	}
	devices := eng.Devices()
	for _, v := range gpuIndex {
		if i, _ := strconv.Atoi(v); i >= len(devices) {
			return nil, fmt.Errorf("--gpu_index %d: the %s backend has %d device(s) (ids 0..%d)", i, eng.Name, len(devices), len(devices)-1)
		}
	}
	if gpus > len(devices) {
		return nil, fmt.Errorf("--gpus %d: the %s backend has only %d device(s) (%v); use --gpus %d or a machine with %d GPUs",
			gpus, eng.Name, len(devices), devices, len(devices), gpus)
	}
	if gpus > 1 {
		return nil, fmt.Errorf("--gpus %d: data-parallel training on several devices is not implemented yet; train with --gpus 1", gpus)
	}
	if len(gpuIndex) == 1 && gpuIndex[0] != "0" {
		return nil, fmt.Errorf("--gpu_index %s: choosing a device other than 0 is not supported yet; set CUDA_VISIBLE_DEVICES=%s instead", gpuIndex[0], gpuIndex[0])
	}
	return eng, nil
}

// trainFromSpec loads everything the spec names and runs the training loop.
func trainFromSpec(ctx context.Context, env *Env, f *trainFlags) error {
	e, err := spec.LoadFor(f.spec, spec.Train)
	if err != nil {
		return UsageError{err}
	}
	for _, w := range e.Warnings() {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	if f.amp {
		fmt.Fprintln(env.Stderr, "warning: --use_amp is not supported; training runs in float32")
	}
	eng, err := openDevices(f.backend, f.gpus, f.gpuIndex.Values)
	if err != nil {
		return err
	}
	trainDS, valDS, err := openTrainDatasets(e, f.classmap)
	if err != nil {
		return err
	}
	start, err := startingPoint(env, e, f, len(trainDS.Classes))
	if err != nil {
		return err
	}
	tl, err := loader.New(loaderItems(trainDS), len(trainDS.Classes), train.TrainLoaderOptions(e))
	if err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	vl, err := loader.New(loaderItems(valDS), len(valDS.Classes), train.ValLoaderOptions(e))
	if err != nil {
		return fmt.Errorf("validation data: %w", err)
	}
	specText, _ := os.ReadFile(f.spec)
	meta := modelfile.File{Classmap: data.MapFromClasses(trainDS.Classes), Preprocessing: train.PreprocessingFromSpec(e), Spec: string(specText), Extra: start.extra}
	tcfg := train.TrainConfigFromSpec(e)
	teacher, err := loadTeacher(e, f, &tcfg, meta)
	if err != nil {
		return err
	}
	if teacher != nil {
		meta.Extra = maps.Clone(meta.Extra)
		if meta.Extra == nil {
			meta.Extra = map[string]string{}
		}
		meta.Extra["distillation"] = teacher.record
	}
	printTrainHeader(env, eng, e, f, start, trainDS, valDS)
	if teacher != nil {
		fmt.Fprintf(env.Stdout, "Distillation: teacher %s, alpha %g, temperature %g\n", teacher.path, tcfg.DistillAlpha, tcfg.DistillTemperature)
	}
	_, err = train.Run(ctx, train.Options{
		ResultsDir: f.results, Engine: eng,
		Graph: start.graph, Weights: start.weights, Optimizer: start.optimizer, InitEpoch: start.initEpoch,
		Train: tcfg, Teacher: teacher.model(), Schedule: train.ScheduleFromSpec(e, f.gpus),
		Epochs: int(e.Proto.GetTrainConfig().GetNEpochs()), StepsDivisor: f.gpus,
		TrainData: tl, ValData: vl, Classes: trainDS.Classes,
		Save: checkpointSaver(meta, f.key), Ext: modelfile.FileExt(f.key), Plot: plotCurves,
		TensorBoard: train.TensorBoardFromSpec(e),
		Progress:    env.Stderr, Log: env.Stdout, Warnings: env.Stderr,
	})
	if bad := tl.BadImageSummary(); bad != "" {
		fmt.Fprintln(env.Stderr, "warning:", bad)
	}
	if errors.Is(err, train.ErrInterrupted) || errors.Is(err, engine.ErrNonFinite) {
		fmt.Fprintf(env.Stderr, "checkpoints of finished epochs are in %s; continue with the same command plus --resume\n", filepath.Join(f.results, "weights"))
	}
	return err
}

// openTrainDatasets lists the training and validation folders (with the -c class order).
func openTrainDatasets(e *spec.Experiment, classmapPath string) (*data.Dataset, *data.Dataset, error) {
	var cm data.ClassMap
	if classmapPath != "" {
		var err error
		if cm, err = data.ReadClassMap(classmapPath); err != nil {
			return nil, nil, err
		}
	}
	trainDS, err := data.Open(e.TrainDatasetPath(), cm)
	if err != nil {
		return nil, nil, fmt.Errorf("train_dataset_path: %w", err)
	}
	valDS, err := data.Open(e.ValDatasetPath(), cm)
	if err != nil {
		return nil, nil, fmt.Errorf("val_dataset_path: %w", err)
	}
	if len(trainDS.Classes) != len(valDS.Classes) {
		return nil, nil, fmt.Errorf("train_dataset_path has %d classes %v but val_dataset_path has %d %v: give both the same class folders",
			len(trainDS.Classes), trainDS.Classes, len(valDS.Classes), valDS.Classes)
	}
	for i, c := range trainDS.Classes {
		if valDS.Classes[i] != c {
			return nil, nil, fmt.Errorf("class %d is %q in train_dataset_path but %q in val_dataset_path: give both the same class folders", i, c, valDS.Classes[i])
		}
	}
	return trainDS, valDS, nil
}

func loaderItems(ds *data.Dataset) []loader.Item {
	items := make([]loader.Item, len(ds.Samples))
	for i, s := range ds.Samples {
		items[i] = loader.Item{Path: s.Path, Label: s.Label}
	}
	return items
}

// start is where training begins: the graph, its initial weights and, when resuming, the
// optimizer state.
type start struct {
	graph     *model.Graph
	weights   model.Weights
	optimizer map[string]*model.Tensor
	initEpoch int
	from      string            // what the weights come from, for the header
	extra     map[string]string // metadata the checkpoints carry on (a pruned model's "pruning")
}

// startingPoint builds the model and loads the checkpoint to resume from or the pretrained
// weights to start from.
func startingPoint(env *Env, e *spec.Experiment, f *trainFlags, classes int) (*start, error) {
	g, err := arch.BuildFromSpec(e, classes)
	if err != nil {
		return nil, UsageError{err}
	}
	ext := modelfile.FileExt(f.key)
	if f.resume {
		return resumeFrom(train.LastPath(f.results, ext), 0, f.key, classes)
	}
	if f.initEpoch > 1 {
		path := resumeCheckpoint(e, f, g.Arch, ext)
		return resumeFrom(path, f.initEpoch, f.key, classes)
	}
	st := &start{graph: g, initEpoch: 1, from: "random initialisation (seed " + strconv.Itoa(int(e.Proto.GetTrainConfig().GetRandomSeed())) + ")"}
	if p := e.PretrainedModelPath(); p != "" {
		if err := st.loadPretrained(env, e, p, f.key, classes); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// resumeCheckpoint picks the checkpoint of epoch init_epoch-1: the spec's
// pretrained_model_path when it is one (TAO's way), else the results folder's.
func resumeCheckpoint(e *spec.Experiment, f *trainFlags, arch, ext string) string {
	if p := e.PretrainedModelPath(); p != "" {
		if mf, err := modelfile.Load(p, f.key); err == nil && len(mf.Optimizer) > 0 && mf.Epoch == f.initEpoch-1 {
			return p
		}
	}
	return train.EpochCheckpointPath(f.results, arch, f.initEpoch-1, ext)
}

// resumeFrom loads a checkpoint with its optimizer state; initEpoch 0 means the epoch after
// the checkpoint's.
func resumeFrom(path string, initEpoch int, key string, classes int) (*start, error) {
	mf, err := modelfile.Load(path, key)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("resuming: no checkpoint %s (resuming at epoch N needs the checkpoint of epoch N-1: train_config.pretrained_model_path, or the results folder's)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	if mf.Graph == nil || len(mf.Optimizer) == 0 {
		return nil, fmt.Errorf("resuming: %s is not a training checkpoint (it has no model graph or optimizer state)", path)
	}
	if initEpoch == 0 {
		initEpoch = mf.Epoch + 1
	} else if mf.Epoch != initEpoch-1 {
		return nil, fmt.Errorf("resuming at epoch %d needs the checkpoint of epoch %d, but %s is from epoch %d", initEpoch, initEpoch-1, path, mf.Epoch)
	}
	if units := outputUnits(mf.Graph); units != classes {
		return nil, fmt.Errorf("resuming: %s predicts %d classes but the dataset has %d", path, units, classes)
	}
	st := &start{graph: mf.Graph, weights: mf.Weights, optimizer: mf.Optimizer, initEpoch: initEpoch,
		from: fmt.Sprintf("checkpoint %s (epoch %d)", path, mf.Epoch)}
	if rec, ok := mf.Extra["pruning"]; ok {
		st.extra = map[string]string{"pruning": rec}
	}
	return st, nil
}

// outputUnits is the size of the model's output layer (its class count).
func outputUnits(g *model.Graph) int {
	shapes, err := g.Shapes()
	if err != nil {
		return -1
	}
	return shapes[g.Output].Channels()
}

// loadPretrained applies pretrained_model_path: weights by layer name, or the pretrained graph
// itself when it is a pruned model.
func (st *start) loadPretrained(env *Env, e *spec.Experiment, path, key string, classes int) error {
	mf, err := modelfile.Load(path, key)
	if err != nil {
		return fmt.Errorf("pretrained_model_path: %w", err)
	}
	w, rep, err := train.Transfer(st.graph, mf.Graph, mf.Weights)
	if err != nil {
		return fmt.Errorf("pretrained_model_path %s: %w", path, err)
	}
	if !rep.Pruned {
		if len(rep.Copied) == 0 {
			return fmt.Errorf("pretrained_model_path %s: no layer matches the model by name and shape; check model_config (arch, n_layers) against the pretrained model", path)
		}
		st.weights, st.from = w, fmt.Sprintf("%s (%d layers copied, %d skipped)", path, len(rep.Copied), len(rep.Skipped))
		fmt.Fprint(env.Stdout, rep.String())
		return nil
	}
	if units := outputUnits(mf.Graph); units != classes {
		return fmt.Errorf("pretrained_model_path %s is a pruned model with %d classes but the dataset has %d", path, units, classes)
	}
	g := mf.Graph
	mc := e.Proto.GetModelConfig()
	train.ApplyModelConfig(g, e.FreezeBlocks(), mc.GetFreezeBn(), float32(e.BNMomentum()), float32(e.BNEpsilon()))
	st.graph, st.weights = g, mf.Weights
	st.from = path + " (pruned model: retraining its own graph)"
	if rec, ok := mf.Extra["pruning"]; ok {
		st.extra = map[string]string{"pruning": rec}
	}
	return nil
}

// checkpointSaver writes checkpoints as model files carrying the run's metadata.
func checkpointSaver(meta modelfile.File, key string) func(string, *train.Checkpoint) error {
	return func(path string, c *train.Checkpoint) error {
		f := meta
		f.Graph, f.Weights, f.Optimizer, f.Epoch = c.Graph, c.Weights, c.Optimizer, c.Epoch
		f.Extra = maps.Clone(meta.Extra)
		if f.Extra == nil {
			f.Extra = map[string]string{}
		}
		f.Extra["val_acc"] = strconv.FormatFloat(c.Metrics.ValAcc, 'g', -1, 64)
		f.Extra["val_loss"] = strconv.FormatFloat(c.Metrics.ValLoss, 'g', -1, 64)
		return modelfile.Save(path, &f, key)
	}
}

// distillTeacher is the loaded distillation teacher.
type distillTeacher struct {
	path   string
	file   *modelfile.File
	record string // the "distillation" metadata entry of the checkpoints
}

func (t *distillTeacher) model() *train.Teacher {
	if t == nil {
		return nil
	}
	return &train.Teacher{Graph: t.file.Graph, Weights: t.file.Weights}
}

// loadTeacher applies --teacher and train_config.distillation: it sets cfg's alpha and
// temperature and loads the teacher, checking that it sees images as the run does (classes,
// preprocessing). It returns nil without distillation.
func loadTeacher(e *spec.Experiment, f *trainFlags, cfg *engine.TrainConfig, meta modelfile.File) (*distillTeacher, error) {
	d := e.Distillation()
	path := d.TeacherPath
	if f.teacher != "" {
		path = f.teacher
	}
	if path == "" {
		if f.distillAlpha != 0 || f.distillTemperature != 0 {
			return nil, Usagef("--distill_alpha and --distill_temperature need a teacher: --teacher MODEL or train_config.distillation")
		}
		return nil, nil
	}
	cfg.DistillAlpha, cfg.DistillTemperature = d.Alpha, d.Temperature
	if f.distillAlpha != 0 {
		cfg.DistillAlpha = f.distillAlpha
	}
	if f.distillTemperature != 0 {
		cfg.DistillTemperature = f.distillTemperature
	}
	mf, err := modelfile.Load(path, f.key)
	if err != nil {
		return nil, fmt.Errorf("distillation teacher: %w", err)
	}
	if mf.Graph == nil {
		return nil, fmt.Errorf("distillation teacher %s has no model graph; give a model file written by bonsai", path)
	}
	if err := mf.CheckWeights(); err != nil {
		return nil, fmt.Errorf("distillation teacher %s: %w", path, err)
	}
	if !maps.Equal(mf.Classmap, meta.Classmap) {
		return nil, fmt.Errorf("distillation teacher %s predicts classes %v but the dataset has %v: give a teacher trained on the same classes", path, mf.Classmap, meta.Classmap)
	}
	if mf.Preprocessing.InputSize != meta.Preprocessing.InputSize || mf.Preprocessing.Mode != meta.Preprocessing.Mode {
		return nil, fmt.Errorf("distillation teacher %s takes %v images in %q mode but this run feeds %v in %q mode: give a teacher with the same input_image_size and preprocess_mode",
			path, mf.Preprocessing.InputSize, mf.Preprocessing.Mode, meta.Preprocessing.InputSize, meta.Preprocessing.Mode)
	}
	rec, _ := json.Marshal(map[string]any{"teacher": path, "alpha": cfg.DistillAlpha, "temperature": cfg.DistillTemperature})
	return &distillTeacher{path: path, file: mf, record: string(rec)}, nil
}

// plotCurves draws results.png.
func plotCurves(path string, rows []train.EpochLog) error {
	epochs := make([]report.Epoch, len(rows))
	for i, r := range rows {
		epochs[i] = report.Epoch{Epoch: r.Epoch, Acc: r.Acc, Loss: r.Loss, LR: r.LR, ValAcc: r.ValAcc, ValLoss: r.ValLoss}
	}
	return report.WriteTrainingCurves(path, epochs)
}

// printTrainHeader says what is about to run.
func printTrainHeader(env *Env, eng *engine.Engine, e *spec.Experiment, f *trainFlags, st *start, trainDS, valDS *data.Dataset) {
	w := env.Stdout
	printSummaries(w, st.graph, f.verbose)
	total, trainable, _ := st.graph.ParamCount()
	tc := e.Proto.GetTrainConfig()
	fmt.Fprintf(w, "Model: %s%d, %s parameters (%s trainable), weights from %s\n",
		st.graph.Arch, st.graph.NLayers, model.Group(int64(total)), model.Group(int64(trainable)), st.from)
	fmt.Fprintf(w, "Data: %d training images in %s, %d validation images in %s, %d classes\n",
		len(trainDS.Samples), e.TrainDatasetPath(), len(valDS.Samples), e.ValDatasetPath(), len(trainDS.Classes))
	fmt.Fprintf(w, "Training: epochs %d..%d, batch %d, %s optimizer, %s, on %s\n",
		st.initEpoch, tc.GetNEpochs(), tc.GetBatchSizePerGpu(), e.Optimizer().Kind, e.LRSchedule(), eng.Name)
	fmt.Fprintf(w, "Results: %s\n", filepath.Clean(f.results))
}
