package deploy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/onnx"
)

// EvalConfig says which exported model to evaluate in ONNX Runtime on which images.
type EvalConfig struct {
	Model    string // an .onnx file written by Export (FP32 or QDQ)
	Dir      string // one folder per class
	Classmap string // classmap.json; default: the model's class_names metadata
	Batch    int    // images per session.run (default 32; a static batch wins)
	Threads  int    // ONNX Runtime intra-op threads (0: its default)
}

// EvalResult is the top-1 accuracy of an exported model and ONNX Runtime's speed.
type EvalResult struct {
	Images, Correct int
	Top1            float64
	// ImagesPerSecond counts ONNX Runtime's session.run calls only (no decoding or resizing).
	ImagesPerSecond float64
}

// EvaluateONNX runs an exported model in ONNX Runtime on a folder-per-class dataset, with the
// preprocessing its metadata records, and measures top-1 accuracy.
func EvaluateONNX(cfg EvalConfig, rt *onnxtools.Runtime) (*EvalResult, error) {
	m, err := onnx.ReadFile(cfg.Model)
	if err != nil {
		return nil, err
	}
	meta := onnx.Metadata(m)
	prep, ratio, err := inputFromMetadata(meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Model, err)
	}
	ds, err := evalDataset(cfg, meta)
	if err != nil {
		return nil, err
	}
	x, labels, err := loadInputs(ds, prep, ratio)
	if err != nil {
		return nil, err
	}
	batch := orDefault(cfg.Batch, 32)
	if dims := onnx.ValueInfoDims(m.GetGraph().GetInput()[0]); dims[0] > 0 {
		batch = dims[0]
		x = padRows(x, batch)
	}
	res, err := rt.Run(cfg.Model, x, onnxtools.Options{Batch: batch, Threads: cfg.Threads})
	if err != nil {
		return nil, err
	}
	out := &EvalResult{Images: len(labels), ImagesPerSecond: res.ImagesPerSecond * float64(len(labels)) / float64(x.Shape[0])}
	k := res.Output.Shape[1]
	for i, label := range labels {
		if evaluate.Argmax(res.Output.Data[i*k:(i+1)*k]) == label {
			out.Correct++
		}
	}
	out.Top1 = float64(out.Correct) / float64(max(out.Images, 1))
	return out, nil
}

// inputFromMetadata reads the preprocessing an export recorded and, per channel, the factor
// from Bonsai's preprocessed value to the model's input (1 unless an input scale was folded).
func inputFromMetadata(meta map[string]string) (modelfile.Preprocessing, []float32, error) {
	var p modelfile.Preprocessing
	if err := json.Unmarshal([]byte(meta[onnx.MetaPreprocessing]), &p); err != nil {
		return p, nil, fmt.Errorf("no readable %s metadata (was it written by bonsai classification export?): %w", onnx.MetaPreprocessing, err)
	}
	norm, err := loader.NormalizationOf(p.Mode, p.InputSize[0], p.ImageMean, p.ImageStd)
	if err != nil {
		return p, nil, err
	}
	parts := strings.Split(meta[onnx.MetaScales], ";")
	if len(parts) != len(norm.Scales) {
		return p, nil, fmt.Errorf("%s metadata %q has %d values for %d channels", onnx.MetaScales, meta[onnx.MetaScales], len(parts), len(norm.Scales))
	}
	ratio := make([]float32, len(parts))
	for i, s := range parts {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return p, nil, fmt.Errorf("%s metadata: %w", onnx.MetaScales, err)
		}
		ratio[i] = float32(v) / norm.Scales[i]
	}
	return p, ratio, nil
}

// evalDataset opens the dataset in the class order of the classmap or the model's metadata.
func evalDataset(cfg EvalConfig, meta map[string]string) (*data.Dataset, error) {
	var cm data.ClassMap
	if cfg.Classmap != "" {
		var err error
		if cm, err = data.ReadClassMap(cfg.Classmap); err != nil {
			return nil, err
		}
	} else if names := meta[onnx.MetaClasses]; names != "" {
		var classes []string
		if err := json.Unmarshal([]byte(names), &classes); err != nil {
			return nil, fmt.Errorf("%s metadata: %w", onnx.MetaClasses, err)
		}
		cm = data.MapFromClasses(classes)
	}
	return data.Open(cfg.Dir, cm)
}

// loadInputs preprocesses every image of ds as evaluation does and scales channel c by
// ratio[c]; it returns NCHW inputs and the labels.
func loadInputs(ds *data.Dataset, p modelfile.Preprocessing, ratio []float32) (*model.Tensor, []int, error) {
	items := make([]loader.Item, len(ds.Samples))
	for i, s := range ds.Samples {
		items[i] = loader.Item{Path: s.Path, Label: s.Label}
	}
	opts := evaluate.LoaderOptions(p, p.CenterCrop, 64, 0)
	opts.Cache = false
	ld, err := loader.New(items, len(ds.Classes), opts)
	if err != nil {
		return nil, nil, err
	}
	c, h, w := p.InputSize[0], p.InputSize[1], p.InputSize[2]
	var pix []float32
	var labels []int
	it := ld.Epoch(0)
	defer it.Close()
	for it.Next() {
		b := it.Batch()
		pix = append(pix, b.Images.Data...)
		labels = append(labels, b.Targets...)
	}
	if err := it.Err(); err != nil {
		return nil, nil, err
	}
	for i := range pix {
		pix[i] *= ratio[i%c]
	}
	return onnx.NCHW(&model.Tensor{Shape: []int{len(labels), h, w, c}, Data: pix}), labels, nil
}

// padRows pads x with zero rows to a multiple of n.
func padRows(x *model.Tensor, n int) *model.Tensor {
	rows := (x.Shape[0] + n - 1) / n * n
	if rows == x.Shape[0] {
		return x
	}
	out := model.NewTensor(append([]int{rows}, x.Shape[1:]...)...)
	copy(out.Data, x.Data)
	return out
}
