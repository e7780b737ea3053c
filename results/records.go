package results

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Metadata keys of the records a model file carries about how it was made (modelfile's
// File.Extra).
const (
	MetaPruning      = "pruning"      // a PruneRecord: the model was pruned
	MetaDistillation = "distillation" // a DistillRecord: the run distilled from a teacher
	MetaValAcc       = "val_acc"      // a checkpoint's validation accuracy
	MetaValLoss      = "val_loss"     // a checkpoint's validation loss
)

// PruneRecord is the "pruning" metadata entry of a pruned model file.
type PruneRecord struct {
	Source         string   `json:"source"`
	SourceEpoch    int      `json:"source_epoch"`
	Threshold      float64  `json:"pruning_threshold"`
	Normalizer     string   `json:"normalizer"`
	Criterion      string   `json:"criterion"`
	Equalization   string   `json:"equalization_criterion"`
	Granularity    int      `json:"pruning_granularity"`
	MinFilters     int      `json:"min_num_filters"`
	Excluded       []string `json:"excluded_layers"`
	TargetRatio    float64  `json:"target_ratio,omitempty"`
	Target         string   `json:"target,omitempty"`
	PruningRatio   float64  `json:"pruning_ratio"`
	ParamsBefore   int      `json:"params_before"`
	ParamsAfter    int      `json:"params_after"`
	FLOPsBefore    int64    `json:"flops_before"`
	FLOPsAfter     int64    `json:"flops_after"`
	PreviousPruned string   `json:"previous,omitempty"`
	// Layers is the per-layer table: output channels before and after, per prunable layer.
	Layers []PrunedLayer `json:"layers,omitempty"`
}

// PrunedLayer is one row of a PruneRecord's per-layer table.
type PrunedLayer struct {
	Name   string `json:"layer"`
	Op     string `json:"op"`
	Before int    `json:"channels_before"`
	After  int    `json:"channels_after"`
	Group  int    `json:"group,omitempty"`     // equalization group (0: none)
	Pinned string `json:"keeps_all,omitempty"` // why every channel was kept
}

// DecodePruneRecord reads a "pruning" metadata entry.
func DecodePruneRecord(s string) (*PruneRecord, error) {
	var r PruneRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("reading the %s record: %w", MetaPruning, err)
	}
	return &r, nil
}

// DistillRecord is the "distillation" metadata entry of a distilled run's checkpoints.
type DistillRecord struct {
	Teacher     string  `json:"teacher"`
	Alpha       float64 `json:"alpha"`
	Temperature float64 `json:"temperature"`
}

// Encode is the record as its metadata value.
func (r PruneRecord) Encode() (string, error) {
	if r.Excluded == nil {
		r.Excluded = []string{}
	}
	return encodeRecord(MetaPruning, r)
}

// Encode is the record as its metadata value.
func (r DistillRecord) Encode() (string, error) { return encodeRecord(MetaDistillation, r) }

func encodeRecord(name string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding the %s record: %w", name, err)
	}
	return string(b), nil
}

// MetricsMeta is the metadata entries recording a checkpoint's validation metrics.
func MetricsMeta(e Epoch) map[string]string {
	return map[string]string{
		MetaValAcc:  strconv.FormatFloat(e.ValAcc, 'g', -1, 64),
		MetaValLoss: strconv.FormatFloat(e.ValLoss, 'g', -1, 64),
	}
}
