package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/results"
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

const trainUsage = `-e SPEC -r RESULTS_DIR [-k KEY] [--init_epoch N | --resume | --force] [--checkpoint_interval N] [-c CLASSMAP] [--teacher MODEL [--distill_alpha A] [--distill_temperature T]] [--backend B] [--gpus N [--gpu_index i ...]] [--log_file FILE] [--strict] [-v]

Trains model_config's network on train_config.train_dataset_path (one folder per class) and
validates it on val_dataset_path after every epoch, as TAO's "classification train" does.

RESULTS_DIR receives TAO's outputs:
  weights/<arch>_NNN.safetensors   weights every --checkpoint_interval epochs and at the last
                                   (default: every epoch up to 20 epochs, else at most 20 files;
                                   .safetensors.enc with -k)
  weights/best.*, weights/last.*   the best epoch (validation accuracy) and the latest one; only
                                   last keeps the optimizer state
  classmap.json, training.csv, status.json (JSON lines), results.png (training curves)
  events/                          TensorBoard event files: loss, acc, lr per iteration; val_loss,
                                   val_acc, throughput per epoch; with train_config.visualizer
                                   { enabled: true } num_images augmented images per epoch, with
                                   weight_histograms per-layer weight histograms

The run holds RESULTS_DIR's lock; a fresh run into a folder holding another run's epochs is
refused (--resume continues it, --force deletes its results first). A run killed at any moment
continues with --resume as if uninterrupted.

Transfer learning: train_config.pretrained_model_path's weights are copied by layer name
where shapes match (Keras names in another case match too: bn_Conv1 is bn_conv1), with a
table of the layers loaded, re-initialised (the head, for another class count), new, skipped
and unused; --strict fails unless every layer loads. The path may be a Bonsai model file, a
Keras/TAO .h5/.hdf5 file, a TensorFlow.js model.json (or its folder) or an ONNX file. A pruned
Bonsai model (its layers differ) is retrained as its own graph.
Resume: --resume continues from RESULTS_DIR/weights/last.*: weights, optimizer state and
schedule position are restored, so the result is the same as an uninterrupted run.
--init_epoch N restarts at epoch N from the checkpoint of epoch N-1 (the spec's
pretrained_model_path, as in TAO, or RESULTS_DIR's last or weights/<arch>_<N-1>.*); from an
epoch file, which holds no optimizer state, the optimizer starts afresh. Either refuses a spec
whose model (model_config, preprocess_mode, optimizer) or classes differ from the checkpoint's.

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
	initEpoch, gpus, interval                      int
	resume, force, verbose, amp, strict            bool
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
	fs.BoolVar(&f.strict, "strict", false, "with pretrained_model_path: fail unless every layer loads (a re-initialised head is allowed)")
	fs.IntVar(&f.initEpoch, "init_epoch", 1, "epoch to start at (1-based); >1 resumes from the checkpoint of the epoch before")
	fs.BoolVar(&f.resume, "resume", false, "resume from RESULTS_DIR/weights/last.* (sets --init_epoch)")
	fs.BoolVar(&f.force, "force", false, "start a fresh run in a RESULTS_DIR that holds another run's results, deleting them")
	fs.IntVar(&f.interval, "checkpoint_interval", 0, "write weights/<arch>_NNN every N epochs (default: train_config.checkpoint_interval, else every epoch up to 20 epochs and n_epochs/20 beyond)")
	BackendFlag(fs, &f.backend)
	fs.IntVar(&f.gpus, "gpus", 1, "number of devices (TAO: GPUs) to train on")
	fs.Var(&f.gpuIndex, "gpu_index", "device ids to use (space-separated, one per --gpus)")
	fs.StringVar(&f.logFile, "log_file", "", "append standard output and error to this file")
	fs.BoolVar(&f.amp, "use_amp", false, "mixed precision: bfloat16 compute, float32 master weights (as train_config.precision: \"bf16\"; GPUs; the pure-Go backend trains in float32)")
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
	case f.force && (f.resume || f.initEpoch > 1):
		return Usagef("--force starts a fresh run; it cannot go with --resume or --init_epoch")
	case f.interval < 0:
		return Usagef("--checkpoint_interval %d: must be at least 1", f.interval)
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
	notes := engine.Notes
	engine.Notes = f
	return func() { engine.Notes = notes; f.Close() }, nil
}

// openDevices opens the backend and chooses the devices --gpus and --gpu_index ask for.
func openDevices(backend string, gpus int, gpuIndex []string) (*engine.Engine, []int, error) {
	eng, err := engine.Open(backend)
	if err != nil {
		return nil, nil, err
	}
	var index []int
	for _, v := range gpuIndex {
		i, _ := strconv.Atoi(v) // checked by trainFlags.check
		index = append(index, i)
	}
	ids, err := train.ChooseDevices(eng, gpus, index)
	return eng, ids, err
}

// trainFromSpec loads the spec and opens the devices, then runs the training.
func trainFromSpec(ctx context.Context, env *Env, f *trainFlags) error {
	e, err := spec.LoadFor(f.spec, spec.Train)
	if err != nil {
		return UsageError{err}
	}
	for _, w := range e.Warnings() {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	eng, ids, err := openDevices(f.backend, f.gpus, f.gpuIndex.Values)
	if err != nil {
		return err
	}
	_, err = train.FromSpec(ctx, train.SpecOptions{
		Spec: e, ResultsDir: f.results, Key: f.key, Classmap: f.classmap,
		InitEpoch: f.initEpoch, Resume: f.resume, Force: f.force, CheckpointInterval: f.interval,
		Teacher: f.teacher, DistillAlpha: f.distillAlpha, DistillTemperature: f.distillTemperature,
		DeviceIDs: ids, UseAMP: f.amp, Engine: eng, Verbose: f.verbose, StrictPretrained: f.strict,
		Progress: env.Stderr, Log: env.Stdout, Warn: env.Stderr,
	})
	switch {
	case errors.Is(err, train.ErrNoTeacher):
		return Usagef("--distill_alpha and --distill_temperature need a teacher: --teacher MODEL or train_config.distillation")
	case errors.Is(err, results.ErrHasResults):
		return UsageError{fmt.Errorf("%w; continue that run with --resume, or add --force to delete its results and start over", err)}
	case errors.Is(err, train.ErrInterrupted) || errors.Is(err, engine.ErrNonFinite):
		if _, serr := os.Stat(results.LastPath(f.results, modelfile.FileExt(f.key))); serr == nil {
			fmt.Fprintf(env.Stderr, "checkpoints of finished epochs are in %s; continue with the same command plus --resume\n", filepath.Join(f.results, results.WeightsDir))
		}
		if errors.Is(err, train.ErrInterrupted) {
			return interrupted(err)
		}
	}
	return err
}
