package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/pretrained"
	"github.com/bonsai-ml/bonsai/report"
	"github.com/bonsai-ml/bonsai/results"
	"github.com/bonsai-ml/bonsai/spec"
)

// SpecOptions is a training run as the spec and the command line describe it.
type SpecOptions struct {
	Spec       *spec.Experiment // loaded and validated for spec.Train
	ResultsDir string
	Key        string // encrypts checkpoints and decrypts the models the run reads
	Classmap   string // classmap.json fixing the class order ("": folders sorted)
	// InitEpoch is TAO's --init_epoch (0 or 1: from the start); Resume continues from last.
	InitEpoch int
	Resume    bool
	// Force starts a fresh run in a folder holding another run's results, deleting them.
	Force bool
	// CheckpointInterval overrides train_config.checkpoint_interval (0: the spec's).
	CheckpointInterval int
	// Teacher overrides train_config.distillation's teacher; DistillAlpha and
	// DistillTemperature (0: the spec's) its weights.
	Teacher                          string
	DistillAlpha, DistillTemperature float64
	// DeviceIDs are the devices to train on data parallel (ChooseDevices: TAO's --gpus and
	// --gpu_index); nil trains on device 0 alone.
	DeviceIDs []int
	// UseAMP is TAO's --use_amp: bf16 mixed precision whatever train_config.precision says.
	UseAMP  bool
	Engine  *engine.Engine
	Verbose bool // print Bonsai's model summary too (FLOPs, blocks)
	// StrictPretrained fails unless every layer of pretrained_model_path loads (a
	// re-initialised head is allowed).
	StrictPretrained bool
	Progress         io.Writer // the progress bar (nil: none)
	Log              io.Writer // what the run does and its result (nil: nothing)
	Warn             io.Writer // warnings (nil: none)
}

// FromSpec builds the model the spec describes, opens its datasets, loads what it starts from
// (pretrained weights, a checkpoint to resume, a distillation teacher) and runs the training
// loop.
func FromSpec(ctx context.Context, o SpecOptions) (*Result, error) {
	e := o.Spec
	trainDS, valDS, err := openTrainDatasets(e, o.Classmap)
	if err != nil {
		return nil, err
	}
	specText, err := os.ReadFile(e.Path)
	if err != nil {
		return nil, fmt.Errorf("reading spec file: %w", err)
	}
	meta := modelfile.File{Classmap: data.MapFromClasses(trainDS.Classes), Preprocessing: modelfile.PreprocessingFromSpec(e),
		Spec: string(specText)}
	ext := modelfile.FileExt(o.Key)
	store := &fileStore{key: o.Key}
	folder, err := results.Open(o.ResultsDir, results.OpenOptions{Command: "classification train", Ext: ext,
		Continue: o.Resume || o.InitEpoch > 1, Force: o.Force, Checkpoints: store})
	if err != nil {
		return nil, err
	}
	defer folder.Close()
	folder.PrintNotes(o.Log)
	st, err := startingPoint(&o, folder, len(trainDS.Classes))
	if err != nil {
		return nil, err
	}
	if err := checkSameModel(st, e, meta.Classmap); err != nil {
		return nil, err
	}
	meta.Extra = st.extra
	batch := int(e.Proto.GetTrainConfig().GetBatchSizePerGpu())
	if err := o.Engine.CheckBatch(st.graph, min(batch, len(trainDS.Samples)), true); err != nil {
		return nil, fmt.Errorf("train_config.batch_size_per_gpu %d: %w", batch, err)
	}
	tcfg := TrainConfigFromSpec(e)
	if o.UseAMP {
		tcfg.Precision = engine.PrecisionBF16
	}
	tlOpts := TrainLoaderOptions(e)
	devices := dataParallel(e, o.DeviceIDs, &tcfg, &tlOpts)
	feedGPU(o.Engine, &tlOpts)
	tl, err := loader.New(loader.Items(trainDS), len(trainDS.Classes), tlOpts)
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	vl, err := loader.New(loader.Items(valDS), len(valDS.Classes), ValLoaderOptions(e))
	if err != nil {
		return nil, fmt.Errorf("validation data: %w", err)
	}
	teacher, err := loadTeacher(&o, &tcfg, &meta)
	if err != nil {
		return nil, err
	}
	printHeader(&o, st, trainDS, valDS)
	if devices > 1 {
		bn := "each device's own batch norm statistics (averaged moving statistics)"
		if tcfg.SyncBN {
			bn = "batch norm statistics of the whole batch (sync_bn)"
		}
		logf(o.Log, "Data parallel: %d devices %v, %d images per device and step (%d in all), learning rate x%d, %s\n",
			devices, o.DeviceIDs, tlOpts.BatchSize/devices, tlOpts.BatchSize, devices, bn)
	}
	if teacher != nil {
		logf(o.Log, "Distillation: teacher %s, alpha %g, temperature %g\n", teacher.path, tcfg.DistillAlpha, tcfg.DistillTemperature)
	}
	interval := o.CheckpointInterval
	if interval <= 0 {
		interval = e.CheckpointInterval()
	}
	store.meta = meta
	res, err := Run(ctx, Options{
		ResultsDir: o.ResultsDir, Engine: o.Engine, Results: folder,
		Graph: st.graph, Weights: st.weights, Optimizer: st.optimizer, InitEpoch: st.initEpoch,
		Train: tcfg, Teacher: teacher.model(), Schedule: ScheduleFromSpec(e, devices),
		Epochs:    int(e.Proto.GetTrainConfig().GetNEpochs()),
		TrainData: tl, ValData: vl, Classes: trainDS.Classes,
		Save: store.save, Load: store.load, Ext: ext, CheckpointInterval: interval,
		Plot: report.WriteTrainingCurves, TensorBoard: TensorBoardFromSpec(e),
		HTMLReport: true, Pruning: pruningRecord(st.extra),
		Facts:    [][2]string{{"spec", e.Path}, {"weights from", st.from}},
		Progress: o.Progress, Log: o.Log, Warn: o.Warn,
	})
	if bad := tl.BadImageSummary(); bad != "" && o.Warn != nil {
		fmt.Fprintln(o.Warn, "warning:", bad)
	}
	return res, err
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// openTrainDatasets lists the training and validation folders (in the class order of the
// classmap file at classmapPath, when given) and checks that they hold the same classes.
func openTrainDatasets(e *spec.Experiment, classmapPath string) (*data.Dataset, *data.Dataset, error) {
	var cm data.ClassMap
	if classmapPath != "" {
		var err error
		if cm, err = data.ReadClassMap(classmapPath); err != nil {
			return nil, nil, err
		}
	}
	tc := e.Proto.GetTrainConfig()
	trainDS, err := data.Open(e.TrainDatasetPath(), cm)
	if err != nil {
		return nil, nil, e.ExplainMissing("train_config.train_dataset_path", tc.GetTrainDatasetPath(), err)
	}
	valDS, err := data.Open(e.ValDatasetPath(), cm)
	if err != nil {
		return nil, nil, e.ExplainMissing("train_config.val_dataset_path", tc.GetValDatasetPath(), err)
	}
	if err := data.CheckSameClasses(trainDS, valDS, nil); err != nil {
		return nil, nil, fmt.Errorf("%w; give train_dataset_path and val_dataset_path the same class folders", err)
	}
	return trainDS, valDS, nil
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
	spec      string            // the spec text a resumed checkpoint records
	classmap  map[string]int    // the classmap a resumed checkpoint records
}

// startingPoint builds the model and loads the checkpoint to resume from or the pretrained
// weights to start from.
func startingPoint(o *SpecOptions, folder *results.Run, classes int) (*start, error) {
	e := o.Spec
	g, err := arch.BuildFromSpec(e, classes)
	if err != nil {
		return nil, err
	}
	ext := modelfile.FileExt(o.Key)
	epochs := int(e.Proto.GetTrainConfig().GetNEpochs())
	switch {
	case o.Resume:
		last := results.LastPath(o.ResultsDir, ext)
		if _, err := os.Stat(last); errors.Is(err, os.ErrNotExist) && len(folder.History) == 0 {
			if err := checkOtherExt(last, o.Key); err != nil {
				return nil, err
			}
			logf(o.Log, "Nothing to resume in %s (no epoch finished): starting at epoch 1\n", o.ResultsDir)
			return fresh(o, g, classes)
		}
		st, err := resumeFrom(last, 0, o.Key, classes)
		if err == nil && st.initEpoch > epochs {
			return nil, fmt.Errorf("the run in %s already finished its %d epochs (train_config.n_epochs); raise n_epochs to train on, or start a new run", o.ResultsDir, epochs)
		}
		return st, err
	case o.InitEpoch > 1:
		return resumeFrom(resumeCheckpoint(o, g.Arch, ext), o.InitEpoch, o.Key, classes)
	}
	return fresh(o, g, classes)
}

// fresh starts from random weights, or the pretrained model's.
func fresh(o *SpecOptions, g *model.Graph, classes int) (*start, error) {
	e := o.Spec
	st := &start{graph: g, initEpoch: 1, from: "random initialisation (seed " + strconv.Itoa(int(e.Proto.GetTrainConfig().GetRandomSeed())) + ")"}
	if p := e.PretrainedModelPath(); p != "" {
		if err := st.loadPretrained(o, p, classes); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// checkOtherExt reports a checkpoint that exists with the other extension: an encrypted run
// continued without its key, or the other way round.
func checkOtherExt(path, key string) error {
	other := strings.TrimSuffix(path, modelfile.FileExt(key))
	if key == "" {
		other += modelfile.EncryptedExt
	} else {
		other += modelfile.Ext
	}
	if _, err := os.Stat(other); err != nil {
		return nil
	}
	if key == "" {
		return fmt.Errorf("%s: %w", other, modelfile.ErrKeyRequired)
	}
	return fmt.Errorf("the run's checkpoints are not encrypted (%s): continue it without a key", other)
}

// checkSameModel refuses to continue a checkpoint whose spec or classes differ from this
// run's in what decides the model: the checkpoint would go on training another model.
func checkSameModel(st *start, e *spec.Experiment, classmap map[string]int) error {
	if st.spec == "" && st.classmap == nil {
		return nil
	}
	var diffs []string
	if old, err := spec.ParseRecorded(st.spec); err == nil {
		diffs = spec.ModelDiff(old, e)
	}
	if st.classmap != nil && !maps.Equal(st.classmap, classmap) {
		diffs = append(diffs, fmt.Sprintf("classes: %v -> %v", classNames(st.classmap), classNames(classmap)))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("cannot continue %s with this spec: it trained another model (%s); use the spec it was trained with, or start a new run in another folder",
		st.from, strings.Join(diffs, "; "))
}

// classNames lists a classmap's classes in index order.
func classNames(cm map[string]int) any {
	names, err := data.ClassesFromMap(cm)
	if err != nil {
		return cm
	}
	return names
}

// resumeCheckpoint picks the checkpoint of epoch InitEpoch-1: the spec's
// pretrained_model_path when it is one (TAO's way), else the results folder's.
func resumeCheckpoint(o *SpecOptions, arch, ext string) string {
	if p := o.Spec.PretrainedModelPath(); p != "" {
		if mf, err := modelfile.Load(p, o.Key); err == nil && mf.Graph != nil && mf.Epoch == o.InitEpoch-1 {
			return p
		}
	}
	if last := results.LastPath(o.ResultsDir, ext); lastEpoch(last, o.Key) == o.InitEpoch-1 {
		return last
	}
	return results.EpochCheckpointPath(o.ResultsDir, arch, o.InitEpoch-1, ext)
}

// lastEpoch is the epoch of the checkpoint at path, or -1.
func lastEpoch(path, key string) int {
	mf, err := modelfile.Load(path, key)
	if err != nil {
		return -1
	}
	return mf.Epoch
}

// resumeFrom loads a checkpoint (with its optimizer state when it has one); initEpoch 0 means
// the epoch after the checkpoint's.
func resumeFrom(path string, initEpoch int, key string, classes int) (*start, error) {
	mf, err := modelfile.Load(path, key)
	if errors.Is(err, os.ErrNotExist) {
		if err := checkOtherExt(path, key); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("resuming: no checkpoint %s (resuming at epoch N needs the checkpoint of epoch N-1: train_config.pretrained_model_path, or the results folder's)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	if mf.Graph == nil {
		return nil, fmt.Errorf("resuming: %s is not a training checkpoint (it has no model graph)", path)
	}
	if initEpoch == 0 {
		initEpoch = mf.Epoch + 1
	} else if mf.Epoch != initEpoch-1 {
		return nil, fmt.Errorf("resuming at epoch %d needs the checkpoint of epoch %d, but %s is from epoch %d", initEpoch, initEpoch-1, path, mf.Epoch)
	}
	if units := mf.Graph.OutputUnits(); units != classes {
		return nil, fmt.Errorf("resuming: %s predicts %d classes but the dataset has %d", path, units, classes)
	}
	st := &start{graph: mf.Graph, weights: mf.Weights, optimizer: mf.Optimizer, initEpoch: initEpoch,
		from: fmt.Sprintf("checkpoint %s (epoch %d)", path, mf.Epoch), spec: mf.Spec, classmap: mf.Classmap}
	if len(mf.Optimizer) == 0 {
		st.from += ", without optimizer state: the optimizer starts afresh, so the result differs from an uninterrupted run"
	}
	if rec, ok := mf.Extra[results.MetaPruning]; ok {
		st.extra = map[string]string{results.MetaPruning: rec}
	}
	return st, nil
}

// loadPretrained applies pretrained_model_path (any format package pretrained reads: Bonsai,
// Keras/TAO HDF5, TF.js, ONNX): weights by layer name with a per-layer table, or the pretrained
// graph itself when it is a pruned Bonsai model.
func (st *start) loadPretrained(o *SpecOptions, path string, classes int) error {
	src, err := pretrained.Load(path, pretrained.Options{Key: o.Key})
	if err != nil {
		return o.Spec.ExplainMissing("train_config.pretrained_model_path", o.Spec.Proto.GetTrainConfig().GetPretrainedModelPath(), err)
	}
	w, table, err := pretrained.Transfer(st.graph, src)
	if err != nil {
		return fmt.Errorf("pretrained_model_path %s: %w", path, err)
	}
	if !table.Pruned {
		if len(table.Loaded()) == 0 {
			return fmt.Errorf("pretrained_model_path %s: no layer matches the model by name and shape; check model_config (arch, n_layers, width_multiplier) against the pretrained model", path)
		}
		logf(o.Log, "Pretrained weights from %s (%s):\n", path, src.Format)
		for _, n := range src.Notes {
			logf(o.Log, "  %s\n", n)
		}
		if o.Log != nil {
			if err := table.Print(o.Log); err != nil {
				return err
			}
		}
		if o.StrictPretrained {
			if err := table.Strict(); err != nil {
				return fmt.Errorf("pretrained_model_path %s: %w", path, err)
			}
		}
		st.weights, st.from = w, fmt.Sprintf("%s (%s)", path, table.Summary())
		return nil
	}
	mf := src.File
	if units := mf.Graph.OutputUnits(); units != classes {
		return fmt.Errorf("pretrained_model_path %s is a pruned model with %d classes but the dataset has %d", path, units, classes)
	}
	e := o.Spec
	g := mf.Graph
	ApplyModelConfig(g, e.FreezeBlocks(), e.Proto.GetModelConfig().GetFreezeBn(), float32(e.BNMomentum()), float32(e.BNEpsilon()))
	st.graph, st.weights = g, mf.Weights
	st.from = path + " (pruned model: retraining its own graph)"
	if rec, ok := mf.Extra[results.MetaPruning]; ok {
		st.extra = map[string]string{results.MetaPruning: rec}
	}
	return nil
}

// fileStore writes and reads checkpoints as model files carrying the run's metadata.
type fileStore struct {
	meta modelfile.File
	key  string
}

func (s *fileStore) save(path string, c *Checkpoint) error {
	f := s.meta
	f.Graph, f.Weights, f.Optimizer, f.Epoch = c.Graph, c.Weights, c.Optimizer, c.Epoch
	f.Extra = maps.Clone(s.meta.Extra)
	if f.Extra == nil {
		f.Extra = map[string]string{}
	}
	meta, err := results.EpochMeta(c.Metrics)
	if err != nil {
		return err
	}
	maps.Copy(f.Extra, meta)
	return modelfile.Save(path, &f, s.key)
}

// Row is the epoch row the checkpoint at path records (results.Checkpoints).
func (s *fileStore) Row(path string) (results.Epoch, error) {
	c, err := s.load(path)
	if err != nil {
		return results.Epoch{}, err
	}
	return c.Metrics, nil
}

// CopyWeights rewrites the checkpoint at from as to without its optimizer state
// (results.Checkpoints).
func (s *fileStore) CopyWeights(from, to string) error {
	mf, err := modelfile.Load(from, s.key)
	if err != nil {
		return err
	}
	mf.Optimizer = nil
	return modelfile.Save(to, mf, s.key)
}

func (s *fileStore) load(path string) (*Checkpoint, error) {
	mf, err := modelfile.Load(path, s.key)
	if err != nil {
		return nil, err
	}
	row, err := results.EpochFromMeta(mf.Extra, mf.Epoch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Checkpoint{Graph: mf.Graph, Weights: mf.Weights, Optimizer: mf.Optimizer, Epoch: mf.Epoch, Metrics: row}, nil
}

// distillTeacher is the loaded distillation teacher.
type distillTeacher struct {
	path string
	file *modelfile.File
}

func (t *distillTeacher) model() *Teacher {
	if t == nil {
		return nil
	}
	return &Teacher{Graph: t.file.Graph, Weights: t.file.Weights}
}

// ErrNoTeacher is returned when distillation weights are given without a teacher.
var ErrNoTeacher = errors.New("distillation alpha and temperature need a teacher model (train_config.distillation.teacher_model_path)")

// loadTeacher applies the teacher options and train_config.distillation: it sets cfg's alpha
// and temperature, loads the teacher, checks that it sees images as the run does (classes,
// preprocessing) and records it in meta. It returns nil without distillation.
func loadTeacher(o *SpecOptions, cfg *engine.TrainConfig, meta *modelfile.File) (*distillTeacher, error) {
	d := o.Spec.Distillation()
	path := d.TeacherPath
	if o.Teacher != "" {
		path = o.Teacher
	}
	if path == "" {
		if o.DistillAlpha != 0 || o.DistillTemperature != 0 {
			return nil, ErrNoTeacher
		}
		return nil, nil
	}
	cfg.DistillAlpha, cfg.DistillTemperature = d.Alpha, d.Temperature
	if o.DistillAlpha != 0 {
		cfg.DistillAlpha = o.DistillAlpha
	}
	if o.DistillTemperature != 0 {
		cfg.DistillTemperature = o.DistillTemperature
	}
	mf, err := modelfile.Load(path, o.Key)
	if err != nil {
		return nil, fmt.Errorf("distillation teacher: %w", err)
	}
	if err := checkTeacher(path, mf, meta); err != nil {
		return nil, err
	}
	rec, err := results.DistillRecord{Teacher: path, Alpha: cfg.DistillAlpha, Temperature: cfg.DistillTemperature}.Encode()
	if err != nil {
		return nil, err
	}
	meta.Extra = maps.Clone(meta.Extra)
	if meta.Extra == nil {
		meta.Extra = map[string]string{}
	}
	meta.Extra[results.MetaDistillation] = rec
	return &distillTeacher{path: path, file: mf}, nil
}

// checkTeacher checks that the teacher model sees images as the run's model does.
func checkTeacher(path string, mf *modelfile.File, meta *modelfile.File) error {
	if mf.Graph == nil {
		return fmt.Errorf("distillation teacher %s has no model graph; give a model file written by bonsai", path)
	}
	if err := mf.CheckWeights(); err != nil {
		return fmt.Errorf("distillation teacher %s: %w", path, err)
	}
	if !maps.Equal(mf.Classmap, meta.Classmap) {
		return fmt.Errorf("distillation teacher %s predicts classes %v but the dataset has %v: give a teacher trained on the same classes", path, mf.Classmap, meta.Classmap)
	}
	if mf.Preprocessing.InputSize != meta.Preprocessing.InputSize || mf.Preprocessing.Mode != meta.Preprocessing.Mode {
		return fmt.Errorf("distillation teacher %s takes %v images in %q mode but this run feeds %v in %q mode: give a teacher with the same input_image_size and preprocess_mode",
			path, mf.Preprocessing.InputSize, mf.Preprocessing.Mode, meta.Preprocessing.InputSize, meta.Preprocessing.Mode)
	}
	return nil
}

// printHeader says what is about to run.
func printHeader(o *SpecOptions, st *start, trainDS, valDS *data.Dataset) {
	w := o.Log
	if w == nil {
		return
	}
	if s, err := st.graph.Summarize(); err == nil {
		s.PrintKeras(w) // as TAO's train prints final_model.summary()
		if o.Verbose {
			s.Print(w)
		}
	}
	e := o.Spec
	total, trainable, _ := st.graph.ParamCount()
	tc := e.Proto.GetTrainConfig()
	fmt.Fprintf(w, "Model: %s%d, %s parameters (%s trainable), weights from %s\n",
		st.graph.Arch, st.graph.NLayers, model.Group(int64(total)), model.Group(int64(trainable)), st.from)
	fmt.Fprintf(w, "Data: %d training images in %s, %d validation images in %s, %d classes\n",
		len(trainDS.Samples), e.TrainDatasetPath(), len(valDS.Samples), e.ValDatasetPath(), len(trainDS.Classes))
	fmt.Fprintf(w, "Training: epochs %d..%d, batch %d, %s optimizer, %s, on %s\n",
		st.initEpoch, tc.GetNEpochs(), tc.GetBatchSizePerGpu(), e.Optimizer().Kind, e.LRSchedule(), o.Engine.Name)
	fmt.Fprintf(w, "Results: %s\n", filepath.Clean(o.ResultsDir))
}
