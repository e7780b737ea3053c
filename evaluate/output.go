package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// MarshalJSON writes the report with a non-finite loss as null (JSON has no NaN).
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // drops this method, avoiding recursion
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		Loss         *float64 `json:"loss"`
		CrossEntropy *float64 `json:"cross_entropy"`
	}{plain(r), finite(r.Loss), finite(r.CrossEntropy)})
}

// WriteJSON writes the report as indented JSON, atomically.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding evaluation report: %w", err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// WriteCSV writes the classification report as CSV (class,precision,recall,f1-score,support),
// atomically: one row per class, then the rows of sklearn's printed report, accuracy (in the
// f1-score column, with the total support), macro avg and weighted avg.
func (r *Report) WriteCSV(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"class", "precision", "recall", "f1-score", "support"})
		for _, c := range r.PerClass {
			cw.Write([]string{c.Class, formatFloat(c.Precision), formatFloat(c.Recall), formatFloat(c.F1), strconv.Itoa(c.Support)})
		}
		cw.Write([]string{"accuracy", "", "", formatFloat(r.Accuracy), strconv.Itoa(r.MacroAvg.Support)})
		for _, a := range []struct {
			name string
			avg  Averages
		}{{"macro avg", r.MacroAvg}, {"weighted avg", r.WeightedAvg}} {
			cw.Write([]string{a.name, formatFloat(a.avg.Precision), formatFloat(a.avg.Recall), formatFloat(a.avg.F1), strconv.Itoa(a.avg.Support)})
		}
		cw.Flush()
		return cw.Error()
	})
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
