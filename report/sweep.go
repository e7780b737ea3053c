package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"github.com/bonsai-ml/bonsai/prune"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Pruning sweep plot size in pixels.
const (
	sweepWidth  = 900
	sweepHeight = 560
)

// WriteSweepPlot draws a pruning sweep (sweep.png): parameters, FLOPs and file size kept (and accuracy, with the unpruned
// accuracy as a dashed line, when measured) against the threshold, atomically.
func WriteSweepPlot(path string, original prune.SweepPoint, points []prune.SweepPoint) error {
	if len(points) == 0 {
		return fmt.Errorf("writing %s: no thresholds to plot", path)
	}
	p := plot.New()
	p.Title.Text = "Pruning sweep (before retraining)"
	p.X.Label.Text = "pruning threshold (-pth)"
	p.Y.Label.Text = "kept / unpruned, and accuracy"
	p.Y.Min, p.Y.Max = 0, 1.4 // the legend sits above 1
	var ticks plot.ConstantTicks
	for v := 0; v <= 10; v += 2 {
		ticks = append(ticks, plot.Tick{Value: float64(v) / 10, Label: strconv.FormatFloat(float64(v)/10, 'g', -1, 64)})
	}
	p.Y.Tick.Marker = ticks
	lo, hi := points[0].Threshold, points[len(points)-1].Threshold
	pad := math.Max(0.02, 0.03*(hi-lo))
	p.X.Min, p.X.Max = lo-pad, hi+pad
	p.Add(plotter.NewGrid())
	curves := []struct {
		name  string
		color color.Color
		value func(prune.SweepPoint) float64
	}{
		{"parameters kept", color.RGBA{0x1f, 0x77, 0xb4, 0xff}, func(s prune.SweepPoint) float64 { return s.ParamRatio }},
		{"FLOPs kept", color.RGBA{0xff, 0x7f, 0x0e, 0xff}, func(s prune.SweepPoint) float64 { return s.FLOPsRatio }},
		{"file size kept", color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, func(s prune.SweepPoint) float64 { return s.FileRatio }},
		{"accuracy", color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, func(s prune.SweepPoint) float64 { return s.Accuracy }},
	}
	for _, c := range curves {
		var xys plotter.XYs
		for _, s := range points {
			if v := c.value(s); !math.IsNaN(v) {
				xys = append(xys, plotter.XY{X: s.Threshold, Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, dots, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		line.Color, line.Width = c.color, vg.Points(1.5)
		dots.Color, dots.Shape, dots.Radius = c.color, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(line, dots)
		p.Legend.Add(c.name, line, dots)
	}
	if !math.IsNaN(original.Accuracy) {
		ref, err := plotter.NewLine(plotter.XYs{{X: points[0].Threshold, Y: original.Accuracy}, {X: points[len(points)-1].Threshold, Y: original.Accuracy}})
		if err == nil {
			ref.Color, ref.Dashes = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ref)
			p.Legend.Add("accuracy unpruned", ref)
		}
	}
	p.Legend.Left, p.Legend.Top = false, true
	return WritePlot(path, p, sweepWidth, sweepHeight)
}
