package prune

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// SweepPoint is one threshold of a pruning sweep. Ratios are pruned / original; Accuracy is
// NaN when no dataset was given (before retraining).
type SweepPoint struct {
	Threshold  float64
	Params     int
	MACs       int64
	FLOPs      int64
	FileBytes  int64
	ParamRatio float64
	FLOPsRatio float64
	FileRatio  float64
	Accuracy   float64
}

// WriteSweepCSV writes the sweep table, the unpruned model first (threshold "original").
func WriteSweepCSV(w io.Writer, original SweepPoint, points []SweepPoint) error {
	var b strings.Builder
	b.WriteString("pruning_threshold,params,params_ratio,macs,flops,flops_ratio,file_bytes,file_ratio,accuracy\n")
	row := func(th string, p SweepPoint) {
		acc := ""
		if !math.IsNaN(p.Accuracy) {
			acc = strconv.FormatFloat(p.Accuracy, 'g', 6, 64)
		}
		fmt.Fprintf(&b, "%s,%d,%.6f,%d,%d,%.6f,%d,%.6f,%s\n", th, p.Params, p.ParamRatio, p.MACs, p.FLOPs,
			p.FLOPsRatio, p.FileBytes, p.FileRatio, acc)
	}
	row("original", original)
	for _, p := range points {
		row(strconv.FormatFloat(p.Threshold, 'g', -1, 64), p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SweepOptions configures Sweep.
type SweepOptions struct {
	Source     string // the model file's path, for the pruning records
	Options    Options
	Thresholds []float64
	// Accuracy measures a model (nil: accuracy is NaN, not measured).
	Accuracy func(*modelfile.File) (float64, error)
	// Save keeps the pruned model of a threshold (nil: not kept).
	Save func(threshold float64, f *modelfile.File) error
}

// Sweep prunes mf at each threshold and measures the unpruned model and each pruned one:
// parameters, compute, encoded file size (optimizer state left out) and accuracy.
func Sweep(mf *modelfile.File, o SweepOptions) (SweepPoint, []SweepPoint, error) {
	plain := *mf
	plain.Optimizer = nil // sizes compare models, not checkpoints
	orig, err := sweepPoint(&plain, o.Accuracy)
	if err != nil {
		return orig, nil, err
	}
	var points []SweepPoint
	for _, th := range o.Thresholds {
		opts := o.Options
		opts.Threshold = th
		res, err := Prune(plain.Graph, plain.Weights, opts)
		if err != nil {
			return orig, nil, fmt.Errorf("pruning %s at %g: %w", o.Source, th, err)
		}
		pf, err := PrunedFile(&plain, res, o.Source, Target{})
		if err != nil {
			return orig, nil, err
		}
		pt, err := sweepPoint(pf, o.Accuracy)
		if err != nil {
			return orig, nil, fmt.Errorf("threshold %g: %w", th, err)
		}
		pt.Threshold = th
		pt.ParamRatio = float64(pt.Params) / float64(orig.Params)
		pt.FLOPsRatio = float64(pt.FLOPs) / float64(orig.FLOPs)
		pt.FileRatio = float64(pt.FileBytes) / float64(orig.FileBytes)
		points = append(points, pt)
		if o.Save != nil {
			if err := o.Save(th, pf); err != nil {
				return orig, nil, err
			}
		}
	}
	return orig, points, nil
}

// sweepPoint measures one model.
func sweepPoint(mf *modelfile.File, accuracy func(*modelfile.File) (float64, error)) (SweepPoint, error) {
	size, err := SizeOf(mf.Graph)
	if err != nil {
		return SweepPoint{}, err
	}
	enc, err := modelfile.Encode(mf)
	if err != nil {
		return SweepPoint{}, err
	}
	acc := math.NaN()
	if accuracy != nil {
		if acc, err = accuracy(mf); err != nil {
			return SweepPoint{}, err
		}
	}
	return SweepPoint{Params: size.Params, MACs: size.MACs, FLOPs: size.FLOPs, FileBytes: int64(len(enc)),
		ParamRatio: 1, FLOPsRatio: 1, FileRatio: 1, Accuracy: acc}, nil
}

// SweepCSV is the name of the table WriteSweepTable writes.
const SweepCSV = "sweep.csv"

// WriteSweepTable writes dir/sweep.csv atomically.
func WriteSweepTable(dir string, original SweepPoint, points []SweepPoint) error {
	var b bytes.Buffer
	if err := WriteSweepCSV(&b, original, points); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, SweepCSV), b.Bytes())
}
