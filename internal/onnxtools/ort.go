// Package onnxtools runs the external tools Bonsai checks its ONNX exports with: ONNX Runtime
// through the npm package onnxruntime-node (tools/onnxruntime/run.js) and the ONNX checker of
// Debian's python3-onnx. The export tests, the demo and the benchmarks use them; Bonsai itself
// never needs them.
package onnxtools

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
)

// EnvDir names a folder holding run.js and node_modules, overriding the search.
const EnvDir = "BONSAI_ONNXRUNTIME"

// ToolDir is the folder, relative to the repository root, holding run.js and package.json.
const ToolDir = "tools/onnxruntime"

// Runtime is a usable ONNX Runtime installation.
type Runtime struct {
	Node   string // node executable
	Script string // run.js
}

// Find locates node and run.js with an installed node_modules: $BONSAI_ONNXRUNTIME, else
// tools/onnxruntime in the working folder, the executable's folder or any folder above them.
// The error says how to install.
func Find() (*Runtime, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed (Debian: apt-get install nodejs npm)")
	}
	dirs := []string{os.Getenv(EnvDir)}
	if dirs[0] == "" {
		dirs = nil
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if exe, err := os.Executable(); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
		for _, s := range starts {
			for d := s; ; d = filepath.Dir(d) {
				dirs = append(dirs, filepath.Join(d, ToolDir))
				if filepath.Dir(d) == d {
					break
				}
			}
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "node_modules", "onnxruntime-node", "package.json")); err == nil {
			return &Runtime{Node: node, Script: filepath.Join(d, "run.js")}, nil
		}
	}
	return nil, fmt.Errorf("onnxruntime-node is not installed: run 'npm ci --ignore-scripts' in %s (or set $%s)", ToolDir, EnvDir)
}

// Require returns the runtime or skips the test with the reason it is missing.
func Require(t testing.TB) *Runtime {
	t.Helper()
	rt, err := Find()
	if err != nil {
		t.Skipf("ONNX Runtime check skipped: %v", err)
	}
	return rt
}

// Options of one run.
type Options struct {
	Batch        int     // rows per session.run (0: all at once)
	Threads      int     // intra-op threads (0: ONNX Runtime's default)
	BenchSeconds float64 // > 0: repeat the whole input for this long and report the rate
}

// Result of a run.
type Result struct {
	Output          *model.Tensor // the model's first output
	OutputName      string
	ImagesPerSecond float64
}

// Run feeds x (NCHW for Bonsai's exports) to the model's first input and returns its first
// output.
func (rt *Runtime) Run(modelPath string, x *model.Tensor, opts Options) (*Result, error) {
	dir, err := os.MkdirTemp("", "bonsai-ort-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "x.f32"), filepath.Join(dir, "y.f32")
	if err := os.WriteFile(in, float32Bytes(x.Data), 0o644); err != nil {
		return nil, err
	}
	args := []string{rt.Script, "--model", modelPath, "--input", in, "--dims", joinInts(x.Shape), "--out", out}
	if opts.Batch > 0 {
		args = append(args, "--batch", strconv.Itoa(opts.Batch))
	}
	if opts.Threads > 0 {
		args = append(args, "--threads", strconv.Itoa(opts.Threads))
	}
	if opts.BenchSeconds > 0 {
		args = append(args, "--bench-seconds", strconv.FormatFloat(opts.BenchSeconds, 'g', -1, 64))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(rt.Node, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ONNX Runtime on %s: %v: %s", modelPath, err, strings.TrimSpace(stderr.String()))
	}
	var summary struct {
		Output string  `json:"output"`
		Dims   []int   `json:"dims"`
		Rate   float64 `json:"images_per_second"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &summary); err != nil {
		return nil, fmt.Errorf("ONNX Runtime on %s: reading its summary %q: %w", modelPath, stdout.String(), err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	y := &model.Tensor{Shape: summary.Dims, Data: fromFloat32Bytes(raw)}
	if len(y.Data) != y.Size() {
		return nil, fmt.Errorf("ONNX Runtime on %s: %d values for output dims %v", modelPath, len(y.Data), y.Shape)
	}
	return &Result{Output: y, OutputName: summary.Output, ImagesPerSecond: summary.Rate}, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func fromFloat32Bytes(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
