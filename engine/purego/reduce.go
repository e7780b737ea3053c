package purego

import (
	"runtime"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// ReduceSum sums x over axes. When the axes form one contiguous block of a large float tensor
// (the batch and spatial axes of a bias or batch-norm gradient, the spatial axes of a global
// average pool), a parallel kernel adds whole rows; it adds in SimpleGo's order (row-major,
// starting from zero), so the result is bit for bit SimpleGo's. Other cases are SimpleGo's.
func (b *Builder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	axes = slices.Clone(axes)
	v, err := b.value("ReduceSum", x)
	if err != nil {
		return nil, err
	}
	dims := v.shape.Dimensions
	outer, middle, inner, ok := reduceBlock(dims, axes)
	if !b.useKernels(v.shape.DType) || !ok || v.shape.Size() < minParallelElements {
		outs, err := b.record("ReduceSum", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
			op, err := sb.ReduceSum(in[0], axes...)
			return []backends.Op{op}, err
		})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	outDims := append(slices.Clone(dims[:axes[0]]), dims[axes[len(axes)-1]+1:]...)
	var run func(ins []any, out any)
	if v.shape.DType == dtypes.Float32 {
		run = reduceRowsRun[float32](outer, middle, inner)
	} else {
		run = reduceRowsRun[float64](outer, middle, inner)
	}
	return b.custom("ReduceSum", shapes.Make(v.shape.DType, outDims...), run, x)
}

// reduceBlock splits dims into [outer, middle, inner] when axes (ascending, no repeats) are one
// contiguous block: middle is what is summed.
func reduceBlock(dims, axes []int) (outer, middle, inner int, ok bool) {
	if len(axes) == 0 || axes[0] < 0 || axes[len(axes)-1] >= len(dims) {
		return 0, 0, 0, false
	}
	for i := 1; i < len(axes); i++ {
		if axes[i] != axes[i-1]+1 {
			return 0, 0, 0, false
		}
	}
	first, last := axes[0], axes[len(axes)-1]
	return prod(dims[:first]), prod(dims[first : last+1]), prod(dims[last+1:]), true
}

// reduceRowsRun sums x [outer, middle, inner] over middle: each output element adds its middle
// values in order, as SimpleGo does; work is split over outer and column ranges, never over
// middle.
func reduceRowsRun[T float](outer, middle, inner int) func(ins []any, out any) {
	const minColumns = 64
	chunks := max(1, min((inner+minColumns-1)/minColumns, (2*runtime.GOMAXPROCS(0)+outer-1)/outer))
	width := (inner + chunks - 1) / chunks
	return func(ins []any, out any) {
		x, o := ins[0].([]T), out.([]T)
		parallelRows(outer*chunks, func(start, end int) {
			for task := start; task < end; task++ {
				row, chunk := task/chunks, task%chunks
				lo, hi := chunk*width, min((chunk+1)*width, inner)
				if lo >= hi {
					continue
				}
				dst := o[row*inner+lo : row*inner+hi]
				clear(dst)
				for m := range middle {
					src := x[(row*middle+m)*inner+lo : (row*middle+m)*inner+hi]
					for j, s := range src {
						dst[j] += s
					}
				}
			}
		})
	}
}
