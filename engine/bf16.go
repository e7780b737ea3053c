package engine

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
)

// bf16Safe wraps an XLA backend so that bfloat16 graphs compile with GoMLX v0.26.0 and go-xla
// v0.1.4. GoMLX's XLA builder hands go-xla GoMLX's own []bfloat16.BFloat16 slices for the initial
// values of SelectAndScatter (the max-pool gradient) and of ArgMinMax, where go-xla expects its
// own bfloat16 type: go-xla takes the slice for uint16 and writes
// `dense<*don't know how to present data type*...> : tensor<ui16>`, which the CUDA plugin's
// StableHLO parser rejects ("expected element literal of primitive type"); ArgMinMax fails
// earlier with "Reduce requires the same dtype for initial values and inputs". The wrapper
// replaces those builder functions, and keeps every bfloat16 literal out of the program:
//
//   - Constant: a bfloat16 constant is built in float32 and converted (XLA folds the conversion);
//   - SelectAndScatterMax/Min, ReduceWindow and ReduceSum/Max/Min/Product run in float32 on
//     converted operands (their initial values are then float32 literals, and the sums
//     accumulate in float32), the result converted back to bfloat16;
//   - ArgMinMax converts the values to float32 first (the indices are the same).
//
// Everything else passes through unchanged, and float32 graphs are not touched. Open wraps every
// backend: on the pure-Go one the float32 accumulation matters too (SimpleGo sums bfloat16 in
// bfloat16, 6% off over 54 values in the tests). The tests run it on the pure-Go backend against
// a float32 reference and check the StableHLO text that GoMLX's XLA builder writes for a
// bfloat16 training step (xla_cgo_test.go).
type bf16Safe struct{ backends.Backend }

// wrapBF16Safe returns b wrapped (once).
func wrapBF16Safe(b backends.Backend) backends.Backend {
	if _, ok := b.(*bf16Safe); ok {
		return b
	}
	return &bf16Safe{Backend: b}
}

// Builder returns the wrapped backend's builder with the bfloat16 fixes.
func (b *bf16Safe) Builder(name string) backends.Builder {
	inner := b.Backend.Builder(name)
	if inner == nil {
		return nil
	}
	return &bf16SafeBuilder{Builder: inner}
}

type bf16SafeBuilder struct{ backends.Builder }

func (b *bf16SafeBuilder) Constant(flat any, dims ...int) (backends.Op, error) {
	bf, ok := flat.([]bfloat16.BFloat16)
	if !ok {
		return b.Builder.Constant(flat, dims...)
	}
	f32 := make([]float32, len(bf))
	for i, v := range bf {
		f32[i] = v.Float32()
	}
	op, err := b.Builder.Constant(f32, dims...)
	if err != nil {
		return nil, err
	}
	return b.Builder.ConvertDType(op, dtypes.BFloat16)
}

// isBF16 reports whether op is a bfloat16 value.
func (b *bf16SafeBuilder) isBF16(op backends.Op) bool {
	s, err := b.Builder.OpShape(op)
	return err == nil && s.DType == dtypes.BFloat16
}

// toF32 converts bfloat16 values to float32.
func (b *bf16SafeBuilder) toF32(ops ...backends.Op) ([]backends.Op, error) {
	out := make([]backends.Op, len(ops))
	for i, op := range ops {
		var err error
		if out[i], err = b.Builder.ConvertDType(op, dtypes.Float32); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type selectAndScatterFn func(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error)

// selectAndScatterF32 runs fn in float32 when the operand is bfloat16.
func (b *bf16SafeBuilder) selectAndScatterF32(fn selectAndScatterFn, operand, source backends.Op, win, strides []int, pads [][2]int) (backends.Op, error) {
	if !b.isBF16(operand) {
		return fn(operand, source, win, strides, pads)
	}
	ops, err := b.toF32(operand, source)
	if err != nil {
		return nil, err
	}
	y, err := fn(ops[0], ops[1], win, strides, pads)
	if err != nil {
		return nil, err
	}
	return b.Builder.ConvertDType(y, dtypes.BFloat16)
}

func (b *bf16SafeBuilder) SelectAndScatterMax(operand, source backends.Op, win, strides []int, pads [][2]int) (backends.Op, error) {
	return b.selectAndScatterF32(b.Builder.SelectAndScatterMax, operand, source, win, strides, pads)
}

func (b *bf16SafeBuilder) SelectAndScatterMin(operand, source backends.Op, win, strides []int, pads [][2]int) (backends.Op, error) {
	return b.selectAndScatterF32(b.Builder.SelectAndScatterMin, operand, source, win, strides, pads)
}

func (b *bf16SafeBuilder) ArgMinMax(x backends.Op, axis int, outputDType dtypes.DType, isMin bool) (backends.Op, error) {
	if b.isBF16(x) {
		ops, err := b.toF32(x)
		if err != nil {
			return nil, err
		}
		x = ops[0]
	}
	return b.Builder.ArgMinMax(x, axis, outputDType, isMin)
}

// inF32 applies fn to x converted to float32 when x is bfloat16, and converts the result back.
func (b *bf16SafeBuilder) inF32(x backends.Op, fn func(x backends.Op) (backends.Op, error)) (backends.Op, error) {
	if !b.isBF16(x) {
		return fn(x)
	}
	ops, err := b.toF32(x)
	if err != nil {
		return nil, err
	}
	y, err := fn(ops[0])
	if err != nil {
		return nil, err
	}
	return b.Builder.ConvertDType(y, dtypes.BFloat16)
}

func (b *bf16SafeBuilder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	return b.inF32(x, func(x backends.Op) (backends.Op, error) { return b.Builder.ReduceSum(x, axes...) })
}

func (b *bf16SafeBuilder) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	return b.inF32(x, func(x backends.Op) (backends.Op, error) { return b.Builder.ReduceMax(x, axes...) })
}

func (b *bf16SafeBuilder) ReduceMin(x backends.Op, axes ...int) (backends.Op, error) {
	return b.inF32(x, func(x backends.Op) (backends.Op, error) { return b.Builder.ReduceMin(x, axes...) })
}

func (b *bf16SafeBuilder) ReduceProduct(x backends.Op, axes ...int) (backends.Op, error) {
	return b.inF32(x, func(x backends.Op) (backends.Op, error) { return b.Builder.ReduceProduct(x, axes...) })
}

func (b *bf16SafeBuilder) ReduceWindow(x backends.Op, reduction backends.ReduceOpType,
	window, strides, baseDilations, windowDilations []int, paddings [][2]int) (backends.Op, error) {
	return b.inF32(x, func(x backends.Op) (backends.Op, error) {
		return b.Builder.ReduceWindow(x, reduction, window, strides, baseDilations, windowDilations, paddings)
	})
}
