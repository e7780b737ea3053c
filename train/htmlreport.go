package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/report"
	"github.com/bonsai-ml/bonsai/results"
)

// ReportFile is the HTML run report Run writes in the results folder (Options.HTMLReport).
const ReportFile = "report.html"

// writeHTMLReport writes report.html: the run's facts, the training curves, the last epoch's
// validation (metrics, per-class table, confusion matrix) and, for a pruned model, its pruning.
func (r *run) writeHTMLReport() error {
	o := r.o
	last := r.history[len(r.history)-1]
	total, trainable, err := o.Graph.ParamCount()
	if err != nil {
		return err
	}
	name := o.Graph.Arch
	if o.Graph.NLayers > 0 {
		name += fmt.Sprint(o.Graph.NLayers)
	}
	in := o.Graph.Input
	facts := [][2]string{
		{"model", fmt.Sprintf("%s, input %d,%d,%d (C,H,W), %s parameters (%s trainable)", name, in[0], in[1], in[2],
			model.Group(int64(total)), model.Group(int64(trainable)))},
		{"classes", fmt.Sprintf("%d: %s", len(o.Classes), strings.Join(o.Classes, ", "))},
		{"images", fmt.Sprintf("%d training, %d validation", o.TrainData.Len(), o.ValData.Len())},
		{"training", fmt.Sprintf("epochs %d..%d of %d, %d iterations per epoch, batch %d, %s optimizer, %s learning rate %g",
			o.InitEpoch, o.Epochs, o.Epochs, r.steps, o.Train.BatchSize, o.Train.Optimizer, o.Schedule.Kind, o.Schedule.LearningRate)},
		{"best epoch", fmt.Sprintf("%d: val_acc %.4f, val_loss %.4f", r.best.Epoch, r.best.ValAcc, r.best.ValLoss)},
		{"last epoch", fmt.Sprintf("%d: val_acc %.4f, val_loss %.4f, acc %.4f, loss %.4f", last.Epoch, last.ValAcc, last.ValLoss, last.Acc, last.Loss)},
		{"backend", o.Engine.Name},
		{"results folder", o.ResultsDir},
		{"written", time.Now().Format("2006-01-02 15:04:05 MST")},
	}
	facts = append(facts, o.Facts...)
	var figs []report.Figure
	curves := filepath.Join(o.ResultsDir, "results.png")
	if _, err := os.Stat(curves); err == nil {
		figs = append(figs, report.Figure{Caption: "Training curves (results.png)", Path: curves})
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if ev := r.lastEval; ev != nil {
		png, err := report.ConfusionMatrixPNG(ev.Classes, ev.Confusion, false)
		if err != nil {
			return fmt.Errorf("writing %s: %w", ReportFile, err)
		}
		figs = append(figs, report.Figure{Caption: fmt.Sprintf("Confusion matrix of the validation images after epoch %d", last.Epoch), PNG: png})
	}
	page := report.Page{
		Title: fmt.Sprintf("Training report: %s", name), Facts: facts, Figures: figs,
		Evaluation: r.lastEval, EvaluationTitle: fmt.Sprintf("Validation after the last epoch (%d)", last.Epoch),
		Pruning: o.Pruning,
	}
	return report.WriteHTML(filepath.Join(o.ResultsDir, ReportFile), page)
}

// pruningRecord decodes the "pruning" entry of a model's metadata (nil when there is none or
// it cannot be read: the report then leaves the section out).
func pruningRecord(extra map[string]string) *results.PruneRecord {
	s, ok := extra[results.MetaPruning]
	if !ok {
		return nil
	}
	rec, err := results.DecodePruneRecord(s)
	if err != nil {
		return nil
	}
	return rec
}
