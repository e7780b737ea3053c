package evaluate

import (
	"fmt"
	"github.com/bonsai-ml/bonsai/internal/pyfmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PrintTAO writes the report as TAO's evaluate prints it: loss (with the regularization
// penalty, as Keras reports it), top-k accuracy, the confusion matrix as numpy prints it, and
// sklearn's classification report with class names. When the loss includes a penalty, a line
// after it gives the cross-entropy alone (Bonsai's).
func (r *Report) PrintTAO(w io.Writer) error {
	ce := ""
	if r.Penalty != 0 {
		ce = fmt.Sprintf("Evaluation cross-entropy: %s (the loss without the regularization penalty %s)\n", pyfmt.Float(r.CrossEntropy), pyfmt.Float(r.Penalty))
	}
	_, err := fmt.Fprintf(w, "Evaluation Loss: %s\n%sEvaluation Top K accuracy: %s\nConfusion Matrix\n%s\nClassification Report\n%s",
		pyfmt.Float(r.Loss), ce, pyfmt.Float(r.TopKAccuracy), NumpyMatrix(r.Confusion), r.ClassificationReport())
	return err
}

// numpy's default print options.
const numpyLineWidth = 75

// NumpyMatrix formats an integer matrix as print(numpy_array) does: elements right-aligned to
// the widest, rows wrapped at 75 columns with a two-space hanging indent. (numpy elides the
// middle of arrays over 1000 elements; this prints them whole.)
func NumpyMatrix(m [][]int) string {
	width := 1
	for _, row := range m {
		for _, v := range row {
			width = max(width, len(strconv.Itoa(v)))
		}
	}
	var s strings.Builder
	s.WriteString("[")
	for i, row := range m {
		if i > 0 {
			s.WriteString("\n ")
		}
		s.WriteString(numpyRow(row, width))
	}
	s.WriteString("]")
	return s.String()
}

// numpyRow formats one row of a 2-D array, following numpy's _formatArray line breaking.
func numpyRow(row []int, width int) string {
	const indent = "  "
	limit := numpyLineWidth - 1 - 1 // one "]" per nesting level below the top
	var s strings.Builder
	line := indent
	for i, v := range row {
		word := fmt.Sprintf("%*d", width, v)
		if len(line)+len(word) > limit && len(line) > len(indent) {
			s.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += word
		if i < len(row)-1 {
			line += " "
		}
	}
	s.WriteString(line)
	return "[" + s.String()[len(indent):] + "]"
}

// ClassificationReport formats the per-class table as sklearn's classification_report does
// (digits=2), with the accuracy, macro avg and weighted avg rows.
func (r *Report) ClassificationReport() string {
	const lastHeading = "weighted avg"
	width := len(lastHeading)
	for _, c := range r.PerClass {
		width = max(width, utf8.RuneCountInString(c.Class)) // fmt pads by code points too
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	for _, c := range r.PerClass {
		fmt.Fprintf(&b, "%*s  %9.2f %9.2f %9.2f %9d\n", width, c.Class, c.Precision, c.Recall, c.F1, c.Support)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%*s  %9s %9s %9.2f %9d\n", width, "accuracy", "", "", r.Accuracy, r.MacroAvg.Support)
	for _, a := range []struct {
		name string
		avg  Averages
	}{{"macro avg", r.MacroAvg}, {"weighted avg", r.WeightedAvg}} {
		fmt.Fprintf(&b, "%*s  %9.2f %9.2f %9.2f %9d\n", width, a.name, a.avg.Precision, a.avg.Recall, a.avg.F1, a.avg.Support)
	}
	return b.String()
}
