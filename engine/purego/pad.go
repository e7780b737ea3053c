package purego

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
)

// Pad pads x with fillValue (a scalar): Start/End elements at the ends of each
// axis (negative values crop) and Interior elements between neighbours.
func (b *Builder) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	c := b.composer()
	shape := c.shape(x)
	if c.err == nil && len(axesConfig) > shape.Rank() {
		c.fail("Pad: %d axes configured for operand of rank %d", len(axesConfig), shape.Rank())
	}
	for axis, cfg := range axesConfig {
		x = c.padInterior(x, fillValue, axis, cfg.Interior)
		x = c.padEnds(x, fillValue, axis, cfg.Start, cfg.End)
	}
	if c.err != nil {
		return nil, wrapOpError("Pad", c.err)
	}
	return x, nil
}

// padInterior inserts interior copies of fill between the elements of axis.
func (c *composer) padInterior(x, fill backends.Op, axis, interior int) backends.Op {
	shape := c.shape(x)
	if c.err != nil || interior <= 0 || shape.Dimensions[axis] <= 1 {
		return x
	}
	if interior < 0 {
		c.fail("Pad: negative interior padding %d on axis %d", interior, axis)
		return nil
	}
	n := shape.Dimensions[axis]
	// Reshape to [..., n, 1, ...], append `interior` fill values on the new axis,
	// flatten back, and drop the trailing fill after the last element.
	expanded := slices.Insert(slices.Clone(shape.Dimensions), axis+1, 1)
	x = c.reshape(x, expanded...)
	fillShape := shape.Clone()
	fillShape.Dimensions = slices.Clone(expanded)
	fillShape.Dimensions[axis+1] = interior
	x = c.concat(axis+1, x, c.broadcastScalar(fill, fillShape))
	flat := slices.Clone(shape.Dimensions)
	flat[axis] = n * (interior + 1)
	x = c.reshape(x, flat...)
	limits := slices.Clone(flat)
	limits[axis] = (n-1)*(interior+1) + 1
	return c.slice(x, make([]int, len(flat)), limits, nil)
}

// padEnds adds (or, when negative, removes) start/end elements on axis.
func (c *composer) padEnds(x, fill backends.Op, axis, start, end int) backends.Op {
	shape := c.shape(x)
	if c.err != nil || (start == 0 && end == 0) {
		return x
	}
	if start < 0 || end < 0 {
		starts := make([]int, shape.Rank())
		limits := slices.Clone(shape.Dimensions)
		starts[axis] = max(0, -start)
		limits[axis] -= max(0, -end)
		if limits[axis] < starts[axis] {
			c.fail("Pad: negative padding (%d, %d) larger than axis %d of dimension %d", start, end, axis, shape.Dimensions[axis])
			return nil
		}
		x = c.slice(x, starts, limits, nil)
		start, end = max(start, 0), max(end, 0)
		shape = c.shape(x)
	}
	parts := make([]backends.Op, 0, 3)
	if start > 0 {
		s := shape.Clone()
		s.Dimensions[axis] = start
		parts = append(parts, c.broadcastScalar(fill, s))
	}
	parts = append(parts, x)
	if end > 0 {
		s := shape.Clone()
		s.Dimensions[axis] = end
		parts = append(parts, c.broadcastScalar(fill, s))
	}
	return c.concat(axis, parts...)
}

// Reverse reverses the order of the elements along the given axes.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	if v, err := b.value("Reverse", x); err == nil && b.useKernels(v.shape.DType) {
		perm := make([]int, v.shape.Rank())
		for i := range perm {
			perm[i] = i
		}
		return b.permute("Reverse", v, perm, slices.Clone(axes))
	}
	c := b.composer()
	shape := c.shape(x)
	for _, axis := range axes {
		if c.err != nil {
			break
		}
		if axis < 0 || axis >= shape.Rank() {
			c.fail("Reverse: axis %d out of range for rank %d", axis, shape.Rank())
			break
		}
		x = c.reverseAxis(x, shape.Dimensions, axis)
	}
	if c.err != nil {
		return nil, wrapOpError("Reverse", c.err)
	}
	return x, nil
}

// reverseAxis concatenates the unit slices of axis in reverse order.
func (c *composer) reverseAxis(x backends.Op, dims []int, axis int) backends.Op {
	n := dims[axis]
	if n <= 1 {
		return x
	}
	parts := make([]backends.Op, n)
	starts := make([]int, len(dims))
	limits := slices.Clone(dims)
	for i := range n {
		starts[axis], limits[axis] = n-1-i, n-i
		parts[i] = c.slice(x, starts, limits, nil)
	}
	return c.concat(axis, parts...)
}
