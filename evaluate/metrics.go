// Package evaluate owns classification metrics and their reports: loss, top-1 and top-k
// accuracy, the confusion matrix and per-class precision / recall / F1, printed as TAO prints
// them (Keras numbers, numpy's matrix, sklearn's classification_report) and written as JSON and
// CSV.
//
// Semantics follow the tools TAO uses, so numbers compare one to one:
//   - loss: Keras categorical cross-entropy on probabilities: each row is divided by its sum and
//     clipped to [1e-7, 1-1e-7] before the log; the mean over samples. With a regularizer
//     (AddPenalty), the L1/L2 penalty is added, as Keras adds it to the loss TAO prints;
//     CrossEntropy keeps the cross-entropy alone.
//   - top-k accuracy: Keras top_k_categorical_accuracy, i.e. tf.math.in_top_k: the true class
//     counts as found when fewer than k classes score strictly higher (ties favour the true
//     class), and never when a score in the row is NaN or infinite.
//   - accuracy (top-1) and the confusion matrix use argmax (first maximum, as numpy; a NaN wins).
//   - per-class metrics and averages: sklearn's classification_report over all classes, with 0
//     where a ratio divides by zero.
package evaluate

import (
	"errors"
	"fmt"
	"math"
)

// Keras' epsilon for clipping probabilities in categorical cross-entropy.
const kerasEpsilon = 1e-7

// ClassMetrics are one row of the classification report.
type ClassMetrics struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1_score"`
	Support   int     `json:"support"`
}

// Averages are the "macro avg" or "weighted avg" row of the classification report.
type Averages struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1_score"`
	Support   int     `json:"support"`
}

// Report holds every metric of one evaluation.
type Report struct {
	Classes []string `json:"classes"`
	Samples int      `json:"samples"`
	TopK    int      `json:"top_k"`
	// Loss is NaN when a probability was NaN; it is written as null in JSON. It is
	// CrossEntropy + Penalty.
	Loss         float64 `json:"loss"`
	CrossEntropy float64 `json:"cross_entropy"`
	Penalty      float64 `json:"penalty"` // the L1/L2 regularization term (0 without one)
	Accuracy     float64 `json:"accuracy"`
	TopKAccuracy float64 `json:"top_k_accuracy"`
	// Confusion[i][j] counts samples of true class i predicted as class j.
	Confusion   [][]int        `json:"confusion_matrix"`
	PerClass    []ClassMetrics `json:"per_class"`
	MacroAvg    Averages       `json:"macro_avg"`
	WeightedAvg Averages       `json:"weighted_avg"`
}

// Evaluator accumulates predictions batch by batch; Report computes the metrics.
type Evaluator struct {
	classes   []string
	k         int
	n         int
	lossSum   float64
	inTopK    int
	confusion [][]int
}

// NewEvaluator starts an evaluation over the given classes (index order) with top-k accuracy.
func NewEvaluator(classes []string, topK int) (*Evaluator, error) {
	if len(classes) == 0 {
		return nil, errors.New("evaluation needs at least one class")
	}
	if topK < 1 {
		return nil, fmt.Errorf("top_k must be at least 1, got %d", topK)
	}
	e := &Evaluator{classes: append([]string(nil), classes...), k: topK}
	e.confusion = make([][]int, len(classes))
	for i := range e.confusion {
		e.confusion[i] = make([]int, len(classes))
	}
	return e, nil
}

// Add records one sample: its true class index and its predicted probabilities.
func (e *Evaluator) Add(label int, probs []float32) error {
	c := len(e.classes)
	if label < 0 || label >= c {
		return fmt.Errorf("label %d is outside the %d classes", label, c)
	}
	if len(probs) != c {
		return fmt.Errorf("got %d probabilities for %d classes", len(probs), c)
	}
	e.n++
	e.lossSum += crossEntropy(label, probs)
	if inTopK(label, probs, e.k) {
		e.inTopK++
	}
	e.confusion[label][Argmax(probs)]++
	return nil
}

// AddBatch records len(labels) samples whose probabilities are laid out row by row in probs.
func (e *Evaluator) AddBatch(labels []int, probs []float32) error {
	c := len(e.classes)
	if len(probs) != len(labels)*c {
		return fmt.Errorf("got %d probabilities for %d samples of %d classes", len(probs), len(labels), c)
	}
	for i, l := range labels {
		if err := e.Add(l, probs[i*c:(i+1)*c]); err != nil {
			return fmt.Errorf("sample %d: %w", i, err)
		}
	}
	return nil
}

// Compute evaluates all samples at once.
func Compute(classes []string, topK int, labels []int, probs [][]float32) (*Report, error) {
	if len(labels) != len(probs) {
		return nil, fmt.Errorf("%d labels for %d probability rows", len(labels), len(probs))
	}
	e, err := NewEvaluator(classes, topK)
	if err != nil {
		return nil, err
	}
	for i := range labels {
		if err := e.Add(labels[i], probs[i]); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
	}
	return e.Report()
}

// Report computes the metrics of the samples added so far.
func (e *Evaluator) Report() (*Report, error) {
	if e.n == 0 {
		return nil, errors.New("no samples were evaluated")
	}
	r := &Report{
		Classes:      append([]string(nil), e.classes...),
		Samples:      e.n,
		TopK:         e.k,
		Loss:         e.lossSum / float64(e.n),
		CrossEntropy: e.lossSum / float64(e.n),
		TopKAccuracy: float64(e.inTopK) / float64(e.n),
		Confusion:    make([][]int, len(e.confusion)),
	}
	for i, row := range e.confusion {
		r.Confusion[i] = append([]int(nil), row...)
	}
	r.PerClass, r.Accuracy = perClass(e.classes, r.Confusion)
	r.MacroAvg, r.WeightedAvg = averages(r.PerClass)
	return r, nil
}

// AddPenalty adds the regularization term of the model's weights to the loss, as Keras does
// for the loss TAO's evaluate prints (the model is rebuilt with the spec's regularizer).
func (r *Report) AddPenalty(p float64) {
	r.Penalty = p
	r.Loss = r.CrossEntropy + p
}

// crossEntropy is Keras' categorical cross-entropy of one sample given probabilities.
func crossEntropy(label int, probs []float32) float64 {
	var sum float64
	for _, p := range probs {
		sum += float64(p)
	}
	p := float64(probs[label]) / sum
	p = math.Min(math.Max(p, kerasEpsilon), 1-kerasEpsilon) // NaN stays NaN
	return -math.Log(p)
}

// inTopK is tf.math.in_top_k for one row.
func inTopK(label int, probs []float32, k int) bool {
	target := probs[label]
	if !isFinite(target) {
		return false
	}
	higher := 0
	for _, p := range probs {
		if !isFinite(p) {
			return false
		}
		if p > target {
			higher++
		}
	}
	return higher < k
}

func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Argmax is numpy's argmax: the first maximum, or the first NaN if there is one.
func Argmax(probs []float32) int {
	best := 0
	for i, p := range probs {
		if math.IsNaN(float64(p)) {
			return i
		}
		if p > probs[best] {
			best = i
		}
	}
	return best
}

// perClass computes sklearn's per-class precision, recall, F1 and support, and the accuracy.
func perClass(classes []string, confusion [][]int) ([]ClassMetrics, float64) {
	rows := make([]ClassMetrics, len(classes))
	correct, total := 0, 0
	for i, name := range classes {
		tp, support, predicted := confusion[i][i], 0, 0
		for j := range classes {
			support += confusion[i][j]
			predicted += confusion[j][i]
		}
		correct += tp
		total += support
		rows[i] = ClassMetrics{
			Class:     name,
			Precision: ratio(tp, predicted),
			Recall:    ratio(tp, support),
			F1:        ratio(2*tp, support+predicted), // = 2PR/(P+R), 0 when both are 0
			Support:   support,
		}
	}
	return rows, ratio(correct, total)
}

// averages computes the macro (unweighted) and support-weighted means of the per-class rows.
func averages(rows []ClassMetrics) (macro, weighted Averages) {
	total := 0
	for _, r := range rows {
		macro.Precision += r.Precision
		macro.Recall += r.Recall
		macro.F1 += r.F1
		weighted.Precision += r.Precision * float64(r.Support)
		weighted.Recall += r.Recall * float64(r.Support)
		weighted.F1 += r.F1 * float64(r.Support)
		total += r.Support
	}
	n := float64(len(rows))
	macro = Averages{macro.Precision / n, macro.Recall / n, macro.F1 / n, total}
	if total > 0 {
		t := float64(total)
		weighted = Averages{weighted.Precision / t, weighted.Recall / t, weighted.F1 / t, total}
	} else {
		weighted = Averages{Support: total}
	}
	return macro, weighted
}

// ratio is a/b, or 0 when b is 0 (sklearn's zero_division=0).
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
