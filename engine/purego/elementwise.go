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
	if errL == nil && errR == nil && b.useKernels(l.shape.DType) && l.shape.DType == r.shape.DType {
		big := max(l.shape.Size(), r.shape.Size()) >= minParallelElements
		switch {
		case big && l.shape.Equal(r.shape):
			return b.custom(name, l.shape, binaryRun(name, l.shape.DType == dtypes.Float32, noScalar), lhs, rhs)
		case big && r.shape.Rank() == 0:
			return b.custom(name, l.shape, binaryRun(name, l.shape.DType == dtypes.Float32, scalarRight), lhs, rhs)
		case big && l.shape.Rank() == 0:
			return b.custom(name, r.shape, binaryRun(name, r.shape.DType == dtypes.Float32, scalarLeft), lhs, rhs)
		}
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

// scalarSide says which operand, if any, is a scalar broadcast to the other.
type scalarSide int

const (
	noScalar scalarSide = iota
	scalarLeft
	scalarRight
)

func binaryRun(name string, f32 bool, side scalarSide) func(ins []any, out any) {
	if f32 {
		return binaryKernel[float32](name, side)
	}
	return binaryKernel[float64](name, side)
}

func binaryFunc[T float](name string) func(x, y T) T {
	switch name {
	case "Add":
		return func(x, y T) T { return x + y }
	case "Sub":
		return func(x, y T) T { return x - y }
	case "Mul":
		return func(x, y T) T { return x * y }
	case "Max":
		return func(x, y T) T { return max(x, y) }
	default:
		return func(x, y T) T { return min(x, y) }
	}
}

func binaryKernel[T float](name string, side scalarSide) func(ins []any, out any) {
	op := binaryFunc[T](name)
	// The common same-shape cases get closure-free loops.
	var f func(x, y, out []T)
	switch {
	case side == scalarRight && name == "Mul":
		f = func(x, y, out []T) {
			s := y[0]
			for i, v := range x[:len(out)] {
				out[i] = v * s
			}
		}
	case side == scalarLeft && name == "Mul":
		f = func(x, y, out []T) {
			s := x[0]
			for i, v := range y[:len(out)] {
				out[i] = s * v
			}
		}
	case side == scalarRight && (name == "Add" || name == "Sub"):
		f = func(x, y, out []T) {
			s := y[0]
			if name == "Sub" {
				s = -s
			}
			for i, v := range x[:len(out)] {
				out[i] = v + s
			}
		}
	case side == scalarLeft && name == "Sub":
		f = func(x, y, out []T) {
			s := x[0]
			for i, v := range y[:len(out)] {
				out[i] = s - v
			}
		}
	case side != noScalar:
		f = func(x, y, out []T) {
			if side == scalarRight {
				s := y[0]
				for i, v := range x[:len(out)] {
					out[i] = op(v, s)
				}
				return
			}
			s := x[0]
			for i, v := range y[:len(out)] {
				out[i] = op(s, v)
			}
		}
	case name == "Add":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] + y[i]
			}
		}
	case name == "Sub":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] - y[i]
			}
		}
	case name == "Mul":
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = x[i] * y[i]
			}
		}
	default:
		f = func(x, y, out []T) {
			for i := range out {
				out[i] = op(x[i], y[i])
			}
		}
	}
	return func(ins []any, out any) {
		x, y, o := ins[0].([]T), ins[1].([]T), out.([]T)
		const chunk = 1 << 14
		parallelRows((len(o)+chunk-1)/chunk, func(start, end int) {
			lo, hi := start*chunk, min(end*chunk, len(o))
			switch side {
			case scalarRight:
				f(x[lo:hi], y, o[lo:hi])
			case scalarLeft:
				f(x, y[lo:hi], o[lo:hi])
			default:
				f(x[lo:hi], y[lo:hi], o[lo:hi])
			}
		})
	}
}

// Sign returns -1, 0 or 1 according to the sign of x (NaN stays NaN).
func (b *Builder) Sign(x backends.Op) (backends.Op, error) {
	if v, err := b.value("Sign", x); err == nil && b.useKernels(v.shape.DType) && v.shape.Size() >= minParallelElements {
		run := signRun[float64]
		if v.shape.DType == dtypes.Float32 {
			run = signRun[float32]
		}
		return b.custom("Sign", v.shape, run, x)
	}
	outs, err := b.record("Sign", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		op, err := sb.Sign(in[0])
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func signRun[T float](ins []any, out any) {
	x, o := ins[0].([]T), out.([]T)
	parallelRows(len(o), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			switch {
			case v > 0:
				o[lo+i] = 1
			case v < 0:
				o[lo+i] = -1
			default:
				o[lo+i] = v // zero (keeping its sign) or NaN
			}
		}
	})
}
