package results

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// TrainingCSV is the name of the per-epoch log in a results folder.
const TrainingCSV = "training.csv"

// Epoch is one row of training.csv: the metrics Keras' CSVLogger writes after an epoch (TAO's
// columns epoch, acc, loss, lr, val_acc, val_loss).
type Epoch struct {
	Epoch   int     // 1-based
	Acc     float64 // training accuracy over the epoch
	Loss    float64 // mean training loss over the epoch
	LR      float64 // learning rate after the epoch's last iteration (TAO's lr column)
	ValAcc  float64
	ValLoss float64
	// Seconds is the wall time of the epoch (not in the CSV; used by status.json).
	Seconds float64
	// ImagesPerSecond is the training throughput of the epoch (not in the CSV; TensorBoard).
	ImagesPerSecond float64
}

// csvHeader is Keras' CSVLogger header: "epoch" then the metric names sorted.
const csvHeader = "epoch,acc,loss,lr,val_acc,val_loss"

// WriteTrainingCSV writes rows to path atomically, in TAO's training.csv format.
func WriteTrainingCSV(path string, rows []Epoch) error {
	return atomicfile.WriteBytes(path, EncodeTrainingCSV(rows))
}

// EncodeTrainingCSV is the text of a training.csv holding rows.
func EncodeTrainingCSV(rows []Epoch) []byte {
	var b bytes.Buffer
	b.WriteString(csvHeader + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s\n", r.Epoch, fmtFloat(r.Acc), fmtFloat(r.Loss),
			strconv.FormatFloat(float64(float32(r.LR)), 'g', -1, 32), fmtFloat(r.ValAcc), fmtFloat(r.ValLoss))
	}
	return b.Bytes()
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// csvColumns maps training.csv header names to Epoch fields; Keras 2.3+ and TF2 write
// "accuracy" where TAO's Keras writes "acc".
var csvColumns = map[string]func(*Epoch) *float64{
	"acc":          func(e *Epoch) *float64 { return &e.Acc },
	"accuracy":     func(e *Epoch) *float64 { return &e.Acc },
	"loss":         func(e *Epoch) *float64 { return &e.Loss },
	"lr":           func(e *Epoch) *float64 { return &e.LR },
	"val_acc":      func(e *Epoch) *float64 { return &e.ValAcc },
	"val_accuracy": func(e *Epoch) *float64 { return &e.ValAcc },
	"val_loss":     func(e *Epoch) *float64 { return &e.ValLoss },
}

// ReadTrainingCSV reads a training.csv written by Bonsai, TAO or Keras' CSVLogger (header
// "epoch,acc,loss,lr,val_acc,val_loss", columns in any order, others ignored). Missing columns
// and empty cells read as NaN.
func ReadTrainingCSV(path string) ([]Epoch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading training log: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading training log %s: %w", path, err)
	}
	if len(rows) == 0 || len(rows[0]) == 0 || strings.TrimSpace(rows[0][0]) != "epoch" {
		return nil, fmt.Errorf("reading training log %s: the first line must be a header starting with \"epoch\"", path)
	}
	header := rows[0]
	var epochs []Epoch
	for i, row := range rows[1:] {
		e, err := parseEpochRow(header, row)
		if err != nil {
			return nil, fmt.Errorf("reading training log %s:%d: %w", path, i+2, err)
		}
		epochs = append(epochs, e)
	}
	return epochs, nil
}

// parseEpochRow reads one data row by its header.
func parseEpochRow(header, row []string) (Epoch, error) {
	if len(row) != len(header) {
		return Epoch{}, fmt.Errorf("%d fields, the header has %d", len(row), len(header))
	}
	nan := math.NaN()
	e := Epoch{Acc: nan, Loss: nan, LR: nan, ValAcc: nan, ValLoss: nan}
	n, err := strconv.Atoi(strings.TrimSpace(row[0]))
	if err != nil {
		return e, fmt.Errorf("epoch %q is not an integer", row[0])
	}
	e.Epoch = n
	for j, name := range header[1:] {
		field, ok := csvColumns[strings.TrimSpace(name)]
		cell := strings.TrimSpace(row[j+1])
		if !ok || cell == "" {
			continue
		}
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return e, fmt.Errorf("column %s: %q is not a number", name, cell)
		}
		*field(&e) = v
	}
	return e, nil
}
