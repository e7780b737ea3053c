package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sklearnDocExample is the example of sklearn's classification_report documentation:
// y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1], with probabilities whose argmax is y_pred.
func sklearnDocExample(t *testing.T, k int) *Report {
	t.Helper()
	labels := []int{0, 1, 2, 2, 2}
	probs := [][]float32{
		{0.7, 0.2, 0.1},
		{0.5, 0.3, 0.2},
		{0.1, 0.1, 0.8},
		{0.2, 0.2, 0.6},
		{0.3, 0.4, 0.3},
	}
	r, err := Compute([]string{"class 0", "class 1", "class 2"}, k, labels, probs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestSklearnDocExample(t *testing.T) {
	r := sklearnDocExample(t, 2)
	// -mean(ln 0.7, ln 0.3, ln 0.8, ln 0.6, ln 0.3), from float32 inputs.
	if math.Abs(r.Loss-0.69971818) > 1e-6 {
		t.Errorf("loss %v, want 0.69971818", r.Loss)
	}
	// Top-2: sample 5's true score 0.3 ties with class 0; only 0.4 is strictly higher.
	if r.TopKAccuracy != 1 || r.Accuracy != 0.6 {
		t.Errorf("top-2 %v, accuracy %v; want 1, 0.6", r.TopKAccuracy, r.Accuracy)
	}
	wantCM := [][]int{{1, 0, 0}, {1, 0, 0}, {0, 1, 2}}
	if !reflect.DeepEqual(r.Confusion, wantCM) {
		t.Errorf("confusion %v, want %v", r.Confusion, wantCM)
	}
	want := []ClassMetrics{
		{"class 0", 0.5, 1, 2.0 / 3, 1},
		{"class 1", 0, 0, 0, 1},
		{"class 2", 1, 2.0 / 3, 0.8, 3},
	}
	checkRows(t, r.PerClass, want)
	checkAvg(t, "macro", r.MacroAvg, Averages{0.5, (1 + 2.0/3) / 3, (2.0/3 + 0.8) / 3, 5})
	checkAvg(t, "weighted", r.WeightedAvg, Averages{3.5 / 5, 3.0 / 5, (2.0/3 + 2.4) / 5, 5})

	// The table as printed in sklearn's documentation.
	wantText := `              precision    recall  f1-score   support

     class 0       0.50      1.00      0.67         1
     class 1       0.00      0.00      0.00         1
     class 2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
`
	if got := r.ClassificationReport(); got != wantText {
		t.Errorf("classification report:\n%s\nwant:\n%s", got, wantText)
	}
}

// TestZeroDivision has a class never predicted correctly and a class with no samples that is
// still predicted once. Expected numbers computed by hand (and confirmed once with sklearn 1.2.1).
func TestZeroDivision(t *testing.T) {
	labels := []int{0, 0, 0, 1, 1, 2, 2, 2, 2}
	preds := []int{0, 0, 3, 0, 0, 2, 2, 2, 1}
	r, err := Compute([]string{"a", "b", "c", "d"}, 1, labels, oneHot(preds, 4))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, r.PerClass, []ClassMetrics{
		{"a", 0.5, 2.0 / 3, 4.0 / 7, 3},
		{"b", 0, 0, 0, 2},
		{"c", 1, 0.75, 6.0 / 7, 4},
		{"d", 0, 0, 0, 0},
	})
	checkAvg(t, "macro", r.MacroAvg, Averages{0.375, (2.0/3 + 0.75) / 4, (4.0/7 + 6.0/7) / 4, 9})
	checkAvg(t, "weighted", r.WeightedAvg, Averages{5.5 / 9, 5.0 / 9, 4.0 / 7, 9})
	if !near(r.Accuracy, 5.0/9) || !near(r.TopKAccuracy, 5.0/9) {
		t.Errorf("accuracy %v top-1 %v, want 5/9", r.Accuracy, r.TopKAccuracy)
	}
	// 0.375 is a tie at two digits: Python rounds it half-to-even to 0.38, as Go does.
	wantText := `              precision    recall  f1-score   support

           a       0.50      0.67      0.57         3
           b       0.00      0.00      0.00         2
           c       1.00      0.75      0.86         4
           d       0.00      0.00      0.00         0

    accuracy                           0.56         9
   macro avg       0.38      0.35      0.36         9
weighted avg       0.61      0.56      0.57         9
`
	if got := r.ClassificationReport(); got != wantText {
		t.Errorf("classification report:\n%s\nwant:\n%s", got, wantText)
	}
}

// oneHot gives probability 0.9 to each prediction and spreads 0.1 over the rest.
func oneHot(preds []int, c int) [][]float32 {
	out := make([][]float32, len(preds))
	for i, p := range preds {
		out[i] = make([]float32, c)
		for j := range out[i] {
			out[i][j] = 0.1 / float32(c-1)
		}
		out[i][p] = 0.9
	}
	return out
}

func checkRows(t *testing.T, got, want []ClassMetrics) {
	t.Helper()
	for i, w := range want {
		g := got[i]
		if g.Class != w.Class || g.Support != w.Support || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
}

func checkAvg(t *testing.T, name string, got, want Averages) {
	t.Helper()
	if got.Support != want.Support || !near(got.Precision, want.Precision) || !near(got.Recall, want.Recall) || !near(got.F1, want.F1) {
		t.Errorf("%s avg %+v, want %+v", name, got, want)
	}
}

// TestTopKSemantics checks tf.math.in_top_k's rules against argmax accuracy.
func TestTopKSemantics(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name   string
		label  int
		probs  []float32
		k      int
		inTopK bool
		argmax int
	}{
		{"clear win", 1, []float32{0.1, 0.8, 0.1}, 1, true, 1},
		{"tie counts as found", 1, []float32{0.5, 0.5, 0}, 1, true, 0}, // argmax takes the first
		{"second place k=1", 2, []float32{0.5, 0.1, 0.4}, 1, false, 0},
		{"second place k=2", 2, []float32{0.5, 0.1, 0.4}, 2, true, 0},
		{"third place k=2", 1, []float32{0.5, 0.1, 0.4}, 2, false, 0},
		{"k above classes", 1, []float32{0.5, 0.1, 0.4}, 5, true, 0},
		{"NaN elsewhere", 0, []float32{0.9, nan, 0.1}, 3, false, 1},
		{"Inf target", 0, []float32{inf, 0, 0}, 1, false, 0},
	}
	for _, c := range cases {
		if got := inTopK(c.label, c.probs, c.k); got != c.inTopK {
			t.Errorf("%s: inTopK = %v, want %v", c.name, got, c.inTopK)
		}
		if got := Argmax(c.probs); got != c.argmax {
			t.Errorf("%s: argmax = %d, want %d", c.name, got, c.argmax)
		}
	}
}

// TestLossKerasClipping: a zero probability costs -ln(1e-7), rows are renormalised first.
func TestLossKerasClipping(t *testing.T) {
	cases := []struct {
		label int
		probs []float32
		want  float64
	}{
		{1, []float32{1, 0}, -math.Log(1e-7)},
		{1, []float32{0, 1}, -math.Log(1 - 1e-7)},
		{0, []float32{2, 2}, math.Ln2},        // renormalised to 0.5
		{0, []float32{0.2, 0.6}, math.Log(4)}, // renormalised to 0.25
	}
	for i, c := range cases {
		if got := crossEntropy(c.label, c.probs); math.Abs(got-c.want) > 1e-7 {
			t.Errorf("case %d: loss %v, want %v", i, got, c.want)
		}
	}
	if !math.IsNaN(crossEntropy(0, []float32{float32(math.NaN()), 1})) {
		t.Error("NaN probability should give NaN loss")
	}
}

func TestPrintTAO(t *testing.T) {
	r := sklearnDocExample(t, 2)
	var b strings.Builder
	if err := r.PrintTAO(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	wantStart := "Evaluation Loss: 0.69971" // float32 inputs: the tail digits vary
	wantMid := "\nEvaluation Top K accuracy: 1.0\nConfusion Matrix\n[[1 0 0]\n [1 0 0]\n [0 1 2]]\nClassification Report\n              precision"
	if !strings.HasPrefix(got, wantStart) || !strings.Contains(got, wantMid) || !strings.HasSuffix(got, "weighted avg       0.70      0.60      0.61         5\n") {
		t.Errorf("PrintTAO output:\n%s", got)
	}
}

// TestPrintTAOWithPenalty: the loss TAO prints includes the regularization penalty; the
// cross-entropy alone follows it. 0.699717... + 0.25 = 0.949717...
func TestPrintTAOWithPenalty(t *testing.T) {
	r := sklearnDocExample(t, 2)
	r.AddPenalty(0.25)
	if !near(r.Loss-r.CrossEntropy, 0.25) || math.Abs(r.Loss-0.94971) > 1e-5 {
		t.Fatalf("loss %v, cross-entropy %v", r.Loss, r.CrossEntropy)
	}
	var b strings.Builder
	if err := r.PrintTAO(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "Evaluation Loss: 0.94971") ||
		!strings.HasPrefix(lines[1], "Evaluation cross-entropy: 0.69971") ||
		!strings.HasSuffix(lines[1], "(the loss without the regularization penalty 0.25)") ||
		lines[2] != "Evaluation Top K accuracy: 1.0" {
		t.Errorf("PrintTAO output:\n%s", b.String())
	}
}

// TestNumpyMatrix compares with numpy 1.24's print() of the same arrays, including wrapping.
func TestNumpyMatrix(t *testing.T) {
	wide := [][]int{make([]int, 20), make([]int, 20)}
	for i := range 40 {
		wide[i/20][i%20] = i * 100
	}
	wantWide := `[[   0  100  200  300  400  500  600  700  800  900 1000 1100 1200 1300
  1400 1500 1600 1700 1800 1900]
 [2000 2100 2200 2300 2400 2500 2600 2700 2800 2900 3000 3100 3200 3300
  3400 3500 3600 3700 3800 3900]]`
	if got := NumpyMatrix(wide); got != wantWide {
		t.Errorf("got\n%s\nwant\n%s", got, wantWide)
	}
	// (arange(441).reshape(21,21)*7) % 150, first three rows.
	rows := make([][]int, 3)
	for i := range rows {
		rows[i] = make([]int, 21)
		for j := range rows[i] {
			rows[i][j] = ((i*21 + j) * 7) % 150
		}
	}
	want21 := `[[  0   7  14  21  28  35  42  49  56  63  70  77  84  91  98 105 112 119
  126 133 140]
 [147   4  11  18  25  32  39  46  53  60  67  74  81  88  95 102 109 116
  123 130 137]
 [144   1   8  15  22  29  36  43  50  57  64  71  78  85  92  99 106 113
  120 127 134]]`
	if got := NumpyMatrix(rows); got != want21 {
		t.Errorf("got\n%s\nwant\n%s", got, want21)
	}
}

func TestBatchesMatchCompute(t *testing.T) {
	whole := sklearnDocExample(t, 2)
	e, err := NewEvaluator(whole.Classes, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddBatch([]int{0, 1}, []float32{0.7, 0.2, 0.1, 0.5, 0.3, 0.2}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddBatch([]int{2, 2, 2}, []float32{0.1, 0.1, 0.8, 0.2, 0.2, 0.6, 0.3, 0.4, 0.3}); err != nil {
		t.Fatal(err)
	}
	batched, err := e.Report()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(batched, whole) {
		t.Errorf("batched report %+v differs from %+v", batched, whole)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewEvaluator(nil, 1); err == nil {
		t.Error("no classes accepted")
	}
	if _, err := NewEvaluator([]string{"a"}, 0); err == nil {
		t.Error("top_k 0 accepted")
	}
	e, _ := NewEvaluator([]string{"a", "b"}, 1)
	if err := e.Add(2, []float32{0.5, 0.5}); err == nil {
		t.Error("label out of range accepted")
	}
	if err := e.Add(0, []float32{1}); err == nil {
		t.Error("short probability row accepted")
	}
	if err := e.AddBatch([]int{0, 1}, []float32{1, 0, 0}); err == nil {
		t.Error("ragged batch accepted")
	}
	if _, err := e.Report(); err == nil {
		t.Error("report of nothing accepted")
	}
}

func TestWriteJSONAndCSV(t *testing.T) {
	dir := t.TempDir()
	r := sklearnDocExample(t, 2)
	r.Loss = math.NaN() // must not break JSON
	jsonPath := filepath.Join(dir, "evaluation.json")
	if err := r.WriteJSON(jsonPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, data)
	}
	if m["loss"] != nil || m["top_k_accuracy"] != 1.0 || m["accuracy"] != 0.6 || m["top_k"] != 2.0 {
		t.Errorf("JSON fields: loss %v top_k_accuracy %v accuracy %v top_k %v", m["loss"], m["top_k_accuracy"], m["accuracy"], m["top_k"])
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back.Confusion, r.Confusion) || back.PerClass[2].F1 != 0.8 {
		t.Errorf("JSON does not read back: %v %+v", err, back)
	}

	csvPath := filepath.Join(dir, "per_class.csv")
	if err := r.WriteCSV(csvPath); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(csvPath)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The rows of sklearn's printed report: accuracy 3/5 in the f1-score column with the total
	// support; macro avg (0.5+0+1)/3, (1+0+2/3)/3, (2/3+0+0.8)/3; weighted by 1, 1, 3 of 5.
	want := [][]string{
		{"class", "precision", "recall", "f1-score", "support"},
		{"class 0", "0.5", "1", "0.6666666666666666", "1"},
		{"class 1", "0", "0", "0", "1"},
		{"class 2", "1", "0.6666666666666666", "0.8", "3"},
		{"accuracy", "", "", "0.6", "5"},
		{"macro avg", "0.5", "0.5555555555555555", "0.48888888888888893", "5"},
		{"weighted avg", "0.7", "0.6", "0.6133333333333334", "5"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("CSV %v, want %v", rows, want)
	}
}

// TestAgainstSklearn20Classes compares with sklearn's and numpy's own output for 3000 samples of
// 20 VOC classes (testdata/voc20_sklearn.json, written once by sklearn 1.2.1 and numpy 1.24),
// including a class that is never predicted correctly and a matrix numpy wraps.
func TestAgainstSklearn20Classes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "voc20_sklearn.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Classes           []string
		Labels, Preds     []int
		Report            string
		ConfusionMatrix   string `json:"confusion_matrix"`
		Precision, Recall []float64
		F1                []float64
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	r, err := Compute(ref.Classes, 1, ref.Labels, oneHot(ref.Preds, len(ref.Classes)))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ClassificationReport(); got != ref.Report {
		t.Errorf("classification report:\n%s\nsklearn:\n%s", got, ref.Report)
	}
	if got := NumpyMatrix(r.Confusion); got != ref.ConfusionMatrix {
		t.Errorf("confusion matrix:\n%s\nnumpy:\n%s", got, ref.ConfusionMatrix)
	}
	for i, c := range r.PerClass {
		if !near(c.Precision, ref.Precision[i]) || !near(c.Recall, ref.Recall[i]) || !near(c.F1, ref.F1[i]) {
			t.Errorf("%s: %+v, sklearn P %v R %v F1 %v", c.Class, c, ref.Precision[i], ref.Recall[i], ref.F1[i])
		}
	}
}
