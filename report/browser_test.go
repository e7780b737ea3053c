package report

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/results"
)

// fullPage is a report with every section: facts, a figure from a file and one from bytes, an
// evaluation and a pruning record with its per-layer table.
func fullPage(t *testing.T, dir string) Page {
	t.Helper()
	curves := filepath.Join(dir, "results.png")
	if err := WriteTrainingCurves(curves, sampleEpochs(5)); err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.Compute([]string{"cat", "dog", "<bird>"}, 2, []int{0, 1, 2, 2},
		[][]float32{{0.8, 0.1, 0.1}, {0.3, 0.6, 0.1}, {0.1, 0.2, 0.7}, {0.5, 0.3, 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	ev.AddPenalty(0.01)
	cm, err := ConfusionMatrixPNG(ev.Classes, ev.Confusion, false)
	if err != nil {
		t.Fatal(err)
	}
	pth := 0.6
	rec := &results.PruneRecord{Source: "w/resnet_010.safetensors", Allocation: "threshold", Threshold: &pth, Normalizer: "max", Criterion: "kernel",
		Equalization: "union", Granularity: 8, MinFilters: 16, PruningRatio: 0.5, ParamsBefore: 1000, ParamsAfter: 500,
		Layers: []results.PrunedLayer{{Name: "conv1", Op: "conv2d", Before: 64, After: 32, Group: 1},
			{Name: "predictions", Op: "dense", Before: 3, After: 3, Pinned: "output layer"}}}
	return Page{Title: "Training report: resnet10", Facts: [][2]string{{"model", "resnet10"}, {"epochs", "5"}},
		Figures:    []Figure{{Caption: "Training curves", Path: curves}, {Caption: "Confusion matrix", PNG: cm}},
		Evaluation: ev, Pruning: rec}
}

// TestHTMLReportSections checks the page's text: every section, escaping, the pruning table.
func TestHTMLReportSections(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := WriteHTML(path, fullPage(t, dir)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	html := string(b)
	for _, want := range []string{`<table id="facts">`, `<table id="metrics">`, `<table id="per-class">`, `<table id="confusion">`,
		`<table id="pruning">`, `<table id="pruning-layers">`, "&lt;bird&gt;", "<td>32</td><td>50%</td><td>1</td>",
		"keeps all: output layer", "cross-entropy (loss without the regularization penalty)", "threshold, 0.6</td>"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Error("the report is not self-contained: it has a script or an external reference")
	}
}

// TestHTMLReportRendersInChromium opens the report in headless Chromium: both pictures decode,
// every table has rows and takes up space, the console stays silent, and the screenshot is a
// picture with content.
func TestHTMLReportRendersInChromium(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := WriteHTML(path, fullPage(t, dir)); err != nil {
		t.Fatal(err)
	}
	r := testutil.RenderInChromium(t, path, true)
	r.Check(t, 2, []string{"facts", "metrics", "per-class", "confusion", "pruning", "pruning-layers"})
	img, err := png.Decode(bytes.NewReader(r.Screenshot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if n := distinctColors(img); n < 20 {
		t.Errorf("screenshot has %d colours: blank page?", n)
	}
}
