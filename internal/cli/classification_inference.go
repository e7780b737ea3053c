package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/evaluate"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/results"
	"github.com/bonsai-ml/bonsai/spec"
)

func init() {
	Register(&Command{
		Path:  "classification inference",
		Short: "classify an image (-i) or a folder of images (-d) with a trained model",
		Run:   runClassificationInference,
	})
}

const inferenceUsage = `-m MODEL (-i IMAGE | -d DIR) [-e SPEC] [-k KEY] [-cm CLASSMAP] [-b BATCH] [-r RESULTS_DIR] [--top_k K] [--backend B]

Runs the model on one image or on every .jpg/.jpeg/.png under DIR (recursively), as TAO's
"classification inference" does.
  -i IMAGE  prints the softmax output, "Class label = <index>" and "Class name = <name>".
  -d DIR    writes result.csv into DIR (or RESULTS_DIR): one row per image, no header:
            image_path,predicted_class,confidence. Also result.json with the top-k classes
            and probabilities of each image.

Preprocessing (preprocess_mode, image_mean, interpolation, eval_config.enable_center_crop)
comes from the spec when -e is given, as in TAO, else from the model file. Class names come
from -cm, else from the model file's classmap.`

type inferFlags struct {
	model, key, image, dir, spec, classmap, results, backend string
	batch, topK                                              int
	verbose                                                  bool
}

func runClassificationInference(env *Env, args []string) error {
	fset := NewFlagSet(env, "classification inference", inferenceUsage)
	var f inferFlags
	fset.StringVar(&f.model, "m", "", "model file; required")
	alias(fset, "m", "model_path")
	fset.StringVar(&f.key, "k", "", "key of an encrypted model file")
	alias(fset, "k", "key")
	fset.StringVar(&f.image, "i", "", "one image to classify")
	alias(fset, "i", "image")
	fset.StringVar(&f.dir, "d", "", "folder of images to classify (recursively)")
	alias(fset, "d", "image_dir")
	fset.StringVar(&f.spec, "e", "", "experiment spec file for preprocessing (default: the model file's)")
	alias(fset, "e", "experiment_spec")
	fset.StringVar(&f.classmap, "cm", "", "classmap.json naming the classes (default: the model file's)")
	alias(fset, "cm", "classmap")
	fset.IntVar(&f.batch, "b", 1, "images per batch")
	alias(fset, "b", "batch_size")
	fset.StringVar(&f.results, "r", "", "write result.csv, result.json and status.json here instead of DIR")
	alias(fset, "r", "results_dir")
	fset.BoolVar(&f.verbose, "v", false, "print the model summary")
	alias(fset, "v", "verbose")
	fset.IntVar(&f.topK, "top_k", 5, "classes listed per image in result.json")
	BackendFlag(fset, &f.backend)
	if _, err := Parse(fset, args, false); err != nil {
		return err
	}
	switch {
	case f.model == "":
		return Usagef("-m MODEL is required")
	case (f.image == "") == (f.dir == ""):
		return Usagef("give exactly one of -i IMAGE and -d DIR")
	case f.batch < 1:
		return Usagef("-b %d: the batch size must be positive", f.batch)
	case f.topK < 1:
		return Usagef("--top_k %d must be at least 1", f.topK)
	}
	return infer(env, &f)
}

func infer(env *Env, f *inferFlags) error {
	var e *spec.Experiment
	if f.spec != "" {
		var err error
		if e, err = spec.Load(f.spec); err != nil {
			return UsageError{err}
		}
	}
	mf, err := loadModelFile(f.model, f.key)
	if err != nil {
		return err
	}
	classes, err := evaluate.Classes(f.classmap, mf)
	if err != nil {
		return err
	}
	o := evaluate.InferOptions{Model: mf, Classes: classes, Preprocessing: evaluate.Preprocessing(e, mf),
		CenterCrop: mf.Preprocessing.CenterCrop, Batch: f.batch, TopK: f.topK, Warn: env.Stderr}
	if e != nil {
		o.CenterCrop = e.Proto.GetEvalConfig().GetEnableCenterCrop()
	}
	if o.Preprocessing.Mode == "" {
		return fmt.Errorf("%s records no preprocessing: pass the training spec with -e", f.model)
	}
	if o.Engine, err = openEngine(env, f.backend, mf, f.verbose); err != nil {
		return err
	}
	if f.image != "" {
		return inferImage(env, f.image, o)
	}
	return inferFolder(env, f, o)
}

// inferImage classifies one image and prints TAO's three lines.
func inferImage(env *Env, path string, o evaluate.InferOptions) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("-i: %w", err)
	}
	o.Paths, o.OnBadImage = []string{path}, loader.BadImageFail
	preds, err := evaluate.Infer(o)
	if err != nil {
		return err
	}
	if len(preds) == 0 {
		return fmt.Errorf("%s could not be read as an image", path)
	}
	p := preds[0]
	fmt.Fprintf(env.Stdout, "Current predictions: %s\n", numpyFloatRow(p.Probs))
	fmt.Fprintf(env.Stdout, "Class label = %d\n", evaluate.Argmax(p.Probs))
	fmt.Fprintf(env.Stdout, "Class name = %s\n", p.Class)
	return nil
}

// inferFolder classifies every image under the folder and writes result.csv and result.json.
func inferFolder(env *Env, f *inferFlags, o evaluate.InferOptions) error {
	paths, err := imagesUnder(f.dir)
	if err != nil {
		return err
	}
	outDir := f.dir
	if f.results != "" {
		outDir = f.results
	}
	unlock, err := lockResults(outDir, "classification inference")
	if err != nil {
		return err
	}
	defer unlock()
	status, err := results.StartStatus(f.results, "Starting inference.")
	if err != nil {
		return err
	}
	o.Paths, o.OnBadImage = paths, loader.BadImageSkip
	preds, err := evaluate.Infer(o)
	if err == nil {
		err = evaluate.WriteInferenceResults(outDir, preds)
	}
	if err != nil {
		status.Fail(err)
		return err
	}
	fmt.Fprintf(env.Stdout, "Inference complete: %d images. Result is saved at %s\n", len(preds), filepath.Join(outDir, evaluate.ResultCSV))
	return status.Succeed("Inference finished successfully.", nil)
}

// imagesUnder lists the .jpg/.jpeg/.png files under dir in TAO's order (os.walk's).
func imagesUnder(dir string) ([]string, error) {
	paths, err := data.WalkImages(dir)
	if err != nil {
		return nil, fmt.Errorf("-d: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("-d %s contains no .jpg, .jpeg or .png files", dir)
	}
	return paths, nil
}

// numpyFloatRow formats probabilities as numpy prints a [1, K] float32 array: fixed notation
// with up to 8 decimals padded with spaces, or, when values span more than 1e3 or go below
// 1e-4, scientific notation with the digits the most precise value needs.
func numpyFloatRow(v []float32) string {
	sci := false
	lo, hi := math.Inf(1), 0.0
	for _, x := range v {
		a := math.Abs(float64(x))
		if a != 0 {
			lo, hi = math.Min(lo, a), math.Max(hi, a)
		}
	}
	if hi >= 1e8 || (lo < 1e-4 && lo > 0) || (lo > 0 && hi/lo > 1e3) {
		sci = true
	}
	parts := make([]string, len(v))
	digits := 0 // scientific: the mantissa digits the most precise value needs
	for _, x := range v {
		m, _, _ := strings.Cut(strconv.FormatFloat(float64(x), 'e', -1, 32), "e")
		if _, frac, ok := strings.Cut(m, "."); ok {
			digits = max(digits, len(frac))
		}
	}
	width := 0
	for i, x := range v {
		if sci {
			parts[i] = strconv.FormatFloat(float64(x), 'e', digits, 32)
		} else {
			parts[i] = strings.TrimRight(strconv.FormatFloat(float64(x), 'f', 8, 32), "0")
		}
		width = max(width, len(parts[i]))
	}
	for i := range parts {
		parts[i] += strings.Repeat(" ", width-len(parts[i]))
	}
	return "[[" + strings.Join(parts, " ") + "]]"
}
