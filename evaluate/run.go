package evaluate

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/spec"
)

// CacheBytes caps a loader's cache of decoded images (per loader).
const CacheBytes = 1 << 30

// LoaderOptions returns loader options for evaluation or inference from preprocessing facts:
// no augmentation, no shuffle, the given crop and batch size; workers 0 means one per CPU.
func LoaderOptions(p modelfile.Preprocessing, centerCrop bool, batch, workers int) loader.Options {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	return loader.Options{
		Height: p.InputSize[1], Width: p.InputSize[2], Channels: p.InputSize[0],
		Interpolation: p.Interpolation, PreprocessMode: p.Mode, ImageMean: p.ImageMean, ImageStd: p.ImageStd,
		CenterCrop: centerCrop, BatchSize: max(batch, 1), Workers: workers,
		Cache: true, CacheMaxBytes: CacheBytes,
	}
}

// Preprocessing returns the spec's preprocessing when its train_config sets one (as TAO
// reads it), else the model file's; the input size is always the model's. e may be nil.
func Preprocessing(e *spec.Experiment, mf *modelfile.File) modelfile.Preprocessing {
	p := mf.Preprocessing
	if e != nil && e.PreprocessMode() != "" {
		p = modelfile.PreprocessingFromSpec(e)
	}
	p.InputSize = mf.Graph.Input
	return p
}

// NewModel binds a model file's graph and weights to the backend.
func NewModel(eng *engine.Engine, mf *modelfile.File) (*engine.Model, error) {
	m, err := eng.NewModel(mf.Graph, mf.Weights, 0)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %w", err)
	}
	return m, nil
}

// Predict runs the model on every batch of ld and hands each batch with its probabilities
// to fn.
func Predict(m *engine.Model, ld *loader.Loader, fn func(loader.Batch, *model.Tensor) error) error {
	it := ld.Epoch(0)
	defer it.Close()
	for it.Next() {
		b := it.Batch()
		probs, err := m.Predict(b.Images)
		if err != nil {
			return err
		}
		if err := fn(b, probs); err != nil {
			return err
		}
	}
	return it.Err()
}

// DatasetOptions says how to evaluate a model on a folder-per-class dataset.
type DatasetOptions struct {
	Engine        *engine.Engine
	Model         *modelfile.File
	Dataset       *data.Dataset
	Preprocessing modelfile.Preprocessing
	CenterCrop    bool
	Batch, TopK   int
	Warn          io.Writer // unreadable images are reported here (nil: not reported)
	// Regularization is the regularizer whose penalty on the model's weights the loss includes,
	// as TAO's evaluate rebuilds the model with the spec's reg_config (zero value: none).
	Regularization engine.TrainConfig
}

// Dataset runs the model over every image of the dataset and computes the metrics.
func Dataset(o DatasetOptions) (*Report, error) {
	if err := o.Engine.CheckBatch(o.Model.Graph, min(max(o.Batch, 1), len(o.Dataset.Samples)), false); err != nil {
		return nil, err
	}
	m, err := NewModel(o.Engine, o.Model)
	if err != nil {
		return nil, err
	}
	ld, err := loader.New(loader.Items(o.Dataset), len(o.Dataset.Classes), LoaderOptions(o.Preprocessing, o.CenterCrop, o.Batch, 0))
	if err != nil {
		return nil, err
	}
	ev, err := NewEvaluator(o.Dataset.Classes, max(o.TopK, 1))
	if err != nil {
		return nil, err
	}
	err = Predict(m, ld, func(b loader.Batch, probs *model.Tensor) error {
		return ev.AddBatch(b.Targets, probs.Data)
	})
	if err != nil {
		return nil, err
	}
	if bad := ld.BadImages(); len(bad) > 0 && o.Warn != nil {
		fmt.Fprintf(o.Warn, "warning: evaluation scores %d of %d images: %s", ld.Len()-len(bad), ld.Len(), ld.BadImageSummary())
		for label, n := range ld.Readable() {
			if n == 0 {
				fmt.Fprintf(o.Warn, "warning: class %q has no readable image: its precision and recall say nothing\n", o.Dataset.Classes[label])
			}
		}
	}
	rep, err := ev.Report()
	if err != nil {
		return nil, err
	}
	penalty, err := engine.Penalty(o.Model.Graph, o.Model.Weights, o.Regularization)
	if err != nil {
		return nil, fmt.Errorf("the regularization penalty: %w", err)
	}
	rep.AddPenalty(penalty)
	return rep, nil
}

// ClassMap is the class -> output index map to read a model's predictions with: the model's
// own, or the classmap file at path (empty: none) when the model records none. A file that
// names other classes than the model's is refused; one that lists the model's classes in
// another order changes nothing, since the model's outputs keep its own order.
func ClassMap(path string, mf *modelfile.File) (data.ClassMap, error) {
	own := data.ClassMap(mf.Classmap)
	if path == "" {
		return own, nil
	}
	cm, err := data.ReadClassMap(path)
	if err != nil || len(own) == 0 {
		return cm, err
	}
	if !sameNames(cm, own) {
		return nil, fmt.Errorf("classmap %s names classes %v but the model predicts %v: give the classmap it was trained with", path, names(cm), names(own))
	}
	return own, nil
}

func sameNames(a, b data.ClassMap) bool {
	if len(a) != len(b) {
		return false
	}
	for name := range a {
		if _, ok := b[name]; !ok {
			return false
		}
	}
	return true
}

// names lists a classmap's classes in index order.
func names(cm data.ClassMap) []string {
	n, err := data.ClassesFromMap(cm)
	if err != nil {
		return slices.Sorted(maps.Keys(cm))
	}
	return n
}

// OpenDataset lists a folder-per-class dataset in the class order of the classmap file at
// classmapPath (empty: the model's) and checks it against the model's class count.
func OpenDataset(dir, classmapPath string, mf *modelfile.File) (*data.Dataset, error) {
	cm, err := ClassMap(classmapPath, mf)
	if err != nil {
		return nil, err
	}
	if len(cm) == 0 {
		cm = nil
	}
	ds, err := data.Open(dir, cm)
	if err != nil {
		return nil, err
	}
	if units := mf.Graph.OutputUnits(); units != len(ds.Classes) {
		return nil, fmt.Errorf("the model predicts %d classes but %s has %d (%v); give the training classmap", units, dir, len(ds.Classes), ds.Classes)
	}
	return ds, nil
}
