// Package modelfile owns Bonsai's on-disk model: a safetensors container holding the weights
// (and optionally the optimizer state), with the model graph (IR), classmap, preprocessing, spec
// and epoch in its "__metadata__" map, so that other tools (Python safetensors, Hugging Face) open
// plain files directly.
//
// Layout of a plain file (extension .safetensors), as the safetensors format defines it:
//
//	8 bytes    little-endian uint64 N: length of the JSON header
//	N bytes    JSON header: {"__metadata__": {string: string}, "<tensor name>": {"dtype": "F32",
//	           "shape": [...], "data_offsets": [begin, end]}, ...}, padded with spaces to a
//	           multiple of 8 bytes
//	rest       raw little-endian tensor data; offsets are relative to the end of the header
//
// Weights are stored under their model.Weights keys ("conv1/kernel"), optimizer state under
// "optimizer/<name>". Metadata entries: "format" ("bonsai/1"), "graph" (model.Graph as JSON),
// "classmap" (JSON {class: index}), "preprocessing" (JSON Preprocessing), "spec" (experiment
// text), "epoch" (decimal), plus any File.Extra entries.
//
// With a key (TAO's -k), the whole plain file is encrypted with AES-256-GCM (extension
// .safetensors.enc); see crypt.go for that layout. Every write is atomic: a temporary file in the
// same folder is written, synced and renamed into place.
package modelfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/readfile"

	"github.com/bonsai-ml/bonsai/model"
)

// FormatVersion is the value of the "format" metadata entry written by this package.
const FormatVersion = "bonsai/1"

// File extensions: Ext for plain files, EncryptedExt for files written with a key.
const (
	Ext          = ".safetensors"
	EncryptedExt = ".safetensors.enc"
)

// OptimizerPrefix starts the tensor names of optimizer state in the container.
const OptimizerPrefix = "optimizer/"

// Metadata keys written by Save; File.Extra may not use them.
const (
	MetaFormat        = "format"
	MetaGraph         = "graph"
	MetaClassmap      = "classmap"
	MetaPreprocessing = "preprocessing"
	MetaSpec          = "spec"
	MetaEpoch         = "epoch"
)

var reservedMeta = map[string]bool{
	MetaFormat: true, MetaGraph: true, MetaClassmap: true,
	MetaPreprocessing: true, MetaSpec: true, MetaEpoch: true,
}

// File is everything a model file holds.
type File struct {
	Graph   *model.Graph
	Weights model.Weights
	// Optimizer holds optimizer state for resuming (e.g. "conv1/kernel/momentum"); may be nil.
	Optimizer     map[string]*model.Tensor
	Classmap      map[string]int
	Preprocessing Preprocessing
	Spec          string
	Epoch         int
	// Extra holds further metadata entries (any key but the reserved ones above).
	Extra map[string]string
}

// Preprocessing says how images are turned into the model's input, so that inference and
// export reproduce training without the spec file.
type Preprocessing struct {
	// Mode is TAO's prepress mode: "caffe", "torch" or "tf".
	Mode string `json:"mode"`
	// ImageMean is TAO's image_mean as the data loader takes it: keys "r", "g", "b" (or "l" for
	// one channel); empty means the mode's defaults. ImageStd, with the same keys, is torch
	// mode's std; empty means 0.224 for every channel (TAO's).
	ImageMean map[string]float32 `json:"image_mean,omitempty"`
	ImageStd  map[string]float32 `json:"image_std,omitempty"`
	// InputSize is [C, H, W] as TAO's input_image_size writes it.
	InputSize [3]int `json:"input_size"`
	// Interpolation is the resize filter, e.g. "bilinear", "bicubic", "nearest".
	Interpolation string `json:"interpolation,omitempty"`
	// CenterCrop is TAO's enable_center_crop at evaluation and inference.
	CenterCrop bool `json:"center_crop"`
}

// Errors that callers may test with errors.Is (e.g. to choose an exit code).
var (
	ErrKeyRequired = errors.New("model file is encrypted and no key was given")
	ErrWrongKey    = errors.New("decryption failed (authentication)")
	ErrCorrupt     = errors.New("model file is damaged or not a safetensors file")
)

// FileExt is the extension for a model file written with key (empty: not encrypted).
func FileExt(key string) string {
	if key == "" {
		return Ext
	}
	return EncryptedExt
}

// Save writes f to path atomically. A non-empty key encrypts the file (see package doc).
func Save(path string, f *File, key string) error {
	plain, err := Encode(f)
	if err != nil {
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	data := plain
	if key != "" {
		if data, err = encrypt(plain, key); err != nil {
			return fmt.Errorf("saving model %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}

// Load reads a model file. Encrypted files need their key; a key given for a plain file is
// ignored. A plain safetensors file written by another tool loads too: its tensors become
// Weights and Graph stays nil.
func Load(path, key string) (*File, error) {
	data, err := readfile.Read(path, "model file", 0)
	if err != nil {
		if sibling := Sibling(path); sibling != "" && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reading model: %w; %s exists: Bonsai writes model files as %s, give that path", err, sibling, Ext)
		}
		return nil, fmt.Errorf("reading model: %w", err)
	}
	if isEncrypted(data) {
		if key == "" {
			return nil, fmt.Errorf("%s: %w", path, ErrKeyRequired)
		}
		if data, err = decrypt(data, key); err != nil {
			if errors.Is(err, ErrWrongKey) {
				return nil, fmt.Errorf("wrong key for %s: %w", path, err)
			}
			return nil, fmt.Errorf("reading model %s: %w", path, err)
		}
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("reading model %s: %w", path, err)
	}
	return f, nil
}

// Sibling is the Bonsai model file next to a TAO-style name (.hdf5, .h5, .tlt) that exists,
// or "".
func Sibling(path string) string {
	for _, tao := range []string{".hdf5", ".h5", ".tlt"} {
		base, ok := strings.CutSuffix(path, tao)
		if !ok {
			continue
		}
		for _, ext := range []string{Ext, EncryptedExt} {
			if _, err := os.Stat(base + ext); err == nil {
				return base + ext
			}
		}
	}
	return ""
}

// Encode returns the plain safetensors bytes of f.
func Encode(f *File) ([]byte, error) {
	if err := f.CheckWeights(); err != nil {
		return nil, err
	}
	meta, err := metadataOf(f)
	if err != nil {
		return nil, err
	}
	tensors, err := tensorsOf(f)
	if err != nil {
		return nil, err
	}
	return encodeSafetensors(tensors, meta)
}

// Decode parses plain safetensors bytes into a File.
func Decode(data []byte) (*File, error) {
	tensors, meta, err := decodeSafetensors(data)
	if err != nil {
		return nil, err
	}
	f := &File{Weights: model.Weights{}}
	for name, t := range tensors {
		if opt, ok := strings.CutPrefix(name, OptimizerPrefix); ok {
			if f.Optimizer == nil {
				f.Optimizer = map[string]*model.Tensor{}
			}
			f.Optimizer[opt] = t
		} else {
			f.Weights[name] = t
		}
	}
	if err := applyMetadata(f, meta); err != nil {
		return nil, err
	}
	if err := f.CheckWeights(); err != nil {
		return nil, err
	}
	return f, nil
}

// tensorsOf gathers weights and optimizer state under their container names.
func tensorsOf(f *File) (map[string]*model.Tensor, error) {
	out := make(map[string]*model.Tensor, len(f.Weights)+len(f.Optimizer))
	for name, t := range f.Weights {
		if strings.HasPrefix(name, OptimizerPrefix) {
			return nil, fmt.Errorf("weight name %q uses the reserved prefix %q", name, OptimizerPrefix)
		}
		out[name] = t
	}
	for name, t := range f.Optimizer {
		out[OptimizerPrefix+name] = t
	}
	return out, nil
}

// metadataOf builds the "__metadata__" map of f.
func metadataOf(f *File) (map[string]string, error) {
	meta := map[string]string{MetaFormat: FormatVersion}
	for k, v := range f.Extra {
		if reservedMeta[k] {
			return nil, fmt.Errorf("extra metadata key %q is reserved", k)
		}
		meta[k] = v
	}
	if f.Graph != nil {
		b, err := json.Marshal(f.Graph)
		if err != nil {
			return nil, fmt.Errorf("encoding model graph: %w", err)
		}
		meta[MetaGraph] = string(b)
	}
	if f.Classmap != nil {
		b, err := json.Marshal(f.Classmap)
		if err != nil {
			return nil, fmt.Errorf("encoding classmap: %w", err)
		}
		meta[MetaClassmap] = string(b)
	}
	b, err := json.Marshal(f.Preprocessing)
	if err != nil {
		return nil, fmt.Errorf("encoding preprocessing: %w", err)
	}
	meta[MetaPreprocessing] = string(b)
	meta[MetaSpec] = f.Spec
	meta[MetaEpoch] = strconv.Itoa(f.Epoch)
	return meta, nil
}

// applyMetadata fills f from the "__metadata__" map.
func applyMetadata(f *File, meta map[string]string) error {
	if v, ok := meta[MetaFormat]; ok && v != FormatVersion {
		return fmt.Errorf("unsupported model file format %q (this Bonsai reads %q)", v, FormatVersion)
	}
	if v, ok := meta[MetaGraph]; ok {
		g, err := model.ParseJSON([]byte(v))
		if err != nil {
			return fmt.Errorf("graph metadata: %w", err)
		}
		f.Graph = g
	}
	if v, ok := meta[MetaClassmap]; ok {
		if err := json.Unmarshal([]byte(v), &f.Classmap); err != nil {
			return fmt.Errorf("decoding classmap metadata: %w", err)
		}
	}
	if v, ok := meta[MetaPreprocessing]; ok {
		if err := json.Unmarshal([]byte(v), &f.Preprocessing); err != nil {
			return fmt.Errorf("decoding preprocessing metadata: %w", err)
		}
	}
	f.Spec = meta[MetaSpec]
	if v, ok := meta[MetaEpoch]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("decoding epoch metadata %q: %w", v, err)
		}
		f.Epoch = n
	}
	for k, v := range meta {
		if !reservedMeta[k] {
			if f.Extra == nil {
				f.Extra = map[string]string{}
			}
			f.Extra[k] = v
		}
	}
	return nil
}

// CheckWeights reports the first graph parameter that is missing from Weights or has another
// shape. Weights beyond the graph's parameters are allowed. A file without a graph passes.
func (f *File) CheckWeights() error {
	if f.Graph == nil {
		return nil
	}
	keys, params, err := f.Graph.AllParams()
	if err != nil {
		return fmt.Errorf("model graph: %w", err)
	}
	for _, k := range keys {
		t, ok := f.Weights[k]
		if !ok || t == nil {
			return fmt.Errorf("weights lack %s, a parameter of the model graph", k)
		}
		if !slices.Equal(t.Shape, params[k].Shape) {
			return fmt.Errorf("weight %s has shape %v; the model graph needs %v", k, t.Shape, params[k].Shape)
		}
	}
	return nil
}
