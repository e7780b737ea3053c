package cli

import (
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
threshold); --save_models also keeps DIR/pruned_pth_<T>.safetensors.`

type sweepFlags struct {
	model, out, thresholds, spec, data, classmap, key, backend string
	opts                                                       prune.Options
	excluded                                                   MultiFlag
	batch                                                      int
	save                                                       bool
}

func runClassificationPruneSweep(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification prune-sweep", pruneSweepUsage)
	var f sweepFlags
	fs.StringVar(&f.model, "m", "", "model file to prune; required")
	alias(fs, "m", "model")
	fs.StringVar(&f.out, "o", "", "output folder for sweep.csv and sweep.png; required")
	alias(fs, "o", "output_dir")
	fs.StringVar(&f.thresholds, "thresholds", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8", "comma-separated pruning thresholds")
	fs.StringVar(&f.spec, "e", "", "experiment spec: its eval (else val) dataset measures accuracy")
	alias(fs, "e", "experiment_spec")
	fs.StringVar(&f.data, "data", "", "dataset folder (one folder per class) to measure accuracy on")
	fs.StringVar(&f.classmap, "cm", "", "classmap.json giving the class order (default: the model's)")
	alias(fs, "cm", "classmap")
	fs.IntVar(&f.batch, "b", 32, "batch size for the accuracy runs")
	fs.BoolVar(&f.save, "save_models", false, "also write each pruned model into the output folder")
	BackendFlag(fs, &f.backend)
	addPruneOptionFlags(fs, &f.opts, &f.excluded, &f.key)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	f.opts.Excluded = f.excluded.Values
	if f.model == "" || f.out == "" {
		return Usagef("-m MODEL and -o DIR are required")
	}
	if f.spec != "" && f.data != "" {
		return Usagef("give either -e SPEC or --data DIR, not both")
	}
	if err := checkPruneOptions(fs, &f.opts); err != nil {
		return err
	}
	ths, err := parseThresholds(f.thresholds)
	if err != nil {
		return err
	}
	return sweep(env, &f, ths)
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

// newAccuracyProbe opens the dataset of --data or of the spec; nil without either.
func newAccuracyProbe(env *Env, f *sweepFlags, mf *modelfile.File) (*accuracyProbe, error) {
	dir := f.data
	var e *spec.Experiment
	if f.spec != "" {
		var err error
		if e, err = spec.Load(f.spec); err != nil {
			return nil, UsageError{err}
		}
		if dir = e.EvalDatasetPath(); dir == "" {
			dir = e.ValDatasetPath()
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
	probe, err := newAccuracyProbe(env, f, mf)
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
