package purego

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// composer chains SimpleGo operations and keeps the first error, so that
// compositions read as straight-line code. After an error every call is a no-op
// returning nil.
type composer struct {
	b   *Builder
	err error
}

func (b *Builder) composer() *composer { return &composer{b: b} }

func (c *composer) keep(op backends.Op, err error) backends.Op {
	if c.err != nil {
		return nil
	}
	if err != nil {
		c.err = err
		return nil
	}
	return op
}

// customWithEpilogue adds a custom node computed by run, which also takes an
// epilogue: epi(lo, hi) on each range of the flat output once final, run where
// an element-wise cluster (a batch norm, the optimizer's update) alone reads
// the output (see epilogue.go).
func (c *composer) customWithEpilogue(name string, shape shapes.Shape, run func(ins []any, out any, epi func(lo, hi int)), in ...backends.Op) backends.Op {
	out := c.keep(c.b.custom(name, shape, func(ins []any, out any) { run(ins, out, nil) }, in...))
	if v, ok := out.(*value); ok {
		v.node.runEpilogue = run
	}
	return out
}

func (c *composer) shape(x backends.Op) shapes.Shape {
	if c.err != nil {
		return shapes.Invalid()
	}
	s, err := c.b.OpShape(x)
	if err != nil {
		c.err = err
	}
	return s
}

func (c *composer) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// scalar returns a scalar constant of the given dtype.
func (c *composer) scalar(dtype dtypes.DType, value float64) backends.Op {
	if c.err != nil {
		return nil
	}
	if dtype == dtypes.Float64 {
		return c.keep(c.b.Constant([]float64{value}))
	}
	if dtype == dtypes.Float32 {
		return c.keep(c.b.Constant([]float32{float32(value)}))
	}
	return c.convert(c.keep(c.b.Constant([]float64{value})), dtype)
}

// filled returns a tensor of the given shape with all elements set to value.
func (c *composer) filled(shape shapes.Shape, value float64) backends.Op {
	return c.broadcastScalar(c.scalar(shape.DType, value), shape)
}

func (c *composer) broadcastScalar(x backends.Op, shape shapes.Shape) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.BroadcastInDim(x, shape, nil))
}

// broadcastAxis broadcasts a 1D tensor along axis of shape.
func (c *composer) broadcastAxis(x backends.Op, shape shapes.Shape, axis int) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.BroadcastInDim(x, shape, []int{axis}))
}

func (c *composer) convert(x backends.Op, dtype dtypes.DType) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.ConvertDType(x, dtype))
}

func (c *composer) slice(x backends.Op, starts, limits, strides []int) backends.Op {
	if c.err != nil {
		return nil
	}
	if strides == nil {
		strides = ones(len(starts))
	}
	// SimpleGo keeps the slices it is given: pass copies.
	return c.keep(c.b.Slice(x, slices.Clone(starts), slices.Clone(limits), slices.Clone(strides)))
}

func (c *composer) concat(axis int, xs ...backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	if len(xs) == 1 {
		return xs[0]
	}
	return c.keep(c.b.Concatenate(axis, slices.Clone(xs)...))
}

func (c *composer) reshape(x backends.Op, dims ...int) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Reshape(x, slices.Clone(dims)...))
}

// transpose permutes the axes of x, skipping the identity permutation.
func (c *composer) transpose(x backends.Op, perm ...int) backends.Op {
	if c.err != nil {
		return nil
	}
	if isIdentity(perm) {
		return x
	}
	return c.keep(c.b.Transpose(x, slices.Clone(perm)...))
}

func (c *composer) add(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Add(x, y))
}

func (c *composer) sub(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Sub(x, y))
}

func (c *composer) mul(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Mul(x, y))
}

func (c *composer) rsqrt(x backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Rsqrt(x))
}

func (c *composer) reduceSum(x backends.Op, axes ...int) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.ReduceSum(x, axes...))
}

func (c *composer) where(cond, onTrue, onFalse backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Where(cond, onTrue, onFalse))
}

func (c *composer) equal(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.Equal(x, y))
}

func (c *composer) and(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.LogicalAnd(x, y))
}

func (c *composer) not(x backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.LogicalNot(x))
}

func (c *composer) or(x, y backends.Op) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.LogicalOr(x, y))
}

func (c *composer) dotGeneral(lhs backends.Op, lhsContract, lhsBatch []int, rhs backends.Op, rhsContract, rhsBatch []int) backends.Op {
	if c.err != nil {
		return nil
	}
	return c.keep(c.b.DotGeneral(lhs, lhsContract, lhsBatch, rhs, rhsContract, rhsBatch))
}

func isIdentity(perm []int) bool {
	for i, p := range perm {
		if i != p {
			return false
		}
	}
	return true
}

// ones returns a slice of n ones.
func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// otherAxes returns the axes of a rank-r tensor other than axis.
func otherAxes(rank, axis int) []int {
	axes := make([]int, 0, rank-1)
	for i := range rank {
		if i != axis {
			axes = append(axes, i)
		}
	}
	return axes
}

func wrapOpError(op string, err error) error {
	return fmt.Errorf("purego %s: %w", op, err)
}
