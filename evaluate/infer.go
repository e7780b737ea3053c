package evaluate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/pyfmt"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// Prediction is one image's entry in inference's result.json.
type Prediction struct {
	Path  string      `json:"path"`
	Class string      `json:"class"`
	Conf  float32     `json:"confidence"`
	TopK  []ClassProb `json:"top_k"`
	// Probs is the whole softmax row (not in result.json).
	Probs []float32 `json:"-"`
}

// ClassProb is one of an image's most probable classes.
type ClassProb struct {
	Class string  `json:"class"`
	Index int     `json:"index"`
	Prob  float32 `json:"probability"`
}

// InferOptions says which images to classify and how.
type InferOptions struct {
	Engine        *engine.Engine
	Model         *modelfile.File
	Paths         []string
	Classes       []string // names in index order
	Preprocessing modelfile.Preprocessing
	CenterCrop    bool
	Batch, TopK   int
	OnBadImage    string    // loader.BadImageSkip or loader.BadImageFail
	Warn          io.Writer // skipped images are reported here (nil: not reported)
}

// Infer classifies the images in path order.
func Infer(o InferOptions) ([]Prediction, error) {
	if err := o.Engine.CheckBatch(o.Model.Graph, min(max(o.Batch, 1), len(o.Paths)), false); err != nil {
		return nil, err
	}
	m, err := NewModel(o.Engine, o.Model)
	if err != nil {
		return nil, err
	}
	items := make([]loader.Item, len(o.Paths))
	for i, p := range o.Paths {
		items[i] = loader.Item{Path: p}
	}
	opts := LoaderOptions(o.Preprocessing, o.CenterCrop, o.Batch, 0)
	opts.OnBadImage, opts.Cache = o.OnBadImage, false
	ld, err := loader.New(items, len(o.Classes), opts)
	if err != nil {
		return nil, err
	}
	var preds []Prediction
	k := len(o.Classes)
	err = Predict(m, ld, func(b loader.Batch, probs *model.Tensor) error {
		for i, path := range b.Paths {
			row := probs.Data[i*k : (i+1)*k]
			best := Argmax(row)
			preds = append(preds, Prediction{Path: path, Class: o.Classes[best], Conf: row[best],
				TopK: TopK(row, o.Classes, o.TopK), Probs: row})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if bad := ld.BadImageSummary(); bad != "" && o.Warn != nil {
		fmt.Fprintln(o.Warn, "warning:", bad)
	}
	return preds, nil
}

// Classes returns the class names in index order, from the classmap file at path (empty:
// the model file's); a model without a classmap gets "0", "1", ...
func Classes(path string, mf *modelfile.File) ([]string, error) {
	cm, err := ClassMap(path, mf)
	if err != nil {
		return nil, err
	}
	units := mf.Graph.OutputUnits()
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

// TopK returns the k most probable classes, most probable first.
func TopK(row []float32, classes []string, k int) []ClassProb {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	out := make([]ClassProb, 0, min(k, len(row)))
	for _, i := range idx[:min(k, len(row))] {
		out = append(out, ClassProb{Class: classes[i], Index: i, Prob: row[i]})
	}
	return out
}

// ResultCSV and ResultJSON are the files WriteInferenceResults writes.
const (
	ResultCSV  = "result.csv"
	ResultJSON = "result.json"
)

// WriteInferenceResults writes TAO's result.csv (image_path,predicted_class,confidence; no
// header) and result.json (the top-k classes of each image) into dir, atomically.
func WriteInferenceResults(dir string, preds []Prediction) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	var csv bytes.Buffer
	for _, p := range preds {
		// pandas writes the float32 confidence as the repr of its float64 value, as TAO's does.
		fmt.Fprintf(&csv, "%s,%s,%s\n", csvField(p.Path), csvField(p.Class), pyfmt.Float(float64(p.Conf)))
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ResultCSV), csv.Bytes()); err != nil {
		return err
	}
	if preds == nil {
		preds = []Prediction{}
	}
	js, err := json.MarshalIndent(preds, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ResultJSON), append(js, '\n'))
}

// csvField quotes a CSV field when it needs it, as pandas does.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
