package purego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Elementwise binary operations on large float tensors of equal shapes run as
// goroutine-parallel kernels (SimpleGo runs each on one core); other cases are
// SimpleGo's.

// minParallelElements is the size from which elementwise kernels pay off.
const minParallelElements = 1 << 15

// Add returns lhs + rhs.
func (b *Builder) Add(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary("Add", lhs, rhs, backends.Builder.Add)
}

// Sub returns lhs - rhs.
func (b *Builder) Sub(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary("Sub", lhs, rhs, backends.Builder.Sub)
}

// Mul returns lhs * rhs.
func (b *Builder) Mul(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary("Mul", lhs, rhs, backends.Builder.Mul)
}

// Max returns the elementwise maximum.
func (b *Builder) Max(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary("Max", lhs, rhs, backends.Builder.Max)
}

// Min returns the elementwise minimum.
func (b *Builder) Min(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary("Min", lhs, rhs, backends.Builder.Min)
}

// binary adds a parallel kernel node when both operands are float tensors of
// the same (large) shape, and SimpleGo's operation otherwise.
func (b *Builder) binary(name string, lhs, rhs backends.Op,
	simple func(sb backends.Builder, x, y backends.Op) (backends.Op, error)) (backends.Op, error) {
	l, errL := b.value(name, lhs)
	r, errR := b.value(name, rhs)
	if errL == nil && errR == nil && b.useKernels(l.shape.DType) && l.shape.Equal(r.shape) && l.shape.Size() >= minParallelElements {
		return b.custom(name, l.shape, binaryRun(name, l.shape.DType == dtypes.Float32), lhs, rhs)
	}
	outs, err := b.record(name, []backends.Op{lhs, rhs}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		op, err := simple(sb, in[0], in[1])
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func binaryRun(name string, f32 bool) func(ins []any, out any) {
	if f32 {
		return binaryKernel[float32](name)
	}
	return binaryKernel[float64](name)
}

func binaryKernel[T float](name string) func(ins []any, out any) {
	var f func(x, y, out []T)
	switch name {
	case "Add":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] + y[i]
			}
		}
	case "Sub":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] - y[i]
			}
		}
	case "Mul":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] * y[i]
			}
		}
	case "Max":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = max(x[i], y[i])
			}
		}
	default:
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = min(x[i], y[i])
			}
		}
	}
	return func(ins []any, out any) {
		x, y, o := ins[0].([]T), ins[1].([]T), out.([]T)
		const chunk = 1 << 14
		parallelRows((len(o)+chunk-1)/chunk, func(start, end int) {
			lo, hi := start*chunk, min(end*chunk, len(o))
			f(x[lo:hi], y[lo:hi], o[lo:hi])
		})
	}
}
