package cli

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/spec"
)

func init() {
	Register(&Command{
		Path:  "model summary",
		Short: "print a model's layers, output shapes, parameters and FLOPs",
		Run:   runModelSummary,
	})
}

const modelSummaryUsage = `[-e SPEC | --arch resnet --n_layers 18 --input_image_size 3,224,224 ...] [--num_classes N] [--json FILE | --keras]

Builds the model that model_config describes (from the spec file given with -e, or from
the flags) and prints a table like Keras'
model.summary(): layer name and type, output shape (C, H, W), parameters, FLOPs and
inputs, then the totals (parameters total / trainable / non-trainable, size at fp32,
multiply-adds and FLOPs, a multiply-add counting as 2 FLOPs).
With -e the number of classes is that of train_dataset_path's class folders unless
--num_classes is given.
--json FILE writes the model graph (IR) as JSON instead ("-" for standard output).
--keras prints Keras' own layout instead, as TAO's train, evaluate and inference print it.`

// modelFlags holds the model_config options given as flags.
type modelFlags struct {
	arch, inputSize, activation    string
	nLayers, numClasses            int
	bn, bias, pooling, projections bool
	freezeBN, retainHead           bool
	dropout, bnMomentum, bnEpsilon float64
	widthMultiplier                float64
	freezeBlocks                   MultiFlag
}

func runModelSummary(env *Env, args []string) error {
	fs := NewFlagSet(env, "model summary", modelSummaryUsage)
	var f modelFlags
	fs.StringVar(&f.arch, "arch", "resnet", "architecture: "+fmt.Sprint(arch.Archs()))
	fs.IntVar(&f.nLayers, "n_layers", 0, "depth (0: the family's default, 18 for resnet)")
	fs.StringVar(&f.inputSize, "input_image_size", "3,224,224", "input size C,H,W (C is 1 or 3)")
	fs.IntVar(&f.numClasses, "num_classes", 1000, "number of classes of the predictions layer")
	fs.BoolVar(&f.bn, "use_batch_norm", true, "batch norm after each convolution (TAO's sample specs set it)")
	fs.BoolVar(&f.bias, "use_bias", false, "biases in convolutions")
	fs.BoolVar(&f.pooling, "use_pooling", false, "resnet: max pool after conv1 (TAO's stride rules)")
	fs.BoolVar(&f.projections, "all_projections", false, "1x1 convolution on every shortcut")
	fs.BoolVar(&f.freezeBN, "freeze_bn", false, "batch norm in inference mode while training")
	fs.BoolVar(&f.retainHead, "retain_head", false, "keep the template's own head")
	fs.Var(&f.freezeBlocks, "freeze_blocks", "block ids whose convolutions are frozen (space-separated)")
	fs.Float64Var(&f.dropout, "dropout", 0, "dropout rate where the family uses one")
	fs.StringVar(&f.activation, "activation", "", "activation_type (default: the family's)")
	fs.Float64Var(&f.bnMomentum, "bn_momentum", spec.DefaultBNMomentum, "batch-norm momentum (Keras convention)")
	fs.Float64Var(&f.bnEpsilon, "bn_epsilon", spec.DefaultBNEpsilon, "batch-norm epsilon")
	fs.Float64Var(&f.widthMultiplier, "width_multiplier", 1, "MobileNet width multiplier (alpha)")
	jsonPath := fs.String("json", "", "write the model graph as JSON to this file (\"-\": standard output)")
	keras := fs.Bool("keras", false, "print the summary in Keras' layout, as TAO prints it (no FLOPs)")
	specPath := fs.String("e", "", "experiment spec file whose model_config to build")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := summaryConfig(env, fs, &f, *specPath)
	if err != nil {
		return err
	}
	g, err := arch.Build(cfg)
	if err != nil {
		if *specPath != "" {
			return UsageError{fmt.Errorf("%s: %w", *specPath, err)}
		}
		return UsageError{err}
	}
	if *jsonPath != "" {
		if *jsonPath == "-" {
			data, err := g.MarshalIndent()
			if err != nil {
				return err
			}
			_, err = env.Stdout.Write(data)
			return err
		}
		if err := g.WriteFile(*jsonPath); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "wrote %s\n", *jsonPath)
		return nil
	}
	s, err := g.Summarize()
	if err != nil {
		return err
	}
	if *keras {
		return s.PrintKeras(env.Stdout)
	}
	return s.Print(env.Stdout)
}

// summaryConfig returns the model config from the spec (-e) or from the flags.
func summaryConfig(env *Env, fs *flag.FlagSet, f *modelFlags, specPath string) (arch.Config, error) {
	if specPath == "" {
		return f.config()
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name := range set {
		if name != "e" && name != "json" && name != "num_classes" {
			return arch.Config{}, Usagef("--%s cannot be combined with -e: the spec's model_config decides it", name)
		}
	}
	e, err := spec.Load(specPath)
	if err != nil {
		return arch.Config{}, UsageError{err}
	}
	for _, w := range e.Warnings() {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	classes := f.numClasses
	if !set["num_classes"] {
		if classes, err = countClasses(e); err != nil {
			return arch.Config{}, err
		}
	}
	return arch.FromSpec(e, classes)
}

// countClasses counts the class folders of the spec's training set, as TAO does.
func countClasses(e *spec.Experiment) (int, error) {
	dir := e.TrainDatasetPath()
	if dir == "" {
		return 0, Usagef("%s sets no train_config.train_dataset_path to count classes from; pass --num_classes N", e.Path)
	}
	ds, err := data.Open(dir, nil)
	if err != nil {
		return 0, Usagef("counting classes: %v; pass --num_classes N", err)
	}
	return len(ds.Classes), nil
}

// config turns the flags into an arch.Config.
func (f *modelFlags) config() (arch.Config, error) {
	size, err := spec.ParseInputSize(f.inputSize)
	if err != nil {
		return arch.Config{}, Usagef("--input_image_size: %v", err)
	}
	cfg := arch.Config{
		Arch: f.arch, NLayers: f.nLayers, InputSize: size, NumClasses: f.numClasses,
		UseBatchNorm: f.bn, UseBias: f.bias, UsePooling: f.pooling, AllProjections: f.projections,
		FreezeBN: f.freezeBN, RetainHead: f.retainHead, Dropout: float32(f.dropout),
		Activation: f.activation, BNMomentum: float32(f.bnMomentum), BNEpsilon: float32(f.bnEpsilon),
		WidthMultiplier: float32(f.widthMultiplier),
	}
	for _, v := range f.freezeBlocks.Values {
		b, err := strconv.Atoi(v)
		if err != nil {
			return arch.Config{}, Usagef("--freeze_blocks: %q is not a block id", v)
		}
		cfg.FreezeBlocks = append(cfg.FreezeBlocks, b)
	}
	return cfg, nil
}
