package report

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/results"
	"gonum.org/v1/plot"
)

// decodePNG opens a written PNG and checks its size and that it is not blank.
func decodePNG(t *testing.T, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s does not decode as PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	if n := distinctColors(img); n < 5 {
		t.Errorf("%s has %d distinct colours: blank?", path, n)
	}
	return img
}

func distinctColors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// countNear counts pixels within tol of an RGB colour (8-bit).
func countNear(img image.Image, c [3]uint8, tol int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if abs(int(r>>8)-int(c[0])) <= tol && abs(int(g>>8)-int(c[1])) <= tol && abs(int(bl>>8)-int(c[2])) <= tol {
				n++
			}
		}
	}
	return n
}

func abs(v int) int { return max(v, -v) }

func sampleEpochs(n int) []results.Epoch {
	out := make([]results.Epoch, n)
	for i := range out {
		e := float64(i + 1)
		out[i] = results.Epoch{Epoch: i + 1, Loss: 2 / e, ValLoss: 2.2 / e, Acc: 1 - 0.8/e, ValAcc: 1 - 0.9/e,
			LR: 0.1 * math.Pow(0.8, e)}
	}
	return out
}

func TestTrainingCurves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.png")
	if err := WriteTrainingCurves(path, sampleEpochs(30)); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, CurvesWidth, CurvesHeight)
	// Both series colours are drawn.
	if countNear(img, [3]uint8{0x1f, 0x77, 0xb4}, 10) < 200 || countNear(img, [3]uint8{0xff, 0x7f, 0x0e}, 10) < 200 {
		t.Error("training (blue) or validation (orange) curves missing")
	}
}

func TestTrainingCurvesEdgeCases(t *testing.T) {
	nan := math.NaN()
	gappy := sampleEpochs(6)
	gappy[2].ValLoss, gappy[2].ValAcc = nan, nan
	gappy[4].Loss = math.Inf(1)
	allNaN := []results.Epoch{{Epoch: 1, Acc: nan, Loss: nan, LR: nan, ValAcc: nan, ValLoss: nan}}
	cases := map[string][]results.Epoch{
		"one epoch":       sampleEpochs(1),
		"gaps":            gappy,
		"all NaN":         allNaN,
		"no validation":   {{Epoch: 1, Acc: 0.5, Loss: 1, LR: 0.1, ValAcc: nan, ValLoss: nan}, {Epoch: 2, Acc: 0.6, Loss: 0.9, LR: 0.1, ValAcc: nan, ValLoss: nan}},
		"constant values": {{Epoch: 1, Acc: 0.5, Loss: 1, LR: 0.1, ValAcc: 0.5, ValLoss: 1}, {Epoch: 2, Acc: 0.5, Loss: 1, LR: 0.1, ValAcc: 0.5, ValLoss: 1}},
	}
	for name, epochs := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.png")
			if err := WriteTrainingCurves(path, epochs); err != nil {
				t.Fatal(err)
			}
			decodePNG(t, path, CurvesWidth, CurvesHeight)
		})
	}
	if err := WriteTrainingCurves(filepath.Join(t.TempDir(), "x.png"), nil); err == nil {
		t.Error("no epochs accepted")
	}
}

func TestConfusionMatrixPNG(t *testing.T) {
	classes := []string{"aeroplane", "bicycle", "bird", "boat", "bottle"}
	cm := [][]int{
		{50, 0, 0, 0, 0}, // all right: the darkest colour in both variants
		{3, 40, 0, 0, 7},
		{0, 0, 0, 0, 0}, // no samples: the normalised row stays 0
		{1, 0, 4, 30, 0},
		{0, 9, 0, 0, 21},
	}
	dir := t.TempDir()
	for _, normalize := range []bool{false, true} {
		path := filepath.Join(dir, "confusion.png")
		if normalize {
			path = filepath.Join(dir, "confusion_normalized.png")
		}
		if err := WriteConfusionMatrix(path, classes, cm, normalize); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path, ConfusionSize(5), ConfusionSize(5))
		// The darkest cell colour (the largest value) covers at least a cell's worth of pixels.
		if n := countNear(img, [3]uint8{0x08, 0x30, 0x6b}, 6); n < 1000 {
			t.Errorf("%s: darkest cell has %d pixels", path, n)
		}
	}
	many := make([]string, 25)
	big := make([][]int, 25)
	for i := range many {
		many[i] = "class_" + strings.Repeat("x", i%7)
		big[i] = make([]int, 25)
		big[i][i], big[i][(i+1)%25] = 100+i, i
	}
	path := filepath.Join(dir, "big.png")
	if err := WriteConfusionMatrix(path, many, big, false); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path, ConfusionSize(25), ConfusionSize(25))
}

func TestConfusionMatrixBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, cm := range map[string][][]int{
		"rows":     {{1, 0}},
		"columns":  {{1, 0}, {1}},
		"negative": {{1, -1}, {0, 1}},
	} {
		if err := WriteConfusionMatrix(filepath.Join(dir, "x.png"), []string{"a", "b"}, cm, false); err == nil {
			t.Errorf("%s: bad matrix accepted", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); !os.IsNotExist(err) {
		t.Error("a file was written for a bad matrix")
	}
}

func TestWriteCurvesFromCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "training.csv")
	os.WriteFile(path, []byte("epoch,acc,loss,lr,val_acc,val_loss\n1,0.5,1.25,0.1,0.4,1.5\n2,0.625,nan,0.05,,1.0\n"), 0o644)
	png := filepath.Join(dir, "results.png")
	if err := writeCurvesFromCSV(path, png); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, png, CurvesWidth, CurvesHeight)
	headerOnly := filepath.Join(dir, "empty.csv")
	os.WriteFile(headerOnly, []byte("epoch,acc,loss,lr,val_acc,val_loss\n"), 0o644)
	if err := writeCurvesFromCSV(headerOnly, png); err == nil || !strings.Contains(err.Error(), headerOnly) {
		t.Errorf("empty log: %v", err)
	}
}

func TestWriteHTML(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "results.png")
	if err := WriteTrainingCurves(png, sampleEpochs(3)); err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.Compute([]string{"cat", "<dog>"}, 1, []int{0, 1, 1},
		[][]float32{{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	page := Page{Title: "resnet18 on pets", Facts: [][2]string{{"epochs", "3"}},
		Figures: []Figure{{Caption: "Training curves", Path: png}}, Evaluation: ev}
	if err := WriteHTML(path, page); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"<title>resnet18 on pets</title>",
		`src="data:image/png;base64,iVBORw0KGgo`, // the PNG signature, base64
		"&lt;dog&gt;",                            // class names are escaped
		"<td>66.67%</td>",                        // accuracy 2/3
		`<td class="diag">1</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "<dog>") {
		t.Error("class name not escaped")
	}
	page.Figures = []Figure{{Caption: "missing", Path: filepath.Join(dir, "nope.png")}}
	if err := WriteHTML(filepath.Join(dir, "bad.html"), page); err == nil || !strings.Contains(err.Error(), "nope.png") {
		t.Errorf("missing figure: %v", err)
	}
}

// TestLearningRatePanelIsLog: the lr panel has a log axis padded around the data, labelled at
// powers of ten. 0.1*0.8^e over 30 epochs spans 1.24e-4 to 0.08; padded by the factor
// (0.08/1.24e-4)^0.06 = 1.47 the axis runs from 8.4e-5 to 0.118: labels 1e-4 to 0.1.
func TestLearningRatePanelIsLog(t *testing.T) {
	epochs := sampleEpochs(30)
	epochs[3].LR = 0 // an lr of 0 leaves a gap, not an error
	p := curvePanel("Learning rate", epochs, []series{{"lr", trainColor, func(e results.Epoch) float64 { return e.LR }}}, true)
	if _, ok := p.Y.Scale.(plot.LogScale); !ok {
		t.Fatalf("lr axis scale %T, want plot.LogScale", p.Y.Scale)
	}
	lo, hi := 0.1*math.Pow(0.8, 30), 0.1*0.8
	if !(p.Y.Min > 0 && p.Y.Min < lo && p.Y.Max > hi) {
		t.Errorf("lr range [%g, %g] does not hold [%g, %g]", p.Y.Min, p.Y.Max, lo, hi)
	}
	var labels []string
	for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "0.0001 0.001 0.01 0.1" {
		t.Errorf("labelled ticks %v, want [0.0001 0.001 0.01 0.1]", labels)
	}
	// Less than a decade: 2 and 5 times the powers of ten are labelled too.
	var short []string
	for _, tk := range (logTicks{}).Ticks(0.0015, 0.006) {
		if tk.Label != "" {
			short = append(short, tk.Label)
		}
	}
	if strings.Join(short, " ") != "0.002 0.005" {
		t.Errorf("short range labels %v, want [0.002 0.005]", short)
	}
}

// TestTitlesCentredOverData: in results.png every panel's title sits at the same place relative
// to its x axis (within 3 pixels; centred over the whole tile they were 20 to 30 pixels left of
// it, depending on the width of the tick labels).
func TestTitlesCentredOverData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.png")
	if err := WriteTrainingCurves(path, sampleEpochs(30)); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, CurvesWidth, CurvesHeight)
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r>>8 < 100 && g>>8 < 100 && b>>8 < 100
	}
	third := CurvesWidth / 3
	var offsets []int
	for panel := range 3 {
		x0, x1 := panel*third, (panel+1)*third
		tl, tr := x1, x0 // title extent: dark pixels in the top 30 rows
		for y := 0; y < 30; y++ {
			for x := x0; x < x1; x++ {
				if dark(x, y) {
					tl, tr = min(tl, x), max(tr, x)
				}
			}
		}
		// The x axis: the lowest row holding a long dark horizontal run.
		al, ar := 0, 0
		for y := CurvesHeight - 1; y > CurvesHeight/2 && ar-al < 200; y-- {
			al, ar = x1, x0
			for x := x0; x < x1; x++ {
				if dark(x, y) && dark(x+1, y) && dark(x+2, y) {
					al, ar = min(al, x), max(ar, x+2)
				}
			}
		}
		offsets = append(offsets, (tl+tr)/2-(al+ar)/2)
	}
	if slices.Max(offsets)-slices.Min(offsets) > 3 || abs(offsets[0]) > 10 {
		t.Errorf("title centre minus x axis centre per panel: %v pixels", offsets)
	}
}
