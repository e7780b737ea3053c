package cli

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/prune"
	"github.com/bonsai-ml/bonsai/report"
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
       [-n ...] [-eq ...] [-pg 8] [-nf 16] [-el LAYER ...] [-k KEY] [--save_models] [--backend B]

Prunes MODEL at each threshold (TAO's algorithm, as 'classification prune') and reports the
parameters, FLOPs and model file size of each pruned model, as fractions of the unpruned one.
With a dataset (--data, a folder per class; or -e SPEC, whose eval_config.eval_dataset_path,
else train_config.val_dataset_path, is used) it also measures each pruned model's top-1
accuracy before retraining. Writes DIR/sweep.csv and DIR/sweep.png (the curves against the
threshold); --save_models also keeps DIR/pruned_pth_<T>.safetensors.

--per_layer [--fractions 0.25,0.5,0.75] (Bonsai) measures sensitivity instead: each unit (a
prunable layer alone, or an equalization group) is pruned alone to each kept fraction of its
channels, its strongest by --criterion, and the model's accuracy is measured (a dataset is
needed). Prints the accuracy change per unit and fraction with the share of the parameters
the unit holds, and writes DIR/per_layer.csv. 'classification prune --target_ratio' uses
these measurements to share out the cut (--allocation sensitivity).`

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
	BackendFlag(fs, &d.backend)
}

func (d *dataFlags) check() error {
	if d.spec != "" && d.data != "" {
		return Usagef("give either -e SPEC or --data DIR, not both")
	}
	return nil
}

func (d *dataFlags) given() bool { return d.spec != "" || d.data != "" }

func runClassificationPruneSweep(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification prune-sweep", pruneSweepUsage)
	var f sweepFlags
	fs.StringVar(&f.model, "m", "", "model file to prune; required")
	alias(fs, "m", "model")
	fs.StringVar(&f.out, "o", "", "output folder for sweep.csv and sweep.png; required")
	alias(fs, "o", "output_dir")
	fs.StringVar(&f.thresholds, "thresholds", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8", "comma-separated pruning thresholds")
	f.data.register(fs)
	fs.BoolVar(&f.save, "save_models", false, "also write each pruned model into the output folder")
	fs.BoolVar(&f.perLayer, "per_layer", false, "instead of thresholds: prune each layer (or equalization group) alone to each of --fractions and measure accuracy (needs a dataset)")
	fs.StringVar(&f.fractions, "fractions", "0.25,0.5,0.75", "kept channel fractions for --per_layer")
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
	if err := checkPruneOptions(fs, &f.opts); err != nil {
		return err
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
		return Usagef("--per_layer measures accuracy: give -e SPEC or --data DIR")
	}
	unlock, err := lockResults(f.out, "classification prune-sweep")
	if err != nil {
		return err
	}
	defer unlock()
	base, sens, err := prune.Sensitivity(mf.Graph, mf.Weights, f.opts, fractions, probe.resultAccuracy(mf))
	if err != nil {
		return fmt.Errorf("per-layer sweep of %s: %w", f.model, err)
	}
	if err := prune.WriteSensitivityFile(f.out, base, sens); err != nil {
		return err
	}
	if err := prune.WriteSensitivityTable(env.Stdout, base, sens); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote %s\n", filepath.Join(f.out, prune.SensitivityCSV))
	return nil
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

// accuracyProbe measures top-1 accuracy on a dataset.
type accuracyProbe struct {
	opts evaluate.DatasetOptions
}

func (a *accuracyProbe) accuracy(mf *modelfile.File) (float64, error) {
	o := a.opts
	o.Model, o.TopK = mf, 1
	rep, err := evaluate.Dataset(o)
	if err != nil {
		return 0, err
	}
	return rep.Accuracy, nil
}

// resultAccuracy measures a pruned graph with mf's classmap and preprocessing.
func (a *accuracyProbe) resultAccuracy(mf *modelfile.File) func(*prune.Result) (float64, error) {
	return func(r *prune.Result) (float64, error) {
		return a.accuracy(&modelfile.File{Graph: r.Graph, Weights: r.Weights, Classmap: mf.Classmap, Preprocessing: mf.Preprocessing, Spec: mf.Spec})
	}
}

// newAccuracyProbe opens the dataset of --data or of the spec; nil without either. With val, a
// spec's val_dataset_path is preferred to its eval dataset.
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
	ds, err := evaluate.OpenDataset(dir, f.classmap, mf)
	if err != nil {
		return nil, err
	}
	eng, err := engine.Open(f.backend)
	if err != nil {
		return nil, err
	}
	centerCrop := mf.Preprocessing.CenterCrop
	if e != nil {
		centerCrop = e.Proto.GetEvalConfig().GetEnableCenterCrop()
	}
	return &accuracyProbe{evaluate.DatasetOptions{Engine: eng, Dataset: ds, Preprocessing: evaluate.Preprocessing(e, mf),
		CenterCrop: centerCrop, Batch: f.batch, Warn: env.Stderr}}, nil
}

func sweep(env *Env, f *sweepFlags, ths []float64) error {
	mf, err := loadModelFile(f.model, f.key)
	if err != nil {
		return err
	}
	probe, err := newAccuracyProbe(env, &f.data, mf, false)
	if err != nil {
		return err
	}
	unlock, err := lockResults(f.out, "classification prune-sweep")
	if err != nil {
		return err
	}
	defer unlock()
	o := prune.SweepOptions{Source: f.model, Options: f.opts, Thresholds: ths}
	if probe != nil {
		o.Accuracy = probe.accuracy
	}
	if f.save {
		o.Save = func(th float64, pf *modelfile.File) error {
			return modelfile.Save(filepath.Join(f.out, "pruned_pth_"+strconv.FormatFloat(th, 'g', -1, 64)+modelfile.FileExt(f.key)), pf, f.key)
		}
	}
	orig, points, err := prune.Sweep(mf, o)
	if err != nil {
		return err
	}
	if err := prune.WriteSweepTable(f.out, orig, points); err != nil {
		return err
	}
	if err := report.WriteSweepPlot(filepath.Join(f.out, "sweep.png"), orig, points); err != nil {
		return err
	}
	printSweep(env, orig, points)
	fmt.Fprintf(env.Stdout, "Wrote %s and %s\n", filepath.Join(f.out, prune.SweepCSV), filepath.Join(f.out, "sweep.png"))
	return nil
}

// printSweep prints the sweep table.
func printSweep(env *Env, orig prune.SweepPoint, points []prune.SweepPoint) {
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
	tw.Flush()
}
