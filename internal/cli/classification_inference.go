package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/pyfmt"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/bonsai-ml/bonsai/train"
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
	fset.StringVar(&f.backend, "backend", "", engine.BackendHelp)
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
	classes, err := inferenceClasses(f.classmap, mf)
	if err != nil {
		return err
	}
	centerCrop := mf.Preprocessing.CenterCrop
	if e != nil {
		centerCrop = e.Proto.GetEvalConfig().GetEnableCenterCrop()
	}
	p := preprocessing(e, mf)
	if p.Mode == "" {
		return fmt.Errorf("%s records no preprocessing: pass the training spec with -e", f.model)
	}
	if f.image != "" {
		return inferImage(env, f, mf, classes, p, centerCrop)
	}
	return inferFolder(env, f, mf, classes, p, centerCrop)
}

// inferenceClasses returns the class names in index order, from -cm or the model file.
func inferenceClasses(path string, mf *modelfile.File) ([]string, error) {
	cm := data.ClassMap(mf.Classmap)
	if path != "" {
		var err error
		if cm, err = data.ReadClassMap(path); err != nil {
			return nil, err
		}
	}
	units := outputUnits(mf.Graph)
	if len(cm) == 0 {
		names := make([]string, units)
		for i := range names {
			names[i] = strconv.Itoa(i)
		}
		return names, nil
	}
	classes, err := data.ClassesFromMap(cm)
	if err != nil {
		return nil, err
	}
	if len(classes) != units {
		return nil, fmt.Errorf("the classmap names %d classes but the model predicts %d", len(classes), units)
	}
	return classes, nil
}

// inferImage classifies one image and prints TAO's three lines.
func inferImage(env *Env, f *inferFlags, mf *modelfile.File, classes []string, p modelfile.Preprocessing, centerCrop bool) error {
	if _, err := os.Stat(f.image); err != nil {
		return fmt.Errorf("-i: %w", err)
	}
	var out *model.Tensor
	err := runInference(env, f, mf, []string{f.image}, p, centerCrop, len(classes), func(_ loader.Batch, probs *model.Tensor) error {
		out = probs
		return nil
	}, loader.BadImageFail)
	if err != nil {
		return err
	}
	if out == nil {
		return fmt.Errorf("%s could not be read as an image", f.image)
	}
	best := evaluate.Argmax(out.Data)
	fmt.Fprintf(env.Stdout, "Current predictions: %s\n", numpyFloatRow(out.Data))
	fmt.Fprintf(env.Stdout, "Class label = %d\n", best)
	fmt.Fprintf(env.Stdout, "Class name = %s\n", classes[best])
	return nil
}

// prediction is one image's entry in result.json.
type prediction struct {
	Path  string      `json:"path"`
	Class string      `json:"class"`
	Conf  float32     `json:"confidence"`
	TopK  []classProb `json:"top_k"`
}

type classProb struct {
	Class string  `json:"class"`
	Index int     `json:"index"`
	Prob  float32 `json:"probability"`
}

// inferFolder classifies every image under the folder and writes result.csv and result.json.
func inferFolder(env *Env, f *inferFlags, mf *modelfile.File, classes []string, p modelfile.Preprocessing, centerCrop bool) error {
	paths, err := imagesUnder(f.dir)
	if err != nil {
		return err
	}
	outDir := f.dir
	if f.results != "" {
		outDir = f.results
	}
	status, err := startStatus(f.results, "Starting inference.")
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	var preds []prediction
	err = runInference(env, f, mf, paths, p, centerCrop, len(classes), func(b loader.Batch, probs *model.Tensor) error {
		k := len(classes)
		for i, path := range b.Paths {
			row := probs.Data[i*k : (i+1)*k]
			best := evaluate.Argmax(row)
			// pandas writes the float32 confidence as the repr of its float64 value, as TAO's does.
			fmt.Fprintf(&csv, "%s,%s,%s\n", csvField(path), csvField(classes[best]), pyfmt.Float(float64(row[best])))
			preds = append(preds, prediction{Path: path, Class: classes[best], Conf: row[best], TopK: topK(row, classes, f.topK)})
		}
		return nil
	}, loader.BadImageSkip)
	if err != nil {
		status.fail(err)
		return err
	}
	if err := writeInferenceOutputs(outDir, csv.Bytes(), preds); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Inference complete: %d images. Result is saved at %s\n", len(preds), filepath.Join(outDir, "result.csv"))
	if status.log != nil {
		return status.log.Write(train.StatusSuccess, "Inference finished successfully.")
	}
	return nil
}

// runInference predicts the images in order, in batches of f.batch.
func runInference(env *Env, f *inferFlags, mf *modelfile.File, paths []string, p modelfile.Preprocessing, centerCrop bool, classes int, fn func(loader.Batch, *model.Tensor) error, onBad string) error {
	m, err := newInferenceModel(env, f.backend, mf, f.verbose)
	if err != nil {
		return err
	}
	items := make([]loader.Item, len(paths))
	for i, p := range paths {
		items[i] = loader.Item{Path: p}
	}
	opts := train.EvalLoaderOptions(p, centerCrop, f.batch, 0)
	opts.OnBadImage, opts.Cache = onBad, false
	ld, err := loader.New(items, classes, opts)
	if err != nil {
		return err
	}
	if err := predictBatches(m, ld, fn); err != nil {
		return err
	}
	if bad := ld.BadImageSummary(); bad != "" {
		fmt.Fprintln(env.Stderr, "warning:", bad)
	}
	return nil
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

// writeInferenceOutputs writes result.csv and result.json atomically.
func writeInferenceOutputs(dir string, csv []byte, preds []prediction) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "result.csv"), csv); err != nil {
		return err
	}
	js, err := json.MarshalIndent(preds, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "result.json"), append(js, '\n'))
}

// topK returns the k most probable classes, most probable first.
func topK(row []float32, classes []string, k int) []classProb {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	out := make([]classProb, 0, min(k, len(row)))
	for _, i := range idx[:min(k, len(row))] {
		out = append(out, classProb{Class: classes[i], Index: i, Prob: row[i]})
	}
	return out
}

// csvField quotes a CSV field when it needs it, as pandas does.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
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
