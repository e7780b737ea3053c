package purego

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// maxComposedWindow is the largest window ReduceWindow composes from slices;
// larger ones (and dilated ones) use SimpleGo's own ReduceWindow.
const maxComposedWindow = 64

// ReduceWindow reduces sliding windows of x. Small undilated windows (pooling)
// are computed as an elementwise reduction of one strided slice per window
// offset, which is much faster than SimpleGo's per-element window loop.
func (b *Builder) ReduceWindow(x backends.Op, reductionType backends.ReduceOpType,
	windowDimensions, strides, baseDilations, windowDilations []int, paddings [][2]int) (backends.Op, error) {
	if prod(windowDimensions) > maxComposedWindow || !allOnes(baseDilations) || !allOnes(windowDilations) ||
		reductionType == backends.ReduceOpUndefined {
		return b.simpleReduceWindow(x, reductionType, windowDimensions, strides, baseDilations, windowDilations, paddings)
	}
	c := b.composer()
	shape := c.shape(x)
	if c.err != nil {
		return nil, c.err
	}
	rank := shape.Rank()
	if len(windowDimensions) != rank || (len(strides) != 0 && len(strides) != rank) || (len(paddings) != 0 && len(paddings) != rank) {
		return b.simpleReduceWindow(x, reductionType, windowDimensions, strides, baseDilations, windowDilations, paddings)
	}
	if len(strides) == 0 {
		strides = windowDimensions
	}
	padCfg := make([]backends.PadAxis, rank)
	count := make([]int, rank)
	for axis := range rank {
		var pad [2]int
		if len(paddings) > 0 {
			pad = paddings[axis]
		}
		padCfg[axis] = backends.PadAxis{Start: pad[0], End: pad[1]}
		padded := shape.Dimensions[axis] + pad[0] + pad[1]
		if padded < windowDimensions[axis] {
			return b.simpleReduceWindow(x, reductionType, windowDimensions, strides, baseDilations, windowDilations, paddings)
		}
		count[axis] = (padded-windowDimensions[axis])/strides[axis] + 1
	}
	if b.useKernels(shape.DType) && reductionType != backends.ReduceOpProduct {
		fullPads := make([][2]int, rank)
		copy(fullPads, paddings)
		if plan, ok := planWindow(shape.Dimensions, windowDimensions, strides, fullPads); ok {
			run := reduceWindowRun[float32](plan, reductionType)
			if shape.DType == dtypes.Float64 {
				run = reduceWindowRun[float64](plan, reductionType)
			}
			return b.custom("ReduceWindow", shapes.Make(shape.DType, plan.outDims...), run, x)
		}
	}
	init, combine := c.reduction(reductionType, shape.DType)
	padded, err := b.Pad(x, init, padCfg...)
	c.keep(padded, err)
	var acc backends.Op
	for _, off := range windowOffsets(windowDimensions) {
		part := c.strided(padded, off, strides, count)
		if acc == nil {
			acc = part
		} else {
			acc = combine(acc, part)
		}
	}
	if c.err != nil {
		return nil, wrapOpError("ReduceWindow", c.err)
	}
	return acc, nil
}

func reduceWindowRun[T float](plan windowPlan, t backends.ReduceOpType) func(ins []any, out any) {
	op := windowSum
	switch t {
	case backends.ReduceOpMax:
		op = windowMax
	case backends.ReduceOpMin:
		op = windowMin
	}
	return func(ins []any, out any) { reduceWindowKernel(ins[0].([]T), out.([]T), plan, op) }
}

// reduction returns the identity element and the combining operation.
func (c *composer) reduction(t backends.ReduceOpType, dtype dtypes.DType) (backends.Op, func(x, y backends.Op) backends.Op) {
	binary := func(op func(x, y backends.Op) (backends.Op, error)) func(x, y backends.Op) backends.Op {
		return func(x, y backends.Op) backends.Op {
			if c.err != nil {
				return nil
			}
			return c.keep(op(x, y))
		}
	}
	switch t {
	case backends.ReduceOpMax:
		return c.scalarValue(dtype, dtype.LowestValue()), binary(c.b.Max)
	case backends.ReduceOpMin:
		return c.scalarValue(dtype, dtype.HighestValue()), binary(c.b.Min)
	case backends.ReduceOpProduct:
		return c.scalar(dtype, 1), binary(c.b.Mul)
	default:
		return c.scalar(dtype, 0), binary(c.b.Add)
	}
}

func allOnes(xs []int) bool {
	for _, x := range xs {
		if x != 1 {
			return false
		}
	}
	return true
}

// simpleReduceWindow records SimpleGo's ReduceWindow.
func (b *Builder) simpleReduceWindow(x backends.Op, reductionType backends.ReduceOpType,
	windowDimensions, strides, baseDilations, windowDilations []int, paddings [][2]int) (backends.Op, error) {
	windowDimensions, strides = slices.Clone(windowDimensions), slices.Clone(strides)
	baseDilations, windowDilations, paddings = slices.Clone(baseDilations), slices.Clone(windowDilations), slices.Clone(paddings)
	outs, err := b.record("ReduceWindow", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		op, err := sb.ReduceWindow(in[0], reductionType, windowDimensions, strides, baseDilations, windowDilations, paddings)
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}
