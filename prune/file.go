package prune

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/results"
)

// PrunedFile is the output model file of a pruning run (target: what it aimed at; zero Ratio
// for a fixed -pth): the pruned graph and weights with the
// source's classmap, preprocessing and spec, and a "pruning" record of the settings; optimizer
// state is dropped (its shapes no longer match), and so are the source checkpoint's metrics.
func PrunedFile(mf *modelfile.File, res *Result, source string, target Target) (*modelfile.File, error) {
	o := res.Options
	rec := results.PruneRecord{Source: source, SourceEpoch: mf.Epoch, Allocation: res.Allocation, Normalizer: o.Normalizer,
		Criterion: o.Criterion, Equalization: o.Equalization, Granularity: o.Granularity, MinFilters: o.MinFilters,
		Excluded: o.Excluded, PruningRatio: res.Ratio(), ParamsBefore: res.Before.Params, ParamsAfter: res.After.Params,
		FLOPsBefore: res.Before.FLOPs, FLOPsAfter: res.After.FLOPs, PreviousPruned: mf.Extra[results.MetaPruning]}
	if target.Ratio > 0 {
		rec.TargetRatio, rec.Target = target.Ratio, target.Metric
	}
	if res.Allocation == AllocThreshold {
		rec.Threshold = &o.Threshold
	} else { // an allocation chose the channel counts: no threshold played a part
		rec.KeptChannels = map[string]int{}
		for _, l := range res.Layers {
			rec.KeptChannels[l.Name] = l.After
		}
	}
	for _, l := range res.Layers {
		rec.Layers = append(rec.Layers, results.PrunedLayer{Name: l.Name, Op: string(l.Op), Before: l.Before,
			After: l.After, Group: l.Group, Pinned: l.Pinned})
	}
	encoded, err := rec.Encode()
	if err != nil {
		return nil, err
	}
	extra := map[string]string{}
	for k, v := range mf.Extra {
		if k != results.MetaValAcc && k != results.MetaValLoss {
			extra[k] = v
		}
	}
	extra[results.MetaPruning] = encoded
	return &modelfile.File{Graph: res.Graph, Weights: res.Weights, Classmap: mf.Classmap,
		Preprocessing: mf.Preprocessing, Spec: mf.Spec, Extra: extra}, nil
}

// OutputPath is the file a pruned model named path is written to: path itself when it ends
// in a Bonsai model extension, else path with the extension added (TAO's .hdf5 / .tlt
// replaced).
func OutputPath(path, key string) string {
	if strings.HasSuffix(path, modelfile.Ext) || strings.HasSuffix(path, modelfile.EncryptedExt) {
		return path
	}
	for _, ext := range []string{".hdf5", ".h5", ".tlt"} {
		path = strings.TrimSuffix(path, ext)
	}
	return path + modelfile.FileExt(key)
}

// ReportFile is the name of the per-layer report WriteLayerReport writes.
const ReportFile = "prune_report.json"

// WriteLayerReport writes the per-layer table and totals as dir/prune_report.json.
func (r *Result) WriteLayerReport(dir string) error {
	data, err := json.MarshalIndent(map[string]any{
		"pruning_ratio": r.Ratio(), "flops_ratio": r.FLOPsRatio(),
		"params_before": r.Before.Params, "params_after": r.After.Params,
		"flops_before": r.Before.FLOPs, "flops_after": r.After.FLOPs,
		"layers": r.Layers,
	}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ReportFile), append(data, '\n'))
}

// ModelBytes is the size of the model file at path, or, when it is a checkpoint with optimizer
// state, of the same file without that state (what a pruned file compares with).
func ModelBytes(path string, mf *modelfile.File) int64 {
	if len(mf.Optimizer) == 0 {
		return FileSize(path)
	}
	plain := *mf
	plain.Optimizer = nil
	data, err := modelfile.Encode(&plain)
	if err != nil {
		return FileSize(path)
	}
	return int64(len(data))
}

// FileSize is the size of the file at path (0 when it cannot be read).
func FileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
