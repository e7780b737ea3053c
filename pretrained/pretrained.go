// Package pretrained loads pretrained models from every format Bonsai reads into a model graph
// plus weights, and transfers their weights into the model being trained, layer by layer, with
// a table of what was loaded, skipped and re-initialised:
//
//   - Bonsai model files (.safetensors, .safetensors.enc), as written by training and export;
//   - Keras HDF5 files (.h5, .hdf5: TAO's and Keras' pretrained format), with or without
//     model_config (package keras, through package hdf5);
//   - TensorFlow.js layers models (model.json and its weight shards, package tfjs);
//   - ONNX models (.onnx) exported by PyTorch, timm or Keras (package onnx).
//
// Load is the one entry point: training's pretrained_model_path and "bonsai model import" use
// it. Transfer matches the loaded weights to another graph by layer name.
package pretrained

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/readfile"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/pretrained/keras"
	"github.com/bonsai-ml/bonsai/pretrained/tfjs"
)

// Formats Load recognises.
const (
	FormatBonsai = "bonsai"
	FormatKeras  = "keras-hdf5"
	FormatTFJS   = "tfjs"
	FormatONNX   = "onnx"
)

// Options adjust loading.
type Options struct {
	// Key decrypts an encrypted Bonsai model file.
	Key string
	// InputSize [C, H, W], when set, replaces the source's input height and width (fully
	// convolutional models run at any size); one the source leaves open is otherwise 224x224.
	InputSize [3]int
	// PaddingMode sets an imported graph's padding mode (model.PaddingTF or PaddingTAO); ""
	// keeps the source's, guessing TAO's for channels_first Keras models.
	PaddingMode string
}

// Source is a pretrained model read from any supported format.
type Source struct {
	Path   string
	Format string
	// Graph is the model graph; nil for weights-only sources (a Keras save_weights file, a
	// plain safetensors file).
	Graph   *model.Graph
	Weights model.Weights
	// File is the whole Bonsai model file (classmap, preprocessing, ...) for Bonsai sources.
	File *modelfile.File
	// Layers lists the source's layers and what each became in Graph.
	Layers []LayerInfo
	// Unused lists source tensors that are not parameters of Graph ("layer/param: reason").
	Unused []string
	// Notes are facts about the conversion worth printing (format version, dropped softmax).
	Notes []string
}

// LayerInfo says what one source layer became.
type LayerInfo struct {
	Name string
	Type string // the source's layer type (Keras class, ONNX op, graph op)
	Op   string // the graph op it became; "" when dropped
	Note string
}

// ErrUnsupported is wrapped by errors for files Load cannot read at all.
var ErrUnsupported = errors.New("unsupported pretrained model format")

// Load reads a pretrained model, choosing the reader by content and extension.
func Load(path string, opts Options) (*Source, error) {
	format, modelPath, err := Detect(path)
	if err != nil {
		return nil, err
	}
	var src *Source
	switch format {
	case FormatKeras:
		src, err = loadKeras(modelPath, opts)
	case FormatTFJS:
		src, err = loadTFJS(modelPath, opts)
	case FormatONNX:
		src, err = loadONNX(modelPath, opts)
	default:
		src, err = loadBonsai(modelPath, opts)
	}
	if err != nil {
		return nil, err
	}
	src.Path, src.Format = modelPath, format
	return src, nil
}

var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// Detect names the format of the file (or folder holding model.json) at path and returns the
// file to read.
func Detect(path string) (format, file string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("pretrained model: %w", err)
	}
	if st.IsDir() {
		p := filepath.Join(path, "model.json")
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("pretrained model %s is a folder without model.json (a TensorFlow.js model): %w", path, ErrUnsupported)
		}
		return FormatTFJS, p, nil
	}
	if _, err := readfile.Check(path, "model file", 0); err != nil {
		return "", "", err
	}
	head := make([]byte, 8)
	if fh, err := os.Open(path); err == nil {
		n, _ := io.ReadFull(fh, head)
		head = head[:n]
		fh.Close()
	}
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case bytes.Equal(head, hdf5Signature) || ext == ".h5" || ext == ".hdf5":
		return FormatKeras, path, nil
	case ext == ".json":
		return FormatTFJS, path, nil
	case ext == ".onnx":
		return FormatONNX, path, nil
	case ext == ".tlt" || ext == ".etlt":
		return "", "", fmt.Errorf("%s is a TAO %s file, encrypted with TAO's key: decrypt it to .hdf5 with TAO first (or use the unencrypted NGC .hdf5): %w", path, ext, ErrUnsupported)
	case ext == ".keras" || ext == ".pb" || ext == ".pt" || ext == ".pth":
		return "", "", fmt.Errorf("%s: %s files are not supported; convert the model to ONNX, Keras HDF5 (.h5) or TensorFlow.js: %w", path, ext, ErrUnsupported)
	}
	return FormatBonsai, path, nil
}

func loadBonsai(path string, opts Options) (*Source, error) {
	mf, err := modelfile.Load(path, opts.Key)
	if err != nil {
		return nil, err
	}
	src := &Source{Graph: mf.Graph, Weights: mf.Weights, File: mf}
	if mf.Graph != nil && opts.PaddingMode != "" {
		if err := mf.Graph.SetPaddingMode(opts.PaddingMode); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if mf.Graph != nil {
		for _, l := range mf.Graph.Layers {
			src.Layers = append(src.Layers, LayerInfo{Name: l.Name, Type: string(l.Op), Op: string(l.Op)})
		}
	}
	return src, nil
}

func loadKeras(path string, opts Options) (*Source, error) {
	kf, err := keras.ReadHDF5(path)
	if err != nil {
		return nil, err
	}
	src := &Source{}
	if kf.KerasVersion != "" {
		src.Notes = append(src.Notes, fmt.Sprintf("Keras %s file (backend %s)", kf.KerasVersion, kf.Backend))
	}
	if kf.Config == "" {
		src.Weights = keras.GenericWeights(kf.Tensors)
		src.Notes = append(src.Notes, "weights only (no model_config): matched to the model by layer name")
		return src, nil
	}
	conv, err := keras.ParseConfig([]byte(kf.Config), keras.Options{InputSize: opts.InputSize, PaddingMode: opts.PaddingMode})
	if err != nil {
		return nil, fmt.Errorf("%s: model_config: %w", path, err)
	}
	return fromConversion(src, conv, kf.Tensors, path)
}

func loadTFJS(path string, opts Options) (*Source, error) {
	m, err := tfjs.Read(path, keras.Options{InputSize: opts.InputSize, PaddingMode: opts.PaddingMode})
	if err != nil {
		return nil, err
	}
	return fromConversion(&Source{}, m.Conversion, m.Tensors, path)
}

// fromConversion fills src from a converted Keras config and its weights.
func fromConversion(src *Source, conv *keras.Conversion, tensors map[string]*model.Tensor, path string) (*Source, error) {
	w, unused, err := conv.Weights(tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	src.Graph, src.Weights, src.Unused = conv.Graph, w, unused
	for _, l := range conv.Layers {
		src.Layers = append(src.Layers, LayerInfo{Name: l.Name, Type: l.Class, Op: l.Op, Note: l.Note})
		if l.Note != "" {
			src.Notes = append(src.Notes, l.Name+": "+l.Note)
		}
	}
	if conv.ChannelsFirst {
		src.Notes = append(src.Notes, "channels_first model: run in NHWC; dense rows after a flatten permuted to (H, W, C)")
	}
	if conv.Graph.PaddingMode() == model.PaddingTAO {
		src.Notes = append(src.Notes, "padding mode tao: TAO's symmetric SAME padding, average pools counting the padding")
	}
	return src, nil
}
