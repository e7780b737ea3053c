package report

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

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

// ReadTrainingCSV reads a training.csv (Keras CSVLogger: header "epoch,acc,loss,lr,val_acc,
// val_loss", columns in any order, others ignored). Missing columns and empty cells read as NaN.
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

// WriteCurvesFromCSV reads a training.csv and draws its curves into pngPath (results.png).
func WriteCurvesFromCSV(csvPath, pngPath string) error {
	epochs, err := ReadTrainingCSV(csvPath)
	if err != nil {
		return err
	}
	if len(epochs) == 0 {
		return fmt.Errorf("training log %s has no epochs yet", csvPath)
	}
	return WriteTrainingCurves(pngPath, epochs)
}
