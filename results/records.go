package results

import (
	"encoding/json"
	"fmt"
	"math"
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
	Source      string `json:"source"`
	SourceEpoch int    `json:"source_epoch"`
	Allocation  string `json:"allocation"` // threshold (TAO), uniform or sensitivity
	// Threshold is -pth, or the threshold found for target_ratio; absent when an allocation
	// chose the channel counts (KeptChannels then lists them by layer).
	Threshold      *float64       `json:"pruning_threshold,omitempty"`
	KeptChannels   map[string]int `json:"kept_channels,omitempty"`
	Normalizer     string         `json:"normalizer"`
	Criterion      string         `json:"criterion"`
	Equalization   string         `json:"equalization_criterion"`
	Granularity    int            `json:"pruning_granularity"`
	MinFilters     int            `json:"min_num_filters"`
	Excluded       []string       `json:"excluded_layers"`
	TargetRatio    float64        `json:"target_ratio,omitempty"`
	Target         string         `json:"target,omitempty"`
	PruningRatio   float64        `json:"pruning_ratio"`
	ParamsBefore   int            `json:"params_before"`
	ParamsAfter    int            `json:"params_after"`
	FLOPsBefore    int64          `json:"flops_before"`
	FLOPsAfter     int64          `json:"flops_after"`
	PreviousPruned string         `json:"previous,omitempty"`
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

// MetaEpochRow is a checkpoint's whole training.csv row (JSON), which lets an interrupted
// run's folder be completed from weights/last.
const MetaEpochRow = "epoch_row"

// EpochMeta is the metadata entries recording a checkpoint's epoch row: val_acc and val_loss
// (as earlier versions wrote) and the whole row.
func EpochMeta(e Epoch) (map[string]string, error) {
	row, err := encodeRecord(MetaEpochRow, toRow(e))
	if err != nil {
		return nil, err
	}
	return map[string]string{
		MetaValAcc:   strconv.FormatFloat(e.ValAcc, 'g', -1, 64),
		MetaValLoss:  strconv.FormatFloat(e.ValLoss, 'g', -1, 64),
		MetaEpochRow: row,
	}, nil
}

// epochRow is the JSON form of an Epoch; JSON has no NaN, so non-finite values are strings.
type epochRow struct {
	Epoch                          int
	Acc, Loss, LR, ValAcc, ValLoss jsonFloat
}

func toRow(e Epoch) epochRow {
	return epochRow{e.Epoch, jsonFloat(e.Acc), jsonFloat(e.Loss), jsonFloat(e.LR), jsonFloat(e.ValAcc), jsonFloat(e.ValLoss)}
}

// EpochFromMeta reads the epoch row a checkpoint records; a checkpoint from before rows were
// recorded gives its epoch and validation metrics, the rest NaN.
func EpochFromMeta(meta map[string]string, epoch int) (Epoch, error) {
	nan := math.NaN()
	e := Epoch{Epoch: epoch, Acc: nan, Loss: nan, LR: nan, ValAcc: nan, ValLoss: nan}
	if raw, ok := meta[MetaEpochRow]; ok {
		var r epochRow
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return e, fmt.Errorf("decoding the %s record: %w", MetaEpochRow, err)
		}
		return Epoch{Epoch: epoch, Acc: float64(r.Acc), Loss: float64(r.Loss), LR: float64(r.LR), ValAcc: float64(r.ValAcc), ValLoss: float64(r.ValLoss)}, nil
	}
	for key, v := range map[string]*float64{MetaValAcc: &e.ValAcc, MetaValLoss: &e.ValLoss} {
		if f, err := strconv.ParseFloat(meta[key], 64); err == nil {
			*v = f
		}
	}
	return e, nil
}

// jsonFloat writes NaN and infinities as strings ("NaN", "+Inf"), which JSON numbers cannot be.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		*f = jsonFloat(v)
		return err
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = jsonFloat(v)
	return err
}
