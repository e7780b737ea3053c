package purego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Graph nodes for the batch normalization kernels (float32 and float64).

func layoutOf(shape shapes.Shape, featureAxis int) bnLayout {
	l := bnLayout{outer: 1, c: shape.Dimensions[featureAxis], inner: 1}
	for i, d := range shape.Dimensions {
		if i < featureAxis {
			l.outer *= d
		} else if i > featureAxis {
			l.inner *= d
		}
	}
	return l
}

// splitPair returns the two rows of a [2, c] tensor as [c] tensors.
func (c *composer) splitPair(pair backends.Op, n int) (backends.Op, backends.Op) {
	first := c.reshape(c.slice(pair, []int{0, 0}, []int{1, n}, nil), n)
	second := c.reshape(c.slice(pair, []int{1, 0}, []int{2, n}, nil), n)
	return first, second
}

func (c *composer) bnTrainingKernels(x, scale, offset backends.Op, eps float64, shape shapes.Shape, l bnLayout) (y, mean, variance backends.Op) {
	var stats, apply func(ins []any, out any)
	if shape.DType == dtypes.Float32 {
		stats, apply = bnForwardRuns[float32](eps, l)
	} else {
		stats, apply = bnForwardRuns[float64](eps, l)
	}
	pair := c.keep(c.b.custom("BatchNormStats", shapes.Make(shape.DType, 2, l.c), stats, x))
	mean, variance = c.splitPair(pair, l.c)
	y = c.keep(c.b.custom("BatchNormApply", shape, apply, x, scale, offset, mean, variance))
	return y, mean, variance
}

func (c *composer) bnInferenceKernel(x, scale, offset, mean, variance backends.Op, eps float64, shape shapes.Shape, l bnLayout) backends.Op {
	var apply func(ins []any, out any)
	if shape.DType == dtypes.Float32 {
		_, apply = bnForwardRuns[float32](eps, l)
	} else {
		_, apply = bnForwardRuns[float64](eps, l)
	}
	return c.keep(c.b.custom("BatchNormApply", shape, apply, x, scale, offset, mean, variance))
}

func bnForwardRuns[T float](eps float64, l bnLayout) (stats, apply func(ins []any, out any)) {
	stats = func(ins []any, out any) { bnStats(ins[0].([]T), l, out.([]T)) }
	apply = func(ins []any, out any) {
		bnApply(ins[0].([]T), ins[1].([]T), ins[2].([]T), ins[3].([]T), ins[4].([]T), eps, l, out.([]T))
	}
	return stats, apply
}

func (c *composer) bnGradientKernels(x, scale, mean, variance, dy backends.Op, eps float64, shape shapes.Shape, l bnLayout) (dx, dScale, dOffset backends.Op) {
	var sums, input func(ins []any, out any)
	if shape.DType == dtypes.Float32 {
		sums, input = bnGradientRuns[float32](eps, l)
	} else {
		sums, input = bnGradientRuns[float64](eps, l)
	}
	pair := c.keep(c.b.custom("BatchNormGradSums", shapes.Make(shape.DType, 2, l.c), sums, x, mean, variance, dy))
	dOffset, dScale = c.splitPair(pair, l.c)
	dx = c.keep(c.b.custom("BatchNormGradInput", shape, input, x, scale, mean, variance, dy, pair))
	return dx, dScale, dOffset
}

func bnGradientRuns[T float](eps float64, l bnLayout) (sums, input func(ins []any, out any)) {
	sums = func(ins []any, out any) {
		bnGradSums(ins[0].([]T), ins[1].([]T), ins[2].([]T), ins[3].([]T), eps, l, out.([]T))
	}
	input = func(ins []any, out any) {
		bnGradInput(ins[0].([]T), ins[1].([]T), ins[2].([]T), ins[3].([]T), ins[4].([]T), ins[5].([]T), eps, l, out.([]T))
	}
	return sums, input
}
