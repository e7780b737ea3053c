package deploy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/quant"
)

// exportOptions are the ONNX options of this export at an opset.
func (j *job) exportOptions(opset int) (onnx.Options, error) {
	opts := onnx.Options{Opset: opset, BatchSize: j.cfg.StaticBatch, ProducerVersion: j.cfg.ProducerVersion}
	if j.cfg.GenDSConfig {
		in, err := NvinferInputOf(j.prep)
		if err != nil {
			return opts, err
		}
		opts.InputScale = in.InputScale
	}
	meta, err := onnx.PreprocessingMetadata(j.prep, opts.InputScale, j.classes)
	if err != nil {
		return opts, err
	}
	meta["bonsai_source_model"] = filepath.Base(j.cfg.Model)
	opts.Metadata = meta
	return opts, nil
}

// export writes the model at an opset to path.
func (j *job) export(opset int, path string) (*onnx.Exported, error) {
	opts, err := j.exportOptions(opset)
	if err != nil {
		return nil, err
	}
	ex, err := onnx.Export(j.mf.Graph, j.mf.Weights, opts)
	if err != nil {
		return nil, fmt.Errorf("exporting %s: %w", j.cfg.Model, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := onnx.WriteFile(path, ex.Model); err != nil {
		return nil, err
	}
	j.res.InputScale = opts.InputScale
	return ex, nil
}

// exportFP32 writes the ONNX model.
func (j *job) exportFP32() error {
	if _, err := j.export(j.cfg.Opset, j.cfg.Output); err != nil {
		return err
	}
	j.res.ONNX = j.cfg.Output
	if j.res.InputScale != nil {
		j.note("the per-channel std of %s preprocessing is folded into the first convolution: input_1 is nvinfer's net-scale-factor * (pixel - offsets) (see the ONNX metadata)", j.prep.Mode)
	}
	st, err := os.Stat(j.cfg.Output)
	if err != nil {
		return err
	}
	j.res.SizeMB = float64(st.Size()) / 1e6
	j.res.Params, _, err = j.mf.Graph.ParamCount()
	j.logf("Exported %s (opset %d, %.2f MB)", j.cfg.Output, j.cfg.Opset, j.res.SizeMB)
	return err
}

func (j *job) note(format string, args ...any) {
	j.res.Notes = append(j.res.Notes, fmt.Sprintf(format, args...))
}

// int8 calibrates on images, writes the TensorRT calibration cache and the QDQ model.
func (j *job) int8() error {
	items := j.calib
	opset := max(j.cfg.Opset, quant.MinQDQOpset)
	qdqPath := QDQPath(j.cfg.Output)
	ex, err := j.export(opset, qdqPath) // the FP32 graph at a QDQ opset; replaced below
	if err != nil {
		return err
	}
	eng, err := engine.Open(j.cfg.Backend)
	if err != nil {
		return err
	}
	m, err := evaluate.NewModel(eng, j.mf)
	if err != nil {
		return err
	}
	j.logf("Calibrating on %d images (%s)...", len(items), j.calAlgorithm())
	amax, err := quant.Calibrate(m, ex.Tensors, j.calibrationSource(items), quant.Options{Algorithm: j.cfg.CalAlgorithm, Percentile: j.cfg.CalPercentile})
	if err != nil {
		return err
	}
	names := make([]string, len(ex.Tensors))
	for i, t := range ex.Tensors {
		names[i] = t.Name
	}
	if err := quant.WriteCache(j.cfg.CalCacheFile, j.cfg.TensorRTVersion, names, amax); err != nil {
		return err
	}
	q, err := quant.QDQ(ex.Model, amax)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(qdqPath, q); err != nil {
		return err
	}
	j.res.CalCache, j.res.QDQ = j.cfg.CalCacheFile, qdqPath
	j.logf("Wrote the calibration cache %s (%d tensors) and the INT8 QDQ model %s (opset %d)", j.cfg.CalCacheFile, len(amax), qdqPath, opset)
	return nil
}

func (j *job) calAlgorithm() string {
	if j.cfg.CalAlgorithm == "" {
		return quant.Entropy
	}
	return j.cfg.CalAlgorithm
}

// listCalibrationImages finds the INT8 calibration images before anything is written.
func (j *job) listCalibrationImages() error {
	if j.cfg.DataType != INT8 {
		return nil
	}
	var err error
	j.calib, err = j.calibrationImages()
	return err
}

// calibrationImages picks --batches x --batch_size images from --cal_image_dir (or the spec's
// training set), recursively, in a fixed pseudo-random order so that every class is sampled.
func (j *job) calibrationImages() ([]loader.Item, error) {
	dir := j.cfg.CalImageDir
	if dir == "" && j.exp != nil {
		dir = j.exp.TrainDatasetPath()
	}
	if dir == "" {
		return nil, fmt.Errorf("INT8 calibration needs images: pass --cal_image_dir DIR or -e SPEC (its train_dataset_path)")
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && data.IsImageFile(p) {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing calibration images: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .jpg, .jpeg or .png images under %s for calibration", dir)
	}
	sort.Strings(paths)
	rand.New(rand.NewPCG(42, 42)).Shuffle(len(paths), func(a, b int) { paths[a], paths[b] = paths[b], paths[a] })
	want := j.cfg.Batches * j.cfg.BatchSize
	if len(paths) < want {
		j.note("calibration uses all %d images under %s (--batches x --batch_size asks for %d)", len(paths), dir, want)
	}
	items := make([]loader.Item, min(want, len(paths)))
	for i := range items {
		items[i] = loader.Item{Path: paths[i]}
	}
	return items, nil
}

// calibrationSource yields the calibration images preprocessed as evaluation does.
func (j *job) calibrationSource(items []loader.Item) quant.Source {
	return func(yield func(*model.Tensor) error) error {
		opts := evaluate.LoaderOptions(j.prep, j.prep.CenterCrop, j.cfg.BatchSize, 0)
		opts.Cache, opts.OnBadImage = false, loader.BadImageFail
		ld, err := loader.New(items, 1, opts)
		if err != nil {
			return err
		}
		it := ld.Epoch(0)
		defer it.Close()
		for it.Next() {
			if err := yield(it.Batch().Images); err != nil {
				return err
			}
		}
		return it.Err()
	}
}

// deepStream writes the DeepStream files beside the ONNX model.
func (j *job) deepStream() error {
	in, err := NvinferInputOf(j.prep)
	if err != nil {
		return err
	}
	dir := filepath.Dir(j.cfg.Output)
	c := &DSConfig{Input: in, InputSize: j.prep.InputSize, Classes: j.classes, ONNX: j.cfg.Output,
		Engine: j.engineFile(), DataType: j.cfg.DataType, BatchSize: j.cfg.MaxBatch}
	if j.cfg.DataType == INT8 {
		c.CalCache = j.cfg.CalCacheFile
	}
	if err := c.WriteDSFiles(dir); err != nil {
		return err
	}
	j.res.DSFiles = DSFiles(dir)
	j.logf("Wrote the DeepStream files %s", strings.Join(j.res.DSFiles, ", "))
	return nil
}

// engineFile is --engine_file, else the name nvinfer gives an engine it builds itself
// (<onnx>_b<batch>_gpu0_<mode>.engine).
func (j *job) engineFile() string {
	if j.cfg.EngineFile != "" {
		return j.cfg.EngineFile
	}
	return fmt.Sprintf("%s_b%d_gpu0_%s.engine", j.cfg.Output, j.cfg.MaxBatch, j.cfg.DataType)
}

// trtexec composes the command that builds the TensorRT engine on the device.
func (j *job) trtexec() error {
	c := j.cfg
	args := []string{"trtexec", "--onnx=" + c.Output, "--saveEngine=" + j.engineFile()}
	if c.StaticBatch <= 0 {
		chw := fmt.Sprintf("%dx%dx%d", j.prep.InputSize[0], j.prep.InputSize[1], j.prep.InputSize[2])
		args = append(args, fmt.Sprintf("--minShapes=%s:%dx%s", onnx.InputName, c.MinBatch, chw),
			fmt.Sprintf("--optShapes=%s:%dx%s", onnx.InputName, c.OptBatch, chw),
			fmt.Sprintf("--maxShapes=%s:%dx%s", onnx.InputName, c.MaxBatch, chw))
	}
	args = append(args, fmt.Sprintf("--memPoolSize=workspace:%d", c.WorkspaceMiB))
	switch c.DataType {
	case FP16:
		args = append(args, "--fp16")
	case INT8:
		args = append(args, "--int8", "--calib="+c.CalCacheFile)
	}
	j.res.Trtexec = strings.Join(args, " ")
	return nil
}
