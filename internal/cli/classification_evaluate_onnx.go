package cli

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/deploy"
	"github.com/bonsai-ml/bonsai/internal/onnxtools"
)

func init() {
	Register(&Command{
		Path:  "classification evaluate-onnx",
		Short: "top-1 accuracy and speed of an exported ONNX model in ONNX Runtime (needs node and onnxruntime-node)",
		Run:   runEvaluateONNX,
	})
}

const evaluateONNXUsage = `-m MODEL.onnx -d DIR [-cm CLASSMAP] [-b 32] [--threads N]

Runs a model written by 'classification export' (FP32 or the INT8 .qdq.onnx) in ONNX Runtime
on every image of a folder-per-class dataset, preprocessed as the model's metadata says, and
prints its top-1 accuracy and ONNX Runtime's images/second (session.run only). ONNX Runtime
comes from the npm package onnxruntime-node: run 'npm ci --ignore-scripts' in
tools/onnxruntime (or point $BONSAI_ONNXRUNTIME at such a folder).`

func runEvaluateONNX(env *Env, args []string) error {
	fs := NewFlagSet(env, "classification evaluate-onnx", evaluateONNXUsage)
	var c deploy.EvalConfig
	fs.StringVar(&c.Model, "m", "", "ONNX model; required")
	alias(fs, "m", "model")
	fs.StringVar(&c.Dir, "d", "", "folder with one sub-folder per class; required")
	alias(fs, "d", "image_dir")
	fs.StringVar(&c.Classmap, "cm", "", "classmap.json (default: the class names in the model's metadata)")
	alias(fs, "cm", "classmap")
	fs.IntVar(&c.Batch, "b", 32, "images per ONNX Runtime run")
	alias(fs, "b", "batch_size")
	fs.IntVar(&c.Threads, "threads", 0, "ONNX Runtime intra-op threads (0: its default)")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if c.Model == "" || c.Dir == "" {
		return Usagef("-m MODEL.onnx and -d DIR are required")
	}
	rt, err := onnxtools.Find()
	if err != nil {
		return err
	}
	res, err := deploy.EvaluateONNX(c, rt)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "ONNX Runtime top-1 accuracy: %.4f (%d/%d images), %.1f images/s\n", res.Top1, res.Correct, res.Images, res.ImagesPerSecond)
	return nil
}
