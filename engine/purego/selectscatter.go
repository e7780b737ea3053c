package purego

import (
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// SelectAndScatterMax is the gradient of a max pooling: each window of operand
// passes its source value to its (first) largest element.
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	out, err := b.selectAndScatter(operand, source, windowDimensions, windowStrides, paddings, true)
	if err != nil {
		return nil, wrapOpError("SelectAndScatterMax", err)
	}
	return out, nil
}

// SelectAndScatterMin is the gradient of a min pooling: each window of operand
// passes its source value to its (first) smallest element.
func (b *Builder) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	out, err := b.selectAndScatter(operand, source, windowDimensions, windowStrides, paddings, false)
	if err != nil {
		return nil, wrapOpError("SelectAndScatterMin", err)
	}
	return out, nil
}

// selectAndScatter works window offset by window offset: the strided slice of
// the padded operand at each offset holds one candidate per window; the first
// candidate equal to the window's extreme takes the window's source value, which
// is then placed back at the candidate's positions with an interior Pad.
func (b *Builder) selectAndScatter(operand, source backends.Op, window, strides []int, paddings [][2]int, isMax bool) (backends.Op, error) {
	c := b.composer()
	shape := c.shape(operand)
	srcShape := c.shape(source)
	if c.err != nil {
		return nil, c.err
	}
	rank := shape.Rank()
	if len(window) != rank || (len(strides) != 0 && len(strides) != rank) || (len(paddings) != 0 && len(paddings) != rank) {
		c.fail("window %v, strides %v and paddings %v must have one value per axis of rank %d", window, strides, paddings, rank)
		return nil, c.err
	}
	if len(strides) == 0 {
		strides = window
	}
	if len(paddings) == 0 {
		paddings = make([][2]int, rank)
	}
	if b.useKernels(shape.DType) {
		if plan, ok := planWindow(shape.Dimensions, window, strides, paddings); ok {
			run := selectScatterRun[float32](plan, isMax)
			if shape.DType == dtypes.Float64 {
				run = selectScatterRun[float64](plan, isMax)
			}
			return b.custom("SelectAndScatter", shape, run, operand, source)
		}
	}
	padCfg := make([]backends.PadAxis, rank)
	padded := slices.Clone(shape.Dimensions)
	for axis := range rank {
		padCfg[axis] = backends.PadAxis{Start: paddings[axis][0], End: paddings[axis][1]}
		padded[axis] += paddings[axis][0] + paddings[axis][1]
	}
	extreme := dtypes.DType.LowestValue
	if !isMax {
		extreme = dtypes.DType.HighestValue
	}
	x, err := b.Pad(operand, c.scalarValue(shape.DType, extreme(shape.DType)), padCfg...)
	c.keep(x, err)

	offsets := windowOffsets(window)
	candidates := make([]backends.Op, len(offsets))
	var best backends.Op
	for i, off := range offsets {
		candidates[i] = c.strided(x, off, strides, srcShape.Dimensions)
		switch {
		case best == nil:
			best = candidates[i]
		case isMax:
			best = c.keep(c.b.Max(best, candidates[i]))
		default:
			best = c.keep(c.b.Min(best, candidates[i]))
		}
	}
	zeros := c.filled(srcShape, 0)
	zero := c.scalar(shape.DType, 0)
	var taken, total backends.Op
	for i, off := range offsets {
		selected := c.equal(candidates[i], best)
		if taken != nil {
			selected = c.and(selected, c.not(taken))
			taken = c.or(taken, selected)
		} else {
			taken = selected
		}
		contribution := c.where(selected, source, zeros)
		placed := c.placeStrided(contribution, zero, off, strides, padded)
		if total == nil {
			total = placed
		} else {
			total = c.add(total, placed)
		}
	}
	for axis := range rank {
		padCfg[axis] = backends.PadAxis{Start: -paddings[axis][0], End: -paddings[axis][1]}
	}
	if c.err != nil {
		return nil, c.err
	}
	return b.Pad(total, zero, padCfg...)
}

// strided slices count[i] elements of x starting at start[i] with stride[i].
func (c *composer) strided(x backends.Op, start, stride, count []int) backends.Op {
	limits := make([]int, len(start))
	for i := range start {
		limits[i] = start[i] + (count[i]-1)*stride[i] + 1
	}
	return c.slice(x, start, limits, stride)
}

// placeStrided is the inverse of strided: it returns a tensor of dimensions dims
// holding y at positions start + i*stride and fill elsewhere.
func (c *composer) placeStrided(y, fill backends.Op, start, stride, dims []int) backends.Op {
	shape := c.shape(y)
	if c.err != nil {
		return nil
	}
	cfg := make([]backends.PadAxis, len(dims))
	for i := range dims {
		extent := (shape.Dimensions[i]-1)*stride[i] + 1
		cfg[i] = backends.PadAxis{Start: start[i], End: dims[i] - start[i] - extent, Interior: stride[i] - 1}
	}
	for axis, a := range cfg {
		y = c.padInterior(y, fill, axis, a.Interior)
		y = c.padEnds(y, fill, axis, a.Start, a.End)
	}
	return y
}

// windowOffsets lists all multi-indices within window, in row-major order.
func windowOffsets(window []int) [][]int {
	offsets := [][]int{make([]int, len(window))}
	for axis, n := range window {
		next := make([][]int, 0, len(offsets)*n)
		for _, o := range offsets {
			for i := range n {
				o2 := slices.Clone(o)
				o2[axis] = i
				next = append(next, o2)
			}
		}
		offsets = next
	}
	return offsets
}

// scalarValue returns a scalar constant holding v, a Go value of dtype's type.
func (c *composer) scalarValue(dtype dtypes.DType, v any) backends.Op {
	if c.err != nil {
		return nil
	}
	flat := reflect.MakeSlice(reflect.SliceOf(dtype.GoType()), 1, 1)
	flat.Index(0).Set(reflect.ValueOf(v))
	return c.keep(c.b.Constant(flat.Interface()))
}

func selectScatterRun[T float](plan windowPlan, isMax bool) func(ins []any, out any) {
	return func(ins []any, out any) { selectAndScatterKernel(ins[0].([]T), ins[1].([]T), out.([]T), plan, isMax) }
}
