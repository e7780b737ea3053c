package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/prune"
	"github.com/bonsai-ml/bonsai/spec"
)

func init() {
	Register(&Command{
		Path:  "classification prune-sweep",
		Short: "prune at several thresholds: parameters, FLOPs, file size and accuracy before retraining, with a plot",
		Run:   runClassificationPruneSweep,
	})
}

const pruneSweepUsage = `-m MODEL -o DIR [--thresholds 0.1,0.3,0.5,0.7] [-e SPEC | --data DIR] [-cm CLASSMAP]
       [-n ...] [-eq ...] [-pg 8] [-nf 16] [-el LAYER ...] [-k KEY] [--save-models] [--backend B]

Prunes MODEL at each threshold (TAO's algorithm, as 'classification prune') and reports the
parameters, FLOPs and model file size of each pruned model, as fractions of the unpruned one.
With a dataset (--data, a folder per class; or -e SPEC, whose eval_config.eval_dataset_path,
else train_config.val_dataset_path, is used) it also measures each pruned model's top-1
accuracy before retraining. Writes DIR/sweep.csv and DIR/sweep.png (the curves against the
threshold); --save-models also keeps DIR/pruned_pth_<T>.safetensors.`

type sweepFlags struct {
	model, out, thresholds, key, fractions string
	data                                   dataFlags
	opts                                   prune.Options
	excluded                               MultiFlag
	save, perLayer                         bool
}

// dataFlags name a dataset to measure accuracy on (prune-sweep; prune's sensitivity allocation).
type dataFlags struct {
	spec, data, classmap, backend string
	batch                         int
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.spec, "e", "", "experiment spec: its eval (else val) dataset measures accuracy")
	alias(fs, "e", "experiment_spec")
	fs.StringVar(&d.data, "data", "", "dataset folder (one folder per class) to measure accuracy on")
	fs.StringVar(&d.classmap, "cm", "", "classmap.json giving the class order (default: the model's)")
	alias(fs, "cm", "classmap")
	fs.IntVar(&d.batch, "b", 32, "batch size for the accuracy runs")
	fs.StringVar(&d.backend, "backend", "", engine.BackendHelp)
}

func (d *dataFlags) check() error {
	if d.spec != "" && d.data != "" {
		return Usagef("give either -e SPEC or --data DIR, not both")
	}
	return nil
}

func runClassificationPruneSweep(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification prune-sweep", pruneSweepUsage)
	var f sweepFlags
	fs.StringVar(&f.model, "m", "", "model file to prune; required")
	alias(fs, "m", "model")
	fs.StringVar(&f.out, "o", "", "output folder for sweep.csv and sweep.png; required")
	alias(fs, "o", "output_dir")
	fs.StringVar(&f.thresholds, "thresholds", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8", "comma-separated pruning thresholds")
	f.data.register(fs)
	fs.BoolVar(&f.save, "save-models", false, "also write each pruned model into the output folder")
	fs.BoolVar(&f.perLayer, "per-layer", false, "instead of thresholds: prune each layer (or equalization group) alone to each of --fractions and measure accuracy (needs a dataset)")
	fs.StringVar(&f.fractions, "fractions", "0.25,0.5,0.75", "kept channel fractions for --per-layer")
	addPruneOptionFlags(fs, &f.opts, &f.excluded, &f.key)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	f.opts.Excluded = f.excluded.Values
	if f.model == "" || f.out == "" {
		return Usagef("-m MODEL and -o DIR are required")
	}
	if err := f.data.check(); err != nil {
		return err
	}
	if err := f.opts.Check(); err != nil {
		return UsageError{err}
	}
	if f.perLayer {
		fr, err := parseFractions("--fractions", f.fractions)
		if err != nil {
			return err
		}
		return sweepPerLayer(env, &f, fr)
	}
	ths, err := parseThresholds(f.thresholds)
	if err != nil {
		return err
	}
	return sweep(env, &f, ths)
}

// parseFractions parses kept fractions in (0, 1).
func parseFractions(flagName, s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(v > 0 && v < 1) {
			return nil, Usagef("%s %q: %q is not a fraction between 0 and 1", flagName, s, strings.TrimSpace(part))
		}
		out = append(out, v)
	}
	return out, nil
}

// sweepPerLayer prunes each unit alone to each fraction and tabulates the accuracy.
func sweepPerLayer(env *Env, f *sweepFlags, fractions []float64) error {
	mf, err := loadModelFile(f.model, f.key)
	if err != nil {
		return err
	}
	probe, err := newAccuracyProbe(env, &f.data, mf, false)
	if err != nil {
		return err
	}
	if probe == nil {
		return Usagef("--per-layer measures accuracy: give -e SPEC or --data DIR")
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", f.out, err)
	}
	base, sens, err := prune.Sensitivity(mf.Graph, mf.Weights, f.opts, fractions, probe.resultAccuracy(mf))
	if err != nil {
		return fmt.Errorf("per-layer sweep of %s: %w", f.model, err)
	}
	path := filepath.Join(f.out, "per_layer.csv")
	if err := atomicfile.Write(path, func(w io.Writer) error { return prune.WriteSensitivityCSV(w, base, sens) }); err != nil {
		return err
	}
	if err := prune.WriteSensitivityTable(env.Stdout, base, sens); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote %s\n", path)
	return nil
}

// resultAccuracy measures a pruned graph that keeps mf's classmap and preprocessing.
func (a *accuracyProbe) resultAccuracy(mf *modelfile.File) func(*prune.Result) (float64, error) {
	return func(r *prune.Result) (float64, error) {
		return a.accuracy(&modelfile.File{Graph: r.Graph, Weights: r.Weights, Classmap: mf.Classmap, Preprocessing: mf.Preprocessing, Spec: mf.Spec})
	}
}

func parseThresholds(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v < 0 || math.IsNaN(v) {
			return nil, Usagef("--thresholds %q: %q is not a threshold >= 0", s, strings.TrimSpace(part))
		}
		out = append(out, v)
	}
	return out, nil
}

// accuracyProbe measures top-1 accuracy on a dataset (nil: no dataset, NaN accuracy).
type accuracyProbe struct {
	env        *Env
	backend    string
	ds         *data.Dataset
	p          modelfile.Preprocessing
	centerCrop bool
	batch      int
}

func (a *accuracyProbe) accuracy(mf *modelfile.File) (float64, error) {
	if a == nil {
		return math.NaN(), nil
	}
	rep, err := evaluateDataset(a.env, a.backend, mf, a.ds, a.p, a.centerCrop, a.batch, 1, false)
	if err != nil {
		return 0, err
	}
	return rep.Accuracy, nil
}

// newAccuracyProbe opens the dataset of --data or of the spec, if any.
// With val, a spec's val_dataset_path is preferred to its eval dataset.
func newAccuracyProbe(env *Env, f *dataFlags, mf *modelfile.File, val bool) (*accuracyProbe, error) {
	dir := f.data
	var e *spec.Experiment
	if f.spec != "" {
		var err error
		if e, err = spec.Load(f.spec); err != nil {
			return nil, UsageError{err}
		}
		first, second := e.EvalDatasetPath(), e.ValDatasetPath()
		if val {
			first, second = second, first
		}
		if dir = first; dir == "" {
			dir = second
		}
		if dir == "" {
			return nil, Usagef("%s has neither eval_config.eval_dataset_path nor train_config.val_dataset_path", f.spec)
		}
	}
	if dir == "" {
		return nil, nil
	}
	ds, err := openEvalDataset(dir, f.classmap, mf)
	if err != nil {
		return nil, err
	}
	centerCrop := mf.Preprocessing.CenterCrop
	if e != nil {
		centerCrop = e.Proto.GetEvalConfig().GetEnableCenterCrop()
	}
	return &accuracyProbe{env: env, backend: f.backend, ds: ds, p: preprocessing(e, mf), centerCrop: centerCrop, batch: f.batch}, nil
}

func sweep(env *Env, f *sweepFlags, ths []float64) error {
	mf, err := loadModelFile(f.model, f.key)
	if err != nil {
		return err
	}
	mf.Optimizer = nil // sizes compare models, not checkpoints
	probe, err := newAccuracyProbe(env, &f.data, mf, false)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", f.out, err)
	}
	orig, err := sweepPoint(mf, probe)
	if err != nil {
		return err
	}
	var points []prune.SweepPoint
	for _, th := range ths {
		o := f.opts
		o.Threshold = th
		res, err := prune.Prune(mf.Graph, mf.Weights, o)
		if err != nil {
			return fmt.Errorf("pruning %s at %g: %w", f.model, th, err)
		}
		pf := prunedFile(mf, res, f.model, 0, "")
		pt, err := sweepPoint(pf, probe)
		if err != nil {
			return fmt.Errorf("threshold %g: %w", th, err)
		}
		pt.Threshold = th
		pt.ParamRatio = float64(pt.Params) / float64(orig.Params)
		pt.FLOPsRatio = float64(pt.FLOPs) / float64(orig.FLOPs)
		pt.FileRatio = float64(pt.FileBytes) / float64(orig.FileBytes)
		points = append(points, pt)
		if f.save {
			path := filepath.Join(f.out, "pruned_pth_"+strconv.FormatFloat(th, 'g', -1, 64)+modelfile.FileExt(f.key))
			if err := modelfile.Save(path, pf, f.key); err != nil {
				return err
			}
		}
	}
	return writeSweep(env, f.out, orig, points)
}

// sweepPoint measures one model: parameters, compute, encoded file size and accuracy.
func sweepPoint(mf *modelfile.File, probe *accuracyProbe) (prune.SweepPoint, error) {
	size, err := prune.SizeOf(mf.Graph)
	if err != nil {
		return prune.SweepPoint{}, err
	}
	enc, err := modelfile.Encode(mf)
	if err != nil {
		return prune.SweepPoint{}, err
	}
	acc, err := probe.accuracy(mf)
	if err != nil {
		return prune.SweepPoint{}, err
	}
	return prune.SweepPoint{Params: size.Params, MACs: size.MACs, FLOPs: size.FLOPs, FileBytes: int64(len(enc)),
		ParamRatio: 1, FLOPsRatio: 1, FileRatio: 1, Accuracy: acc}, nil
}

func writeSweep(env *Env, dir string, orig prune.SweepPoint, points []prune.SweepPoint) error {
	var csv bytes.Buffer
	if err := prune.WriteSweepCSV(&csv, orig, points); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "sweep.csv"), func(w io.Writer) error {
		_, err := w.Write(csv.Bytes())
		return err
	}); err != nil {
		return err
	}
	if err := prune.WriteSweepPNG(filepath.Join(dir, "sweep.png"), orig, points); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pth\tparams\tkept\tFLOPs\tkept\tfile bytes\tkept\taccuracy\t")
	row := func(th string, p prune.SweepPoint) {
		acc := "-"
		if !math.IsNaN(p.Accuracy) {
			acc = fmt.Sprintf("%.4f", p.Accuracy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t%.3f\t%s\t%.3f\t%s\t\n", th, model.Group(int64(p.Params)), p.ParamRatio,
			model.Group(p.FLOPs), p.FLOPsRatio, model.Group(p.FileBytes), p.FileRatio, acc)
	}
	row("original", orig)
	for _, p := range points {
		row(strconv.FormatFloat(p.Threshold, 'g', -1, 64), p)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote %s and %s\n", filepath.Join(dir, "sweep.csv"), filepath.Join(dir, "sweep.png"))
	return nil
}
