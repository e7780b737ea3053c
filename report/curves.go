// Package report owns Bonsai's pictures of a run: training curves (results.png) and confusion
// matrix heatmaps, drawn as PNG with gonum/plot and no external service, and a self-contained
// HTML page that gathers them with the evaluation tables.
//
// Missing values (NaN or Inf, e.g. val_loss before the first validation) leave a gap in a curve;
// a run of one epoch is drawn as single points.
package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/results"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of results.png in pixels: three panels side by side.
const (
	CurvesWidth  = 1500
	CurvesHeight = 450
	dpi          = 100
)

// Series colours: training solid blue, validation orange (matplotlib's first two).
var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	valColor   = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// series is one named curve of a panel.
type series struct {
	name  string
	color color.Color
	value func(results.Epoch) float64
}

// WriteTrainingCurves draws loss/val_loss, acc/val_acc and lr per epoch into a PNG at path
// (results.png by convention), atomically. The learning rate is on a log axis, so that TAO's
// exponential decays show as lines; an epoch whose lr is 0 leaves a gap there.
func WriteTrainingCurves(path string, epochs []results.Epoch) error {
	if len(epochs) == 0 {
		return fmt.Errorf("writing %s: no epochs to plot", path)
	}
	panels := []*plot.Plot{
		curvePanel("Loss", epochs, []series{
			{"loss", trainColor, func(e results.Epoch) float64 { return e.Loss }},
			{"val_loss", valColor, func(e results.Epoch) float64 { return e.ValLoss }},
		}, false),
		curvePanel("Accuracy", epochs, []series{
			{"acc", trainColor, func(e results.Epoch) float64 { return e.Acc }},
			{"val_acc", valColor, func(e results.Epoch) float64 { return e.ValAcc }},
		}, false),
		curvePanel("Learning rate (log scale)", epochs, []series{
			{"lr", trainColor, func(e results.Epoch) float64 { return e.LR }},
		}, true),
	}
	img := vgimg.NewWith(vgimg.UseWH(pixels(CurvesWidth), pixels(CurvesHeight)), vgimg.UseDPI(dpi))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		drawTitledOverData(p, canvases[0][i])
	}
	return writePNG(path, img)
}

// drawTitledOverData draws p with its title centred over the data area rather than over the
// whole canvas, where tick labels of different widths (0.0008 against 0.9) would shift each
// panel's title by a different amount.
func drawTitledOverData(p *plot.Plot, c draw.Canvas) {
	style := p.Title.TextStyle
	p.Title.TextStyle.Color = color.Transparent // keeps the title's room in the layout
	p.Draw(c)
	p.Title.TextStyle = style
	if p.Title.Text == "" {
		return
	}
	da := p.DataCanvas(c)
	c.FillText(style, vg.Point{X: da.Center().X, Y: c.Max.Y + style.FontExtents().Descent}, p.Title.Text)
}

// pixels converts a pixel count to a vg length at the package's DPI.
func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// curvePanel plots the series against the epoch number, one segment per run of finite values
// (positive ones on a log axis).
func curvePanel(title string, epochs []results.Epoch, all []series, logY bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = "epoch"
	p.X.Tick.Marker = epochTicks{}
	p.Add(plotter.NewGrid())
	var finite []float64 // every plotted value, for the y range
	var last []float64   // each series' last value, for the legend position
	for _, s := range all {
		value := s.value
		if logY {
			value = func(e results.Epoch) float64 {
				if v := s.value(e); v > 0 {
					return v
				}
				return math.NaN()
			}
		}
		runs := finiteRuns(epochs, value)
		for i, run := range runs {
			line, points, err := plotter.NewLinePoints(run)
			if err != nil {
				continue // cannot happen: runs hold finite values only
			}
			line.Color, line.Width = s.color, vg.Points(1.5)
			points.Color, points.Shape, points.Radius = s.color, draw.CircleGlyph{}, vg.Points(2)
			p.Add(line, points)
			if i == 0 {
				p.Legend.Add(s.name, line, points)
			}
			for _, xy := range run {
				finite = append(finite, xy.Y)
			}
		}
		if len(runs) > 0 {
			lastRun := runs[len(runs)-1]
			last = append(last, lastRun[len(lastRun)-1].Y)
		}
	}
	if logY && len(finite) > 0 {
		setLogRange(p, epochs, finite, last)
		return p
	}
	setRanges(p, epochs, finite, last)
	return p
}

// setLogRange is setRanges on a log axis: the range padded by a factor, a decade around a
// constant series, ticks at powers of ten (and 2 and 5 times them when the range is short).
func setLogRange(p *plot.Plot, epochs []results.Epoch, finite, last []float64) {
	setXRange(p, epochs)
	lo, hi := finite[0], finite[0]
	for _, v := range finite {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	pad := math.Pow(hi/lo, 0.06)
	if hi == lo {
		pad = math.Sqrt(10)
	}
	p.Y.Min, p.Y.Max = lo/pad, hi*pad
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	upper := 0
	for _, v := range last {
		if v > math.Sqrt(lo*hi) {
			upper++
		}
	}
	p.Legend.Top = 2*upper < len(last)
}

// logTicks labels powers of ten, and 2 and 5 times them when fewer than two powers of ten fall
// in the range; minor ticks mark the other multiples.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	powers := 0
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		if v := math.Pow(10, e); v >= min && v <= max {
			powers++
		}
	}
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (powers < 2 && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// setRanges pads the axes around the data, so that points do not sit on the frame and a
// constant series gets a readable scale, and moves the legend away from where curves end.
func setRanges(p *plot.Plot, epochs []results.Epoch, finite, last []float64) {
	setXRange(p, epochs)
	if len(finite) == 0 {
		return
	}
	lo, hi := finite[0], finite[0]
	for _, v := range finite {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	ypad := 0.06 * (hi - lo)
	if ypad == 0 {
		ypad = math.Max(0.1*math.Abs(hi), 1e-3)
	}
	p.Y.Min, p.Y.Max = lo-ypad, hi+ypad
	upper := 0
	for _, v := range last {
		if v > (lo+hi)/2 {
			upper++
		}
	}
	p.Legend.Top = 2*upper < len(last) // curves end low: legend at the top
}

// setXRange pads the epoch axis by half an epoch (or 2% of a long run) on each side.
func setXRange(p *plot.Plot, epochs []results.Epoch) {
	first, final := epochs[0].Epoch, epochs[len(epochs)-1].Epoch
	xpad := math.Max(0.5, 0.02*float64(final-first))
	p.X.Min, p.X.Max = float64(first)-xpad, float64(final)+xpad
}

// finiteRuns splits a series into runs of consecutive epochs with finite values.
func finiteRuns(epochs []results.Epoch, value func(results.Epoch) float64) []plotter.XYs {
	var runs []plotter.XYs
	var cur plotter.XYs
	for _, e := range epochs {
		v := value(e)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if len(cur) > 0 {
				runs = append(runs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: float64(e.Epoch), Y: v})
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}

// epochTicks puts labelled ticks on whole epochs only, every 1, 2, 5, 10, 20, 50, ... epochs.
type epochTicks struct{}

func (epochTicks) Ticks(min, max float64) []plot.Tick {
	step := 1.0
	for i := 0; (max-min)/step > 8; i++ {
		step *= []float64{2, 2.5, 2}[i%3] // 1, 2, 5, 10, 20, 50, ...
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ticks
}

// drawPlot draws p on a new width x height pixel canvas, with a 2 mm margin and the title
// centred over the data area.
func drawPlot(p *plot.Plot, width, height int) *vgimg.Canvas {
	img := vgimg.NewWith(vgimg.UseWH(pixels(width), pixels(height)), vgimg.UseDPI(dpi))
	m := 2 * vg.Millimeter
	drawTitledOverData(p, draw.Crop(draw.New(img), m, -m, m, -m))
	return img
}

// encodePNG is the canvas as PNG bytes.
func encodePNG(img *vgimg.Canvas) ([]byte, error) {
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return b.Bytes(), nil
}

// WritePlotLegendRight draws p as drawPlot does, with legend in a strip right of the plot
// (legendWidth pixels wide, entries from the top) so that it never covers data, and writes it
// as PNG, atomically (for pictures drawn outside this package, such as the pruning sweep).
func WritePlotLegendRight(path string, p *plot.Plot, legend plot.Legend, width, height, legendWidth int) error {
	img := vgimg.NewWith(vgimg.UseWH(pixels(width), pixels(height)), vgimg.UseDPI(dpi))
	m := 2 * vg.Millimeter
	c := draw.Crop(draw.New(img), m, -m, m, -m)
	strip := pixels(legendWidth)
	drawTitledOverData(p, draw.Crop(c, 0, -strip, 0, 0))
	legend.Top, legend.Left = true, true
	da := p.DataCanvas(draw.Crop(c, 0, -strip, 0, 0))
	lc := c
	lc.Min.X, lc.Max.Y = c.Max.X-strip+m, da.Max.Y // beside the data area, level with its top
	legend.Draw(lc)
	return writePNG(path, img)
}

// writePNG encodes the canvas as PNG and writes it atomically.
func writePNG(path string, img *vgimg.Canvas) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// writeCurvesFromCSV reads a training.csv and draws its curves into pngPath (results.png).
func writeCurvesFromCSV(csvPath, pngPath string) error {
	epochs, err := results.ReadTrainingCSV(csvPath)
	if err != nil {
		return err
	}
	if len(epochs) == 0 {
		return fmt.Errorf("training log %s has no epochs yet", csvPath)
	}
	return WriteTrainingCurves(pngPath, epochs)
}
