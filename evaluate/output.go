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
	var loss *float64
	if !math.IsNaN(r.Loss) && !math.IsInf(r.Loss, 0) {
		loss = &r.Loss
	}
	return json.Marshal(struct {
		plain
		Loss *float64 `json:"loss"`
	}{plain(r), loss})
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

// WriteCSV writes the per-class metrics (class,precision,recall,f1-score,support) atomically.
func (r *Report) WriteCSV(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"class", "precision", "recall", "f1-score", "support"})
		for _, c := range r.PerClass {
			cw.Write([]string{c.Class, formatFloat(c.Precision), formatFloat(c.Recall), formatFloat(c.F1), strconv.Itoa(c.Support)})
		}
		cw.Flush()
		return cw.Error()
	})
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
