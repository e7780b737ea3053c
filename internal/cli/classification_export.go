package cli

import (
	"errors"
	"flag"
	"fmt"

	"github.com/bonsai-ml/bonsai/deploy"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/quant"
	"github.com/bonsai-ml/bonsai/results"
)

func init() {
	Register(&Command{
		Path:  "classification export",
		Short: "export a trained classifier to ONNX (INT8 calibration cache, QDQ model, DeepStream files)",
		Run:   runClassificationExport,
	})
}

const exportUsage = `-m MODEL [-o OUTPUT.onnx] [-k KEY] [-e SPEC] [--classmap_json FILE] [--gen_ds_config]
       [--target_opset 12] [--static_batch_size -1] [--data_type fp32|fp16|int8]
       [--cal_image_dir DIR] [--cal_cache_file ./cal.bin] [--batches 10] [--batch_size 16]
       [--cal_algorithm entropy|percentile|max] [--trt_version 8.6.1] [--overwrite] [--results_dir DIR] [-v]

Writes the model as ONNX, as TAO's "classification export" does: input input_1, float32 NCHW,
the preprocessed image (mode, means, scale, channel order, size and interpolation are in the
file's metadata), batch dimension symbolic unless --static_batch_size; output predictions,
the softmax probabilities; opset 12 unless --target_opset (12 to 17). Batch norm is folded
into the convolution before it, dropout disappears. The output defaults to MODEL with .onnx;
an existing output is an error unless --overwrite.

--gen_ds_config writes beside the ONNX: nvinfer_config.txt (TAO's nine keys, with the values
the model's preprocess mode needs: TAO writes caffe's for every mode), labels.txt (TAO's, one
class per line), labels_deepstream.txt (the one ';'-separated line DeepStream's classifier
parser reads) and config_infer_primary.txt (a complete nvinfer [property] block). nvinfer has
one scale for all channels; a per-channel std (train_config.image_std) is folded into the first
convolution so that the config is exact.

--data_type int8 calibrates in Bonsai (TAO needs TensorRT for this): --batches x --batch_size
images from --cal_image_dir (default: the spec's train_dataset_path), in a fixed shuffled
order, preprocessed as evaluation does; every ONNX tensor's range comes from a 2048-bin
histogram by entropy (TensorRT's legacy calibrator), percentile (--cal_percentile) or max.
It writes the TensorRT calibration cache (--cal_cache_file, header TRT-<--trt_version>-
EntropyCalibration2) for DeepStream's int8-calib-file and trtexec --calib, and OUTPUT.qdq.onnx,
an explicitly quantized model (int8 Q/DQ, opset 13 or later) for ONNX Runtime or TensorRT.

TensorRT is not part of Bonsai: the engine flags (--engine_file, --min/opt/max_batch_size,
--max_workspace_size, -s, --force_ptq) only shape the trtexec command printed at the end, to
run on the device. --cal_data_file (TAO's HDF5 tensorfile) is not read: give images.`

type exportFlags struct {
	cfg                      deploy.Config
	staticBatch, opset       int
	workspaceBytes           int64
	results, calData         string
	calJSON                  string
	verbose, strict, forcePT bool
}

func runClassificationExport(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification export", exportUsage)
	f := &exportFlags{}
	f.register(fs)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if f.cfg.Model == "" {
		return Usagef("-m MODEL is required")
	}
	if f.calData != "" && f.cfg.CalImageDir == "" && f.cfg.Spec == "" {
		return Usagef("--cal_data_file (TAO's HDF5 tensorfile) is not read by Bonsai: calibrate from images with --cal_image_dir DIR or -e SPEC")
	}
	f.cfg.Opset, f.cfg.StaticBatch = f.opset, f.staticBatch
	f.cfg.WorkspaceMiB = int(f.workspaceBytes >> 20)
	f.cfg.Log = env.Stderr
	return export(env, f)
}

func (f *exportFlags) register(fs *flag.FlagSet) {
	c := &f.cfg
	fs.StringVar(&c.Model, "m", "", "trained model file; required")
	alias(fs, "m", "model")
	fs.StringVar(&c.Key, "k", "", "key of an encrypted model file")
	alias(fs, "k", "key")
	fs.StringVar(&c.Output, "o", "", "ONNX file to write (default: the model path with .onnx)")
	alias(fs, "o", "output_file")
	fs.StringVar(&c.Spec, "e", "", "experiment spec: preprocessing, and the calibration images' default folder")
	alias(fs, "e", "experiment_spec")
	fs.StringVar(&c.ClassmapJSON, "classmap_json", "", "classmap.json naming the classes (default: the model file's)")
	fs.BoolVar(&c.GenDSConfig, "gen_ds_config", false, "write the DeepStream config and label files beside the ONNX")
	fs.IntVar(&f.opset, "target_opset", onnx.DefaultOpset, fmt.Sprintf("ONNX opset, %d to %d", onnx.MinOpset, onnx.MaxOpset))
	fs.IntVar(&f.staticBatch, "static_batch_size", -1, "fixed batch dimension (-1: symbolic, dynamic batch)")
	fs.StringVar(&c.DataType, "data_type", deploy.FP32, "engine precision: fp32, fp16 or int8 (int8 calibrates)")
	fs.StringVar(&c.CalImageDir, "cal_image_dir", "", "calibration images (default: the spec's train_dataset_path)")
	fs.StringVar(&c.CalCacheFile, "cal_cache_file", deploy.DefaultCalCache, "TensorRT calibration cache to write")
	fs.StringVar(&f.calData, "cal_data_file", "", "TAO's calibration tensorfile (not read: see above)")
	fs.StringVar(&f.calJSON, "cal_json_file", "", "TAO's QAT scale file (not read)")
	fs.IntVar(&c.Batches, "batches", 10, "calibration batches")
	fs.IntVar(&c.BatchSize, "batch_size", 16, "calibration batch size")
	fs.StringVar(&c.CalAlgorithm, "cal_algorithm", quant.Entropy, "how each tensor's range is chosen: entropy, percentile or max (Bonsai)")
	fs.Float64Var(&c.CalPercentile, "cal_percentile", 99.99, "percentile for --cal_algorithm percentile (Bonsai)")
	fs.StringVar(&c.TensorRTVersion, "trt_version", quant.DefaultTensorRTVersion, "TensorRT version written in the calibration cache header (Bonsai)")
	fs.StringVar(&c.EngineFile, "engine_file", "", "TensorRT engine path for the printed trtexec command and the DeepStream config")
	fs.IntVar(&c.MinBatch, "min_batch_size", 1, "trtexec --minShapes batch")
	fs.IntVar(&c.OptBatch, "opt_batch_size", 1, "trtexec --optShapes batch")
	fs.IntVar(&c.MaxBatch, "max_batch_size", 1, "trtexec --maxShapes batch and nvinfer batch-size")
	fs.Int64Var(&f.workspaceBytes, "max_workspace_size", 2<<30, "TensorRT workspace in bytes, for trtexec --memPoolSize")
	fs.BoolVar(&f.strict, "s", false, "TAO's strict type constraints (a TensorRT build option; not used)")
	alias(fs, "s", "strict_type_constraints")
	fs.BoolVar(&f.forcePT, "force_ptq", false, "TAO's post-training quantization switch (Bonsai always calibrates after training)")
	fs.BoolVar(&c.Overwrite, "overwrite", false, "replace existing output files (Bonsai)")
	fs.StringVar(&c.Backend, "backend", "", engine.BackendHelp+" (INT8 calibration)")
	fs.StringVar(&f.results, "r", "", "write status.json here (kpi: param_count in millions, size in MB)")
	alias(fs, "r", "results_dir")
	fs.BoolVar(&f.verbose, "v", false, "print the model summary")
	alias(fs, "v", "verbose")
}

func export(env *Env, f *exportFlags) error {
	status, err := results.StartStatus(f.results, "Starting export.")
	if err != nil {
		return err
	}
	res, err := deploy.Export(f.cfg)
	if err != nil {
		status.Fail(err)
		if errors.Is(err, deploy.ErrExists) {
			return UsageError{err}
		}
		return err
	}
	printExport(env, f, res)
	return status.Succeed("Export finished successfully.", map[string]any{"param_count": float64(res.Params) / 1e6, "size": res.SizeMB})
}

func printExport(env *Env, f *exportFlags, res *deploy.Result) {
	if f.verbose {
		if mf, err := loadModelFile(f.cfg.Model, f.cfg.Key); err == nil {
			printSummary(env, "Exported model", mf.Graph)
		}
	}
	fmt.Fprintf(env.Stdout, "ONNX model: %s (%.2f M parameters, %.2f MB)\n", res.ONNX, float64(res.Params)/1e6, res.SizeMB)
	if res.CalCache != "" {
		fmt.Fprintf(env.Stdout, "INT8 calibration cache: %s\nINT8 QDQ model: %s\n", res.CalCache, res.QDQ)
	}
	for _, p := range res.DSFiles {
		fmt.Fprintf(env.Stdout, "DeepStream: %s\n", p)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(env.Stderr, "note:", n)
	}
	if f.strict || f.forcePT || f.calJSON != "" {
		fmt.Fprintln(env.Stderr, "note: -s, --force_ptq and --cal_json_file are TensorRT/TAO build options; Bonsai accepts and ignores them")
	}
	fmt.Fprintf(env.Stdout, "TensorRT is not part of Bonsai; build the engine on the device with:\n  %s\n", res.Trtexec)
}
