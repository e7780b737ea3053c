// Package deploy owns `bonsai classification export`: from a trained model file to the files a
// device runs. It writes the ONNX model (package onnx), with --data_type int8 the TensorRT
// calibration cache and a QDQ ONNX model (package onnx/quant), and with --gen_ds_config the
// DeepStream files (deepstream.go); it also composes the trtexec command that builds the
// TensorRT engine on the device, since TensorRT is not part of Bonsai.
package deploy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/quant"
	"github.com/bonsai-ml/bonsai/spec"
)

// Data types of --data_type.
const (
	FP32 = "fp32"
	FP16 = "fp16"
	INT8 = "int8"
)

// Config is what `classification export` is asked to do. Zero values take TAO's defaults.
type Config struct {
	Model, Key string
	// Output is the ONNX file (default: Model with its extension replaced by .onnx).
	Output string
	// Overwrite replaces existing outputs; otherwise an existing one is an error, as in TAO.
	Overwrite bool
	// Spec is the experiment spec: its preprocessing replaces the model file's, and its
	// training set is the default calibration data.
	Spec         string
	ClassmapJSON string
	GenDSConfig  bool
	Opset        int // default onnx.DefaultOpset
	StaticBatch  int // > 0: fixed batch dimension
	DataType     string

	// INT8 calibration.
	CalImageDir     string
	CalCacheFile    string // default DefaultCalCache
	CalAlgorithm    string // quant.Entropy (default), quant.Percentile, quant.MaxAbs
	CalPercentile   float64
	Batches         int // default 10
	BatchSize       int // default 16
	TensorRTVersion string

	// TensorRT engine settings, used in the trtexec command and DeepStream config.
	EngineFile                   string
	MinBatch, OptBatch, MaxBatch int
	WorkspaceMiB                 int

	Backend         string
	ProducerVersion string
	Log             io.Writer // progress lines; nil for none
}

// DefaultCalCache is TAO's --cal_cache_file default.
const DefaultCalCache = "./cal.bin"

// Result lists what Export wrote.
type Result struct {
	ONNX       string
	QDQ        string // INT8 only
	CalCache   string // INT8 only
	DSFiles    []string
	Params     int     // parameters of the model graph
	SizeMB     float64 // size of the ONNX file
	InputScale []float32
	// Trtexec is the command that builds the TensorRT engine on the device.
	Trtexec string
	// Notes are one-line remarks for the user (folding, ignored flags, calibration size).
	Notes []string
}

// ErrExists is returned (wrapped) when an output exists and Overwrite is off.
var ErrExists = errors.New("output exists")

// job is one export in progress.
type job struct {
	cfg     Config
	mf      *modelfile.File
	exp     *spec.Experiment
	prep    modelfile.Preprocessing
	classes []string
	calib   []loader.Item // INT8 calibration images
	res     *Result
}

// Export runs `classification export`.
func Export(cfg Config) (*Result, error) {
	j := &job{cfg: cfg, res: &Result{}}
	steps := []func() error{j.defaults, j.load, j.checkOutputs, j.listCalibrationImages, j.exportFP32}
	if cfg.DataType == INT8 {
		steps = append(steps, j.int8)
	}
	if cfg.GenDSConfig {
		steps = append(steps, j.deepStream)
	}
	steps = append(steps, j.trtexec)
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return j.res, nil
}

func (j *job) logf(format string, args ...any) {
	if j.cfg.Log != nil {
		fmt.Fprintf(j.cfg.Log, format+"\n", args...)
	}
}

// defaults fills TAO's defaults and checks the settings.
func (j *job) defaults() error {
	c := &j.cfg
	if c.Model == "" {
		return fmt.Errorf("no model: pass -m MODEL")
	}
	if c.Output == "" {
		c.Output = DefaultOutput(c.Model)
	}
	c.DataType = strings.ToLower(c.DataType)
	if c.DataType == "" {
		c.DataType = FP32
	}
	if c.DataType != FP32 && c.DataType != FP16 && c.DataType != INT8 {
		return fmt.Errorf("data type %q: want fp32, fp16 or int8", c.DataType)
	}
	if c.Opset == 0 {
		c.Opset = onnx.DefaultOpset
	}
	if c.CalCacheFile == "" {
		c.CalCacheFile = DefaultCalCache
	}
	if c.TensorRTVersion == "" {
		c.TensorRTVersion = quant.DefaultTensorRTVersion
	}
	if _, err := quant.CacheVersion(c.TensorRTVersion); err != nil {
		return err
	}
	c.Batches, c.BatchSize = orDefault(c.Batches, 10), orDefault(c.BatchSize, 16)
	c.MinBatch, c.OptBatch, c.MaxBatch = orDefault(c.MinBatch, 1), orDefault(c.OptBatch, 1), orDefault(c.MaxBatch, 1)
	c.WorkspaceMiB = orDefault(c.WorkspaceMiB, 2048)
	if c.Batches < 0 || c.BatchSize < 0 || c.MinBatch > c.OptBatch || c.OptBatch > c.MaxBatch {
		return fmt.Errorf("batch settings: --batches %d --batch_size %d must be positive and min %d <= opt %d <= max %d",
			c.Batches, c.BatchSize, c.MinBatch, c.OptBatch, c.MaxBatch)
	}
	return nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// DefaultOutput is TAO's default output: the model path with its extension replaced by .onnx.
func DefaultOutput(model string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(model, modelfile.EncryptedExt), modelfile.Ext)
	if base == model {
		base = strings.TrimSuffix(model, filepath.Ext(model))
	}
	return base + ".onnx"
}

// load reads the model file, the spec, the preprocessing and the class names.
func (j *job) load() error {
	mf, err := modelfile.LoadModel(j.cfg.Model, j.cfg.Key)
	if err != nil {
		return err
	}
	j.mf = mf
	if j.cfg.Spec != "" {
		if j.exp, err = spec.Load(j.cfg.Spec); err != nil {
			return err
		}
	}
	j.prep = evaluate.Preprocessing(j.exp, mf)
	if j.prep.Mode == "" {
		return fmt.Errorf("%s records no preprocessing: pass the training spec with -e", j.cfg.Model)
	}
	j.classes, err = j.classNames()
	return err
}

// classNames are the class names in output order (evaluate.Classes): the model file's
// classmap, checked against --classmap_json; the file's when the model has none; else the
// class indices.
func (j *job) classNames() ([]string, error) {
	return evaluate.Classes(j.cfg.ClassmapJSON, j.mf)
}

// outputs lists every file the export will write.
func (j *job) outputs() []string {
	out := []string{j.cfg.Output}
	if j.cfg.DataType == INT8 {
		out = append(out, QDQPath(j.cfg.Output), j.cfg.CalCacheFile)
	}
	if j.cfg.GenDSConfig {
		out = append(out, DSFiles(filepath.Dir(j.cfg.Output))...)
	}
	return out
}

// QDQPath is where the INT8 QDQ model of an export goes: beside it, ".qdq.onnx".
func QDQPath(output string) string {
	return strings.TrimSuffix(output, filepath.Ext(output)) + ".qdq.onnx"
}

// checkOutputs refuses to replace existing files unless Overwrite is set.
func (j *job) checkOutputs() error {
	if j.cfg.Overwrite {
		return nil
	}
	var exist []string
	for _, p := range j.outputs() {
		if _, err := os.Stat(p); err == nil {
			exist = append(exist, p)
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("%s: %w; remove it, choose another -o, or pass --overwrite", strings.Join(exist, ", "), ErrExists)
	}
	return nil
}
