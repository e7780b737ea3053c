package report

import (
	"fmt"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ConfusionSize is the side in pixels of a confusion matrix PNG for n classes: 600 up to 10
// classes, then 40 more per class.
func ConfusionSize(n int) int { return 600 + 40*max(0, n-10) }

// WriteConfusionMatrix draws the confusion matrix (rows = true class, columns = predicted) as a
// heatmap with class names and the count in each cell. With normalize, each row is divided by
// its total (recall on the diagonal) and cells show two decimals; an empty row stays 0.
func WriteConfusionMatrix(path string, classes []string, cm [][]int, normalize bool) error {
	png, err := ConfusionMatrixPNG(classes, cm, normalize)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, png)
}

// ConfusionMatrixPNG draws the confusion matrix as WriteConfusionMatrix does and returns the PNG.
func ConfusionMatrixPNG(classes []string, cm [][]int, normalize bool) ([]byte, error) {
	if err := checkMatrix(classes, cm); err != nil {
		return nil, err
	}
	grid := newMatrixGrid(cm, normalize)
	p := plot.New()
	p.Title.Text = "Confusion matrix"
	if normalize {
		p.Title.Text += " (normalised by row)"
	}
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text, p.Y.Label.Text = "Predicted", "True"
	heat := plotter.NewHeatMap(grid, bluePalette{})
	heat.Min, heat.Max = 0, math.Max(grid.max, 1e-12)
	if normalize {
		heat.Max = 1 // the same scale for every normalised matrix
	}
	p.Add(heat)
	labels, err := cellLabels(grid, normalize)
	if err != nil {
		return nil, err
	}
	p.Add(labels)
	n := len(classes)
	p.X.Tick.Marker = classTicks(classes, false)
	p.Y.Tick.Marker = classTicks(classes, true)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	size := ConfusionSize(n)
	return encodePNG(drawPlot(p, size, size))
}

// checkMatrix requires a square matrix with one row per class and no negative counts.
func checkMatrix(classes []string, cm [][]int) error {
	if len(classes) == 0 || len(cm) != len(classes) {
		return fmt.Errorf("confusion matrix has %d rows for %d classes", len(cm), len(classes))
	}
	for i, row := range cm {
		if len(row) != len(classes) {
			return fmt.Errorf("confusion matrix row %d has %d columns for %d classes", i, len(row), len(classes))
		}
		for _, v := range row {
			if v < 0 {
				return fmt.Errorf("confusion matrix row %d has a negative count %d", i, v)
			}
		}
	}
	return nil
}

// matrixGrid is a confusion matrix as gonum's GridXYZ: column c at x = c, true class r drawn
// at y = n-1-r so that the first class is the top row.
type matrixGrid struct {
	values [][]float64
	max    float64
}

func newMatrixGrid(cm [][]int, normalize bool) *matrixGrid {
	g := &matrixGrid{values: make([][]float64, len(cm))}
	for i, row := range cm {
		total := 0
		for _, v := range row {
			total += v
		}
		g.values[i] = make([]float64, len(row))
		for j, v := range row {
			x := float64(v)
			if normalize {
				x = 0
				if total > 0 {
					x = float64(v) / float64(total)
				}
			}
			g.values[i][j] = x
			g.max = math.Max(g.max, x)
		}
	}
	return g
}

func (g *matrixGrid) Dims() (c, r int)   { return len(g.values), len(g.values) }
func (g *matrixGrid) Z(c, r int) float64 { return g.values[len(g.values)-1-r][c] }
func (g *matrixGrid) X(c int) float64    { return float64(c) }
func (g *matrixGrid) Y(r int) float64    { return float64(r) }

// cellLabels writes each cell's value at its centre, white on dark cells.
func cellLabels(g *matrixGrid, normalize bool) (*plotter.Labels, error) {
	n := len(g.values)
	var xys plotter.XYs
	var strs []string
	var styles []text.Style
	size := vg.Points(math.Max(6, math.Min(12, 160/float64(n))))
	for r := range n {
		for c := range n {
			v := g.Z(c, r)
			label := strconv.Itoa(int(v))
			if normalize {
				label = strconv.FormatFloat(v, 'f', 2, 64)
			}
			ink := color.Color(color.Black)
			if g.max > 0 && v/g.max > 0.5 {
				ink = color.White
			}
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
			strs = append(strs, label)
			styles = append(styles, text.Style{
				Color: ink, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler,
				XAlign: draw.XCenter, YAlign: draw.YCenter,
			})
		}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: strs})
	if err != nil {
		return nil, fmt.Errorf("labelling cells: %w", err)
	}
	l.TextStyle = styles
	return l, nil
}

// classTicks puts class names at integer positions; on the y axis the first class is on top.
func classTicks(classes []string, flip bool) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(classes))
	for i, name := range classes {
		pos := i
		if flip {
			pos = len(classes) - 1 - i
		}
		ticks[i] = plot.Tick{Value: float64(pos), Label: name}
	}
	return ticks
}

// bluePalette runs from white to dark blue (ColorBrewer's "Blues" end points), smoothly.
type bluePalette struct{}

func (bluePalette) Colors() []color.Color {
	const steps = 256
	from := [3]float64{0xf7, 0xfb, 0xff}
	mid := [3]float64{0x6b, 0xae, 0xd6}
	to := [3]float64{0x08, 0x30, 0x6b}
	out := make([]color.Color, steps)
	for i := range out {
		t := float64(i) / (steps - 1)
		a, b, u := from, mid, 2*t
		if t > 0.5 {
			a, b, u = mid, to, 2*t-1
		}
		out[i] = color.RGBA{
			R: uint8(a[0] + (b[0]-a[0])*u), G: uint8(a[1] + (b[1]-a[1])*u), B: uint8(a[2] + (b[2]-a[2])*u), A: 0xff,
		}
	}
	return out
}
