package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/pretrained"
	"github.com/bonsai-ml/bonsai/spec"
)

func init() {
	Register(&Command{
		Path:  "model import",
		Short: "convert a Keras/TAO .h5, TensorFlow.js or ONNX model (or load it into a spec's model) to a Bonsai model file",
		Run:   runModelImport,
	})
}

const importUsage = `SRC -o MODEL.safetensors [-e SPEC] [--num_classes N] [--labels FILE | -cm CLASSMAP] [--preprocess_mode M | --input_range LO,HI] [--input_image_size C,H,W] [--padding_mode tf|tao] [--strict] [-k KEY]

Reads a pretrained model and writes it as a Bonsai model file, printing what became of every
layer. SRC is a Keras or TAO HDF5 file (.h5, .hdf5), a TensorFlow.js layers model (model.json
or its folder), an ONNX file (.onnx) or a Bonsai model file.

Without -e the source's own graph is written (a weights-only HDF5 file needs -e);
--num_classes N gives it a new, randomly initialised classifier of N classes.
With -e SPEC, model_config's network is built (classes: --num_classes, else the class folders
of train_dataset_path) and the source's weights are loaded into it by layer name, as
train_config.pretrained_model_path does; the spec gives the preprocessing.
--strict fails unless every layer loads (a re-initialised head is allowed).
--padding_mode sets the written graph's padding: tf (TensorFlow's SAME) or tao (TAO's
symmetric SAME, average pools counting the padding); by default a channels_first Keras file
(TAO's) imports as tao and everything else as tf. With -e, model_config.padding_mode decides.

Preprocessing, which inference and export read from the model file: the spec's with -e, else
--preprocess_mode (caffe, torch or tf; default tf). Source files do not say how their inputs
were scaled: Keras Applications' MobileNet and EfficientNet-style models take tf (-1..1).
--input_range LO,HI is for a source that takes pixels scaled to another range (Tiny Darknet:
0,1): the model file keeps tf preprocessing and a frozen 1x1 depthwise layer, input_rescale,
maps -1..1 onto LO..HI exactly (before any padding) as the first layer.
Class names: --labels (one per line, in output order) or -cm classmap.json.`

type importFlags struct {
	out, spec, labels, classmap, key, mode, inputRange, inputSize, padding string
	numClasses                                                             int
	strict                                                                 bool
}

func runModelImport(env *Env, args []string) error {
	fs := NewFlagSet(env, "model import", importUsage)
	var f importFlags
	fs.StringVar(&f.out, "o", "", "output model file (.safetensors; .safetensors.enc with -k); required")
	fs.StringVar(&f.spec, "e", "", "experiment spec whose model_config receives the weights")
	fs.IntVar(&f.numClasses, "num_classes", 0, "number of classes (a new classifier when it differs from the source's)")
	fs.StringVar(&f.labels, "labels", "", "text file with one class name per line, in output order")
	fs.StringVar(&f.classmap, "cm", "", "classmap.json naming the classes")
	alias(fs, "cm", "classmap")
	fs.StringVar(&f.mode, "preprocess_mode", "tf", "without -e: caffe, torch or tf")
	fs.StringVar(&f.inputRange, "input_range", "", "without -e: LO,HI, the pixel range the source takes (e.g. 0,1), reached from tf mode by an input_rescale layer")
	fs.StringVar(&f.inputSize, "input_image_size", "", "without -e: C,H,W to run the source at (fully convolutional models; an open size defaults to 224x224)")
	fs.BoolVar(&f.strict, "strict", false, "fail unless every layer loads (a re-initialised head is allowed)")
	fs.StringVar(&f.padding, "padding_mode", "", "without -e: tf or tao (default: tao for channels_first Keras files, else tf)")
	fs.StringVar(&f.key, "k", "", "key: decrypts a Bonsai source and encrypts the output")
	alias(fs, "k", "key")
	src, rest := splitSource(args)
	pos, err := Parse(fs, rest, src == "")
	if err != nil {
		return err
	}
	if src == "" && len(pos) == 1 {
		src = pos[0]
	}
	if src == "" || len(pos) > 1 || f.out == "" {
		return Usagef("usage: bonsai model import SRC -o MODEL.safetensors (see --help)")
	}
	return importModel(env, fs, src, &f)
}

// splitSource takes a leading positional SRC off the arguments (Go's flag package stops at
// the first positional argument).
func splitSource(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func importModel(env *Env, fs *flag.FlagSet, srcPath string, f *importFlags) error {
	if f.inputRange != "" {
		if _, _, err := parseRange(f.inputRange); err != nil {
			return err
		}
	}
	if f.padding != "" && f.padding != model.PaddingTF && f.padding != model.PaddingTAO {
		return Usagef("--padding_mode %q: want %s or %s", f.padding, model.PaddingTF, model.PaddingTAO)
	}
	opts := pretrained.Options{Key: f.key, PaddingMode: f.padding}
	if f.inputSize != "" {
		size, err := spec.ParseInputSize(f.inputSize)
		if err != nil {
			return Usagef("--input_image_size: %v", err)
		}
		opts.InputSize = size
	}
	src, err := pretrained.Load(srcPath, opts)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, pretrained.ErrUnsupported) {
			return UsageError{err}
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "Source: %s (%s)\n", srcPath, src.Format)
	for _, n := range src.Notes {
		fmt.Fprintln(env.Stdout, "  "+n)
	}
	mf, err := importTarget(env, fs, src, f)
	if err != nil {
		return err
	}
	w, table, err := pretrained.Transfer(mf.Graph, src)
	if err != nil {
		return err
	}
	if table.Pruned { // a pruned Bonsai model keeps its own graph
		mf.Graph, w = src.Graph, src.Weights
		fmt.Fprintln(env.Stdout, table.Summary())
	} else if err := table.Print(env.Stdout); err != nil {
		return err
	}
	if f.strict {
		if err := table.Strict(); err != nil {
			return UsageError{err}
		}
	}
	if !table.Pruned && len(table.Loaded()) == 0 {
		return fmt.Errorf("no layer of %s matches the model by name and shape: check -e's model_config (arch, n_layers, width_multiplier)", srcPath)
	}
	if f.inputRange != "" {
		lo, hi, err := parseRange(f.inputRange)
		if err != nil {
			return err
		}
		maps.Copy(w, addInputRescale(mf.Graph, lo, hi))
		fmt.Fprintf(env.Stdout, "input_rescale: a frozen 1x1 depthwise layer maps tf mode's -1..1 onto the source's %g..%g\n", lo, hi)
	}
	if mf.Weights, err = completeWeights(mf.Graph, w); err != nil {
		return err
	}
	if err := importClassmap(f, mf); err != nil {
		return err
	}
	if err := modelfile.Save(f.out, mf, f.key); err != nil {
		return err
	}
	total, _, _ := mf.Graph.ParamCount()
	fmt.Fprintf(env.Stdout, "wrote %s: %s, %s parameters, input %v, %s preprocessing\n", f.out, mf.Graph.Arch,
		model.Group(int64(total)), mf.Preprocessing.InputSize, mf.Preprocessing.Mode)
	return nil
}

// importTarget builds the model file being written: the spec's network and preprocessing with
// -e, else the source's own graph (with a new head for --num_classes) and the flags'
// preprocessing.
func importTarget(env *Env, fs *flag.FlagSet, src *pretrained.Source, f *importFlags) (*modelfile.File, error) {
	mf := &modelfile.File{Extra: map[string]string{"imported_from": filepath.Base(src.Path), "import_format": src.Format}}
	if f.spec != "" {
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		for _, name := range []string{"preprocess_mode", "input_range", "input_image_size", "padding_mode"} {
			if set[name] {
				return nil, Usagef("--%s cannot be combined with -e: the spec decides it", name)
			}
		}
		return specTarget(env, src, f, mf)
	}
	if src.Graph == nil {
		return nil, Usagef("%s holds weights only (no model graph): pass -e SPEC to load them into model_config's network", src.Path)
	}
	mf.Graph = src.Graph.Clone()
	if f.numClasses > 0 {
		if err := resizeHead(mf.Graph, f.numClasses); err != nil {
			return nil, UsageError{err}
		}
	}
	p, err := importPreprocessing(f, mf.Graph.Input)
	if err != nil {
		return nil, err
	}
	if src.File != nil && src.File.Preprocessing.Mode != "" { // a Bonsai source says it
		p = src.File.Preprocessing
	}
	mf.Preprocessing = p
	return mf, nil
}

func specTarget(env *Env, src *pretrained.Source, f *importFlags, mf *modelfile.File) (*modelfile.File, error) {
	e, err := spec.Load(f.spec)
	if err != nil {
		return nil, UsageError{err}
	}
	for _, w := range e.Warnings() {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	classes := f.numClasses
	if classes == 0 {
		if classes, err = countClasses(e); err != nil {
			return nil, err
		}
		if ds, err := data.Open(e.TrainDatasetPath(), nil); err == nil && f.labels == "" && f.classmap == "" {
			mf.Classmap = data.MapFromClasses(ds.Classes)
		}
	}
	if mf.Graph, err = arch.BuildFromSpec(e, classes); err != nil {
		return nil, UsageError{fmt.Errorf("%s: %w", f.spec, err)}
	}
	mf.Preprocessing = modelfile.PreprocessingFromSpec(e)
	if text, err := os.ReadFile(f.spec); err == nil {
		mf.Spec = string(text)
	}
	return mf, nil
}

// resizeHead gives the classifier (the layer with parameters that leads to the output through
// parameter-free layers) n outputs.
func resizeHead(g *model.Graph, n int) error {
	idx := g.Index()
	l := idx[g.Output]
	for l != nil && l.Op != model.OpDense && l.Op != model.OpConv {
		if len(l.Inputs) != 1 || l.Op == model.OpDepthwiseConv || l.Op == model.OpBatchNorm {
			return fmt.Errorf("--num_classes: cannot find the classifier before the output layer %q", g.Output)
		}
		l = idx[l.Inputs[0]]
	}
	if l == nil {
		return fmt.Errorf("--num_classes: no classifier layer before the output %q", g.Output)
	}
	if l.Op == model.OpDense {
		l.Units = n
	} else {
		l.Filters = n
	}
	return g.Validate()
}

// importPreprocessing builds the preprocessing of a model imported without a spec.
func importPreprocessing(f *importFlags, input [3]int) (modelfile.Preprocessing, error) {
	p := modelfile.Preprocessing{Mode: strings.ToLower(f.mode), InputSize: input, Interpolation: "bilinear"}
	if p.Mode != "caffe" && p.Mode != "torch" && p.Mode != "tf" {
		return p, Usagef("--preprocess_mode %q: want caffe, torch or tf", f.mode)
	}
	if f.inputRange != "" && p.Mode != "tf" {
		return p, Usagef("--input_range maps tf mode's -1..1 onto the source's range: it needs --preprocess_mode tf")
	}
	return p, nil
}

// parseRange reads --input_range "LO,HI".
func parseRange(s string) (lo, hi float64, err error) {
	parts := strings.Split(s, ",")
	if len(parts) == 2 {
		lo, err = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		if err == nil {
			hi, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		}
	}
	if len(parts) != 2 || err != nil || !(hi > lo) {
		return 0, 0, Usagef("--input_range %q: want LO,HI with LO < HI (e.g. 0,1)", s)
	}
	return lo, hi, nil
}

// addInputRescale inserts, after the input layer, a frozen 1x1 depthwise convolution with bias
// that maps tf mode's -1..1 onto lo..hi channel by channel, and returns its weights.
func addInputRescale(g *model.Graph, lo, hi float64) model.Weights {
	const name = "input_rescale"
	in := g.Layers[0].Name
	for _, l := range g.Layers {
		for i, x := range l.Inputs {
			if x == in {
				l.Inputs[i] = name
			}
		}
	}
	l := &model.Layer{Name: name, Op: model.OpDepthwiseConv, Inputs: []string{in}, Kernel: [2]int{1, 1},
		Padding: model.PadValid, DepthMultiplier: 1, UseBias: true, Frozen: true, Block: -1}
	g.Layers = append([]*model.Layer{g.Layers[0], l}, g.Layers[1:]...)
	c := g.Input[0]
	k, b := model.NewTensor(1, 1, c, 1), model.NewTensor(c)
	for i := range c {
		k.Data[i] = float32((hi - lo) / 2)
		b.Data[i] = float32(lo + (hi-lo)/2)
	}
	return model.Weights{name + "/kernel": k, name + "/bias": b}
}

// completeWeights initialises the parameters the transfer did not fill (new layers, a new
// head) as training would, so that the model file is complete.
func completeWeights(g *model.Graph, w model.Weights) (model.Weights, error) {
	eng, err := engine.Open("go")
	if err != nil {
		return nil, err
	}
	m, err := eng.NewModel(g, w, 1)
	if err != nil {
		return nil, err
	}
	return m.Weights()
}

// labelMap reads one class name per line into a classmap. A name seen before gets a numeric
// suffix (ImageNet's labels hold "crane" and "maillot" twice): "crane_2".
func labelMap(text string) (map[string]int, error) {
	cm := map[string]int{}
	for i, name := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("line %d is empty", i+1)
		}
		base := name
		for n := 2; cmHas(cm, name); n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		cm[name] = i
	}
	return cm, nil
}

func cmHas(cm map[string]int, name string) bool {
	_, ok := cm[name]
	return ok
}

// importClassmap names the classes from --labels or -cm (else the spec's dataset, set before).
func importClassmap(f *importFlags, mf *modelfile.File) error {
	var cm map[string]int
	switch {
	case f.labels != "":
		text, err := os.ReadFile(f.labels)
		if err != nil {
			return UsageError{fmt.Errorf("--labels: %w", err)}
		}
		if cm, err = labelMap(string(text)); err != nil {
			return UsageError{fmt.Errorf("--labels %s: %w", f.labels, err)}
		}
	case f.classmap != "":
		text, err := os.ReadFile(f.classmap)
		if err != nil {
			return UsageError{fmt.Errorf("-cm: %w", err)}
		}
		if err := json.Unmarshal(text, &cm); err != nil {
			return Usagef("-cm %s: %v", f.classmap, err)
		}
	default:
		return nil
	}
	if units := mf.Graph.OutputUnits(); len(cm) != units {
		return Usagef("%d class names for a model with %d outputs", len(cm), units)
	}
	mf.Classmap = cm
	return nil
}

// foreignModel explains what to do with a model that is not a Bonsai model file: a TAO or
// Keras .hdf5, a TensorFlow.js or ONNX model (import it), or a missing TAO checkpoint name.
func foreignModel(path string) error {
	format, _, err := pretrained.Detect(path)
	if errors.Is(err, os.ErrNotExist) {
		ext := strings.ToLower(filepath.Ext(path))
		if sibling := modelfile.Sibling(path); sibling != "" {
			return UsageError{fmt.Errorf("%s: no such file, but %s exists: Bonsai writes model files as %s; give that path", path, sibling, modelfile.Ext)}
		}
		if ext == ".hdf5" || ext == ".h5" || ext == ".tlt" {
			return UsageError{fmt.Errorf("%s: no such file; Bonsai's checkpoints are %s files (weights/<arch>_NNN%s), and a TAO or Keras %s model must be converted first: bonsai model import MODEL%s -o MODEL%s -e SPEC",
				path, modelfile.Ext, modelfile.Ext, ext, ext, modelfile.Ext)}
		}
		return nil // modelfile reports it
	}
	if err != nil {
		return UsageError{err}
	}
	if format != pretrained.FormatBonsai {
		return UsageError{fmt.Errorf("%s is a %s model, not a Bonsai model file: convert it once with 'bonsai model import %s -o MODEL%s' (add -e SPEC to load it into your spec's model) and use MODEL%s",
			path, format, path, modelfile.Ext, modelfile.Ext)}
	}
	return nil
}
