package modelfile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bonsai-ml/bonsai/spec"
)

// PreprocessingFromSpec is what a model file records about turning images into inputs:
// preprocess_mode, image_mean, torch mode's std (always written, so that the file says which std
// it was trained with), input size, interpolation and eval_config's center crop.
func PreprocessingFromSpec(e *spec.Experiment) Preprocessing {
	c, h, w := e.InputSize()
	return Preprocessing{
		Mode:          e.PreprocessMode(),
		ImageMean:     e.Proto.GetTrainConfig().GetImageMean(),
		ImageStd:      e.ImageStd(),
		InputSize:     [3]int{c, h, w},
		Interpolation: strings.ToLower(e.Interpolation().String()),
		CenterCrop:    e.Proto.GetEvalConfig().GetEnableCenterCrop(),
	}
}

// ErrNoGraph is returned by LoadModel for a file without a model graph.
var ErrNoGraph = errors.New("no model graph")

// LoadModel is Load for a file that must hold a model graph (one written by Bonsai).
func LoadModel(path, key string) (*File, error) {
	f, err := Load(path, key)
	if err != nil {
		return nil, err
	}
	if f.Graph == nil {
		return nil, fmt.Errorf("%s has no model graph: it is not a Bonsai model file (train one with 'bonsai classification train'): %w", path, ErrNoGraph)
	}
	return f, nil
}
