package report

import (
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/prune"
)

// TestSweepCurvesAreDistinct: every curve has its own marker shape and line style, and
// "parameters kept" is drawn after (on top of) "file size kept", whose values it often shares.
func TestSweepCurvesAreDistinct(t *testing.T) {
	glyphs, dashes := map[string]bool{}, map[string]bool{}
	var order []string
	for _, c := range sweepCurves {
		glyphs[fmt.Sprintf("%T", c.glyph)] = true
		dashes[fmt.Sprint(c.dashes)] = true
		order = append(order, c.name)
	}
	if len(glyphs) != len(sweepCurves) || len(dashes) != len(sweepCurves) {
		t.Errorf("%d curves share markers (%d kinds) or line styles (%d kinds)", len(sweepCurves), len(glyphs), len(dashes))
	}
	if slices.Index(order, "parameters kept") < slices.Index(order, "file size kept") {
		t.Errorf("draw order %v hides parameters kept under file size kept", order)
	}
}

// TestSweepLegendBesideData: the legend is drawn in the strip right of the plot, so the top right
// of the data area (where it used to cover curves near 1) shows no legend colours, and the strip
// shows every curve's colour.
func TestSweepLegendBesideData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep.png")
	orig := prune.SweepPoint{ParamRatio: 1, FLOPsRatio: 1, FileRatio: 1, Accuracy: 0.8}
	var pts []prune.SweepPoint
	for i, th := range []float64{0.1, 0.5, 0.9} {
		r := 1 - 0.3*float64(i)
		pts = append(pts, prune.SweepPoint{Threshold: th, ParamRatio: r * r, FLOPsRatio: r, FileRatio: r * r, Accuracy: 0.8 - 0.1*float64(i)})
	}
	if err := WriteSweepPlot(path, orig, pts); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, sweepWidth, sweepHeight)
	strip := image.Rect(sweepWidth-sweepLegendWidth, 0, sweepWidth, sweepHeight/2)
	for _, c := range sweepCurves {
		if colourPixels(img, strip, c.color) == 0 {
			t.Errorf("legend strip lacks %s's colour", c.name)
		}
	}
	// The data area's top right corner, below the title: the FLOPs curve passes there at 1.0
	// only on the left, so nothing orange may appear at its right end.
	corner := image.Rect(sweepWidth-sweepLegendWidth-150, 40, sweepWidth-sweepLegendWidth-20, 120)
	if n := colourPixels(img, corner, sweepCurves[1].color); n > 0 {
		t.Errorf("%d orange pixels in the data area's top right corner: the legend covers data", n)
	}
}

func colourPixels(img image.Image, r image.Rectangle, c interface{ RGBA() (r, g, b, a uint32) }) int {
	cr, cg, cb, _ := c.RGBA()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near8(pr, cr) && near8(pg, cg) && near8(pb, cb) {
				n++
			}
		}
	}
	return n
}

func near8(a, b uint32) bool { return max(a>>8, b>>8)-min(a>>8, b>>8) <= 12 }
