package purego

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Elementwise binary operations on large float tensors of equal shapes, with a
// scalar, or with a smaller operand broadcast along whole rows (a per-channel
// vector [1,...,1,C] or a per-example one [B,1,...,1,C], as batch norm, biases,
// depthwise taps and squeeze-excitation produce) run as goroutine-parallel
// kernels; SimpleGo runs each on one core with a generic broadcast iterator.
// Other cases are SimpleGo's.

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
		case big && broadcastsRows(r.shape.Dimensions, l.shape.Dimensions):
			return b.custom(name, l.shape, rowBroadcastRun(name, l.shape.DType == dtypes.Float32, l.shape.Dimensions, r.shape.Dimensions, false), lhs, rhs)
		case big && broadcastsRows(l.shape.Dimensions, r.shape.Dimensions):
			return b.custom(name, r.shape, rowBroadcastRun(name, r.shape.DType == dtypes.Float32, r.shape.Dimensions, l.shape.Dimensions, true), lhs, rhs)
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

// minBroadcastRow is the shortest row (last dimension) a row-broadcast kernel takes.
const minBroadcastRow = 8

// broadcastsRows reports whether small broadcasts to full along whole rows: the same rank,
// the same last dimension (at least minBroadcastRow), and every other dimension 1 or full's.
func broadcastsRows(small, full []int) bool {
	n := len(full)
	if n < 2 || len(small) != n || small[n-1] != full[n-1] || full[n-1] < minBroadcastRow || slices.Equal(small, full) {
		return false
	}
	for k := range n - 1 {
		if small[k] != 1 && small[k] != full[k] {
			return false
		}
	}
	return true
}

func rowBroadcastRun(name string, f32 bool, full, small []int, smallLeft bool) func(ins []any, out any) {
	if f32 {
		return rowBroadcastKernel[float32](name, full, small, smallLeft)
	}
	return rowBroadcastKernel[float64](name, full, small, smallLeft)
}

// rowBroadcastKernel computes op(full, small) (op(small, full) when smallLeft) row by row:
// row r of full meets the row of small whose leading indices are r's with broadcast axes at 0.
func rowBroadcastKernel[T float](name string, full, small []int, smallLeft bool) func(ins []any, out any) {
	op := binaryFunc[T](name)
	n := len(full)
	c := full[n-1]
	rows := prod(full[:n-1])
	lead := slices.Clone(full[:n-1])
	strides := make([]int, n-1) // small's row stride per leading axis, 0 where it broadcasts
	acc := 1
	for k := n - 2; k >= 0; k-- {
		if small[k] != 1 {
			strides[k] = acc
		}
		acc *= small[k]
	}
	row := func(fr, sr, or []T) {
		switch {
		case name == "Mul":
			for i := range or {
				or[i] = fr[i] * sr[i]
			}
		case name == "Add":
			for i := range or {
				or[i] = fr[i] + sr[i]
			}
		case name == "Sub" && !smallLeft:
			for i := range or {
				or[i] = fr[i] - sr[i]
			}
		case smallLeft:
			for i := range or {
				or[i] = op(sr[i], fr[i])
			}
		default:
			for i := range or {
				or[i] = op(fr[i], sr[i])
			}
		}
	}
	return func(ins []any, out any) {
		f, sm, o := ins[0].([]T), ins[1].([]T), out.([]T)
		if smallLeft {
			f, sm = sm, f
		}
		parallelRows(rows, func(start, end int) {
			idx := make([]int, n-1)
			for r := start; r < end; r++ {
				unflatten(r, lead, idx)
				off := 0
				for k, v := range idx {
					off += v * strides[k]
				}
				row(f[r*c:(r+1)*c], sm[off*c:(off+1)*c], o[r*c:(r+1)*c])
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
