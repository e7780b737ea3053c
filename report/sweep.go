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

// Sweep plot size in pixels, and the legend's strip on the right.
const (
	sweepWidth       = 980
	sweepHeight      = 560
	sweepLegendWidth = 170
)

// sweepCurve is one line of the sweep plot.
type sweepCurve struct {
	name   string
	color  color.Color
	dashes []vg.Length
	glyph  draw.GlyphDrawer
	radius vg.Length
	value  func(prune.SweepPoint) float64
}

// sweepCurves are drawn in this order, so that "parameters kept" (small filled circles, solid)
// lies on top of "file size kept" (large rings, dotted), which often has the same values.
var sweepCurves = []sweepCurve{
	{"file size kept", color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, []vg.Length{vg.Points(1), vg.Points(3)}, draw.RingGlyph{}, vg.Points(5),
		func(s prune.SweepPoint) float64 { return s.FileRatio }},
	{"FLOPs kept", color.RGBA{0xff, 0x7f, 0x0e, 0xff}, []vg.Length{vg.Points(6), vg.Points(3)}, draw.BoxGlyph{}, vg.Points(3),
		func(s prune.SweepPoint) float64 { return s.FLOPsRatio }},
	{"parameters kept", color.RGBA{0x1f, 0x77, 0xb4, 0xff}, nil, draw.CircleGlyph{}, vg.Points(2.5),
		func(s prune.SweepPoint) float64 { return s.ParamRatio }},
	{"accuracy", color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1), vg.Points(2)}, draw.TriangleGlyph{}, vg.Points(3.5),
		func(s prune.SweepPoint) float64 { return s.Accuracy }},
}

// WriteSweepPlot draws a pruning sweep (sweep.png): parameters, FLOPs and file size kept (and accuracy, with the unpruned
// accuracy as a thin dashed line, when measured) against the threshold, atomically. Each curve
// has its own marker and line style; the legend sits right of the plot.
func WriteSweepPlot(path string, original prune.SweepPoint, points []prune.SweepPoint) error {
	if len(points) == 0 {
		return fmt.Errorf("writing %s: no thresholds to plot", path)
	}
	p := plot.New()
	p.Title.Text = "Pruning sweep (before retraining)"
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = "pruning threshold (-pth)"
	p.Y.Label.Text = "kept / unpruned, and accuracy"
	lo, hi := points[0].Threshold, points[len(points)-1].Threshold
	pad := math.Max(0.02, 0.03*(hi-lo))
	p.X.Min, p.X.Max = lo-pad, hi+pad
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.Padding = vg.Points(3)
	top := 1.0
	for _, c := range sweepCurves {
		var xys plotter.XYs
		for _, s := range points {
			if v := c.value(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xys = append(xys, plotter.XY{X: s.Threshold, Y: v})
				top = math.Max(top, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, dots, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		line.Color, line.Width, line.Dashes = c.color, vg.Points(1.5), c.dashes
		dots.Color, dots.Shape, dots.Radius = c.color, c.glyph, c.radius
		p.Add(line, dots)
		legend.Add(c.name, line, dots)
	}
	if !math.IsNaN(original.Accuracy) {
		ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: original.Accuracy}, {X: p.X.Max, Y: original.Accuracy}})
		if err == nil {
			ref.Color, ref.Width, ref.Dashes = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, vg.Points(0.75), []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(ref)
			legend.Add("accuracy unpruned", ref)
		}
	}
	p.Y.Min, p.Y.Max = 0, 1.04*top
	var ticks plot.ConstantTicks
	for v := 0; v <= int(10*top); v += 2 {
		ticks = append(ticks, plot.Tick{Value: float64(v) / 10, Label: strconv.FormatFloat(float64(v)/10, 'g', -1, 64)})
	}
	p.Y.Tick.Marker = ticks
	return WritePlotLegendRight(path, p, legend, sweepWidth, sweepHeight, sweepLegendWidth)
}
