package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/prune"
	"github.com/bonsai-ml/bonsai/results"
)

func init() {
	Register(&Command{
		Path:  "classification prune",
		Short: "prune a trained classifier (TAO's min-weight threshold pruning) into a smaller model",
		Run:   runClassificationPrune,
	})
}

const pruneUsage = `-m MODEL -o OUTPUT (-pth T | --target_ratio R [--target params|flops]
       [--allocation sensitivity|uniform|threshold] [-e SPEC | --data DIR]) [-n max|L2]
       [-eq union|intersection|arithmetic_mean|geometric_mean] [-pg 8] [-nf 16] [-el LAYER ...] [-k KEY]
       [--criterion kernel|bn] [--results_dir DIR] [-v]

TAO's algorithm (-pth and TAO's flags): prunes whole output channels as TAO's "classification
prune" does: in every conv, dense and depthwise conv layer a channel survives when the L2 norm
of its filter, divided by the layer's largest (-n max) or by the layers' L2 norm times the
channel count (-n L2), is above -pth; at least -nf channels stay, rounded up to a multiple of
-pg. Layers joined by an add, a multiply or a depthwise conv keep the same channels (-eq says
how their norms combine); the output layer and -el layers keep all. Batch norm, concat and
flatten follow. This is TAO's result for the same model and flags.

Bonsai's size target (--target_ratio R, no -pth): keeps at most R of the parameters (or FLOPs
with --target flops). --allocation says how the cut is shared among the units (a layer alone,
or an equalization group); each unit keeps its strongest channels by --criterion, counts
rounded as -nf and -pg say:
  sensitivity  (default when -e SPEC or --data DIR is given) prunes each unit alone to 25%,
               50% and 75% of its channels, measures accuracy on the spec's val_dataset_path
               (or DIR), and removes channels where the drop per parameter (or FLOP) saved is
               smallest: early layers, which hold few parameters and lose the most, are spared.
  uniform      (default without data) keeps the same fraction of every unit.
  threshold    TAO's threshold, searched for the smallest -pth that meets R. One threshold on
               per-layer normalised norms can cut a layer to -nf channels while layers with
               even norms keep almost all: on ResNet-10 / Fashion-MNIST at R 0.5 it cut conv1
               and stage 1 from 64 to 16 channels, and accuracy to chance before retraining.

--criterion bn (Bonsai) ranks a convolution's channels by |gamma| of the batch norm after it
instead of the kernel norm, which batch norm makes meaningless. Train with a gamma penalty
(reg_config { bn_type: "L2" bn_weight_decay: 0.012 }) so that unneeded channels fade; then a
few epochs are enough for -pth to find them.

Prints a per-layer table (channels before -> after, equalization group; with -pth also the
kept channels under the threshold and why: min filters / granularity / group partner) and
TAO's line "Pruning ratio (pruned model / original model): X" (parameters kept / original).
The pruned model keeps the classmap, preprocessing and spec of the input and records the
settings in its metadata ("pruning"). Retrain it by naming it in
train_config.pretrained_model_path with the first training's lr_config and epochs
(learning-rate rewinding), optionally distilling from the unpruned model (classification
train --teacher MODEL).`

type pruneFlags struct {
	model, output, key, results, target, allocation string
	data                                            dataFlags
	opts                                            prune.Options
	excluded                                        MultiFlag
	targetRatio                                     float64
	verbose, force                                  bool
}

func runClassificationPrune(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification prune", pruneUsage)
	var f pruneFlags
	fs.StringVar(&f.model, "m", "", "model file to prune; required")
	alias(fs, "m", "model", "pm", "pretrained_model")
	fs.StringVar(&f.output, "o", "", "pruned model file; required (the extension is added when missing)")
	alias(fs, "o", "output_file")
	addPruneOptionFlags(fs, &f.opts, &f.excluded, &f.key)
	fs.StringVar(&f.results, "r", "", "write status.json (kpi as TAO: pruning_ratio, size in MB, param_count in millions) and prune_report.json here")
	alias(fs, "r", "results_dir")
	fs.Float64Var(&f.targetRatio, "target_ratio", 0, "search the threshold that keeps at most this fraction of the parameters (or FLOPs)")
	fs.StringVar(&f.target, "target", prune.TargetParams, "what --target_ratio measures: params or flops")
	fs.StringVar(&f.allocation, "allocation", "", "how --target_ratio shares the cut among layers: sensitivity (default with -e/--data), uniform (default without) or threshold (TAO's -pth, searched)")
	f.data.register(fs)
	fs.BoolVar(&f.force, "force", false, "write OUTPUT even when it is the input model file itself")
	fs.BoolVar(&f.verbose, "v", false, "list every prunable layer and print both model summaries")
	alias(fs, "v", "verbose")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	f.opts.Excluded = f.excluded.Values
	if err := checkPruneFlags(fs, &f); err != nil {
		return err
	}
	return pruneModelFile(env, &f)
}

// addPruneOptionFlags registers TAO's pruning knobs (shared by prune and prune-sweep).
func addPruneOptionFlags(fs *flag.FlagSet, o *prune.Options, excluded *MultiFlag, key *string) {
	d := prune.DefaultOptions()
	fs.StringVar(&o.Normalizer, "n", d.Normalizer, "normalizer: max or L2")
	alias(fs, "n", "normalizer")
	fs.StringVar(&o.Criterion, "criterion", d.Criterion, "filter statistic: kernel (TAO: the kernel's L2 norm) or bn (|gamma| of the batch norm after a convolution)")
	fs.StringVar(&o.Equalization, "eq", d.Equalization, "equalization criterion: union, intersection, arithmetic_mean or geometric_mean")
	alias(fs, "eq", "equalization_criterion")
	fs.IntVar(&o.Granularity, "pg", d.Granularity, "kept channel counts are rounded up to a multiple of this")
	alias(fs, "pg", "pruning_granularity")
	fs.Float64Var(&o.Threshold, "pth", d.Threshold, "threshold on the normalised filter norm (strictly above survives)")
	alias(fs, "pth", "pruning_threshold")
	fs.IntVar(&o.MinFilters, "nf", d.MinFilters, "minimum channels kept per layer")
	alias(fs, "nf", "min_num_filters")
	fs.Var(excluded, "el", "layers that keep all their channels (space-separated)")
	alias(fs, "el", "excluded_layers")
	fs.StringVar(key, "k", "", "key of an encrypted model file (the output is encrypted with it too)")
	alias(fs, "k", "key")
}

func checkPruneFlags(fs *flag.FlagSet, f *pruneFlags) error {
	if f.model == "" || f.output == "" {
		return Usagef("-m MODEL and -o OUTPUT are required")
	}
	if err := checkPruneOptions(fs, &f.opts); err != nil {
		return err
	}
	if out := prune.OutputPath(f.output, f.key); sameFile(out, f.model) && !f.force {
		return Usagef("-o %s would overwrite the model being pruned (-m %s); choose another output file (or add --force)", out, f.model)
	}
	if flagSet(fs, "target_ratio") && f.targetRatio == 0 {
		return Usagef("--target_ratio 0 would keep nothing; give a fraction in (0, 1]")
	}
	if err := f.data.check(); err != nil {
		return err
	}
	if f.targetRatio == 0 {
		if f.allocation != "" && f.allocation != prune.AllocThreshold {
			return Usagef("--allocation %s shares out a --target_ratio; give one (-pth alone is TAO's algorithm)", f.allocation)
		}
		return nil
	}
	if flagSet(fs, "pth", "pruning_threshold") {
		return Usagef("--target_ratio chooses the channels itself; drop -pth")
	}
	if f.allocation == "" {
		f.allocation = prune.AllocUniform
		if f.data.given() {
			f.allocation = prune.AllocSensitivity
		}
	}
	if !(f.targetRatio > 0 && f.targetRatio <= 1) {
		return Usagef("--target_ratio %g must be in (0, 1]", f.targetRatio)
	}
	if f.target != prune.TargetParams && f.target != prune.TargetFLOPs {
		return Usagef("--target %q: want params or flops", f.target)
	}
	return nil
}

// checkPruneOptions checks TAO's pruning knobs; a granularity of 0 given on the command line
// is refused rather than read as the default.
func checkPruneOptions(fs *flag.FlagSet, o *prune.Options) error {
	if flagSet(fs, "pg", "pruning_granularity") && o.Granularity < 1 {
		return Usagef("-pg %d: the pruning granularity must be at least 1", o.Granularity)
	}
	if err := o.Check(); err != nil {
		return UsageError{err}
	}
	return nil
}

// sameFile reports whether the paths name one file (the same path, or the same file on disk).
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// flagSet reports whether any of the named flags was given on the command line.
func flagSet(fs *flag.FlagSet, names ...string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) {
		for _, n := range names {
			if fl.Name == n {
				set = true
			}
		}
	})
	return set
}

func pruneModelFile(env *Env, f *pruneFlags) error {
	unlock, err := lockResults(f.results, "classification prune")
	if err != nil {
		return err
	}
	defer unlock()
	status, err := results.StartStatus(f.results, "Starting pruning.")
	if err != nil {
		return err
	}
	res, size, err := pruneAndSave(env, f)
	if err != nil {
		status.Fail(err)
		return err
	}
	if f.results == "" {
		return nil
	}
	if err := res.WriteLayerReport(f.results); err != nil {
		return err
	}
	status.KPI = res.StatusKPI(size)
	if err := status.Write(results.StatusRunning, res.String()); err != nil {
		return err
	}
	return status.Succeed("Pruning finished successfully.", nil)
}

// pruneAndSave prunes the model, writes the pruned file and prints the report; it returns the
// result and the written file's size.
func pruneAndSave(env *Env, f *pruneFlags) (*prune.Result, int64, error) {
	mf, err := loadModelFile(f.model, f.key)
	if err != nil {
		return nil, 0, err
	}
	res, err := runPrune(env, mf, f)
	if err != nil {
		return nil, 0, err
	}
	pf, err := prune.PrunedFile(mf, res, f.model, prune.Target{Ratio: f.targetRatio, Metric: f.target, Allocation: f.allocation})
	if err != nil {
		return nil, 0, err
	}
	path := prune.OutputPath(f.output, f.key)
	if err := modelfile.Save(path, pf, f.key); err != nil {
		return nil, 0, err
	}
	if path != f.output {
		fmt.Fprintf(env.Stderr, "note: -o %s: Bonsai writes model files as %s; the pruned model is %s\n", f.output, modelfile.FileExt(f.key), path)
	}
	before, after := prune.ModelBytes(f.model, mf), prune.FileSize(path)
	if f.verbose {
		printSummary(env, "Model summary of the unpruned model:", mf.Graph)
		printSummary(env, "Model summary of the pruned model:", res.Graph)
	}
	if err := res.WriteReport(env.Stdout, f.verbose); err != nil {
		return nil, 0, err
	}
	fmt.Fprintln(env.Stdout, res.String())
	if f.opts.Criterion == prune.CriterionKernel && f.targetRatio == 0 && res.Ratio() > 0.95 && hasBatchNorm(mf.Graph) {
		fmt.Fprintf(env.Stderr, "note: -pth %g keeps %.1f%% of the parameters. Batch norm cancels a kernel's scale, so kernel norms stay close "+
			"unless training ran long; --criterion bn ranks channels by batch norm gamma (train with reg_config.bn_weight_decay), "+
			"or --target_ratio picks the threshold for a size\n", f.opts.Threshold, 100*res.Ratio())
	}
	fmt.Fprintf(env.Stdout, "Parameters %s -> %s, FLOPs %s -> %s (%.3f), model file %s -> %s bytes (%.3f; optimizer state not counted)\nPruned model written to %s\n",
		model.Group(int64(res.Before.Params)), model.Group(int64(res.After.Params)),
		model.Group(res.Before.FLOPs), model.Group(res.After.FLOPs), res.FLOPsRatio(),
		model.Group(before), model.Group(after), float64(after)/float64(max(before, 1)), path)
	return res, after, nil
}

func hasBatchNorm(g *model.Graph) bool {
	for _, l := range g.Layers {
		if l.Op == model.OpBatchNorm {
			return true
		}
	}
	return false
}

// runPrune prunes at -pth, or to --target_ratio with the chosen allocation.
func runPrune(env *Env, mf *modelfile.File, f *pruneFlags) (*prune.Result, error) {
	var res *prune.Result
	var err error
	if f.targetRatio > 0 {
		var t prune.Target
		if t, err = pruneTarget(env, mf, f); err != nil {
			return nil, err
		}
		var s prune.Search
		res, s, err = prune.PruneTo(mf.Graph, mf.Weights, f.opts, t)
		if err == nil {
			fmt.Fprintln(env.Stdout, s.String())
		}
	} else {
		res, err = prune.Prune(mf.Graph, mf.Weights, f.opts)
	}
	if err != nil {
		return nil, fmt.Errorf("pruning %s: %w", f.model, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	return res, nil
}

// pruneTarget is --target_ratio's target; the sensitivity allocation measures accuracy on the
// spec's validation set (or --data).
func pruneTarget(env *Env, mf *modelfile.File, f *pruneFlags) (prune.Target, error) {
	t := prune.Target{Ratio: f.targetRatio, Metric: f.target, Allocation: f.allocation}
	switch {
	case f.allocation == prune.AllocUniform && !f.data.given():
		fmt.Fprintln(env.Stderr, "note: without data --target_ratio keeps the same fraction of every layer; -e SPEC (or --data DIR) measures each layer's sensitivity on the validation set and spares the sensitive ones")
	case f.allocation == prune.AllocSensitivity:
		probe, err := newAccuracyProbe(env, &f.data, mf, true)
		if err != nil {
			return t, err
		}
		if probe == nil {
			return t, Usagef("--allocation sensitivity measures accuracy: give -e SPEC (its val_dataset_path) or --data DIR")
		}
		t.Evaluate = probe.resultAccuracy(mf)
	}
	return t, nil
}

func printSummary(env *Env, title string, g *model.Graph) {
	s, err := g.Summarize()
	if err != nil {
		return
	}
	fmt.Fprintln(env.Stdout, title)
	s.PrintKeras(env.Stdout)
}
