package purego

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Transpose permutes the axes of x. Float tensors use this package's strided
// copy kernel; other dtypes use SimpleGo's.
func (b *Builder) Transpose(x backends.Op, permutation ...int) (backends.Op, error) {
	permutation = slices.Clone(permutation)
	v, err := b.value("Transpose", x)
	if err != nil {
		return nil, err
	}
	if !b.useKernels(v.shape.DType) {
		outs, err := b.record("Transpose", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
			op, err := sb.Transpose(in[0], permutation...)
			return []backends.Op{op}, err
		})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	return b.permute("Transpose", v, permutation, nil)
}

// useKernels reports whether this package's pure-Go kernels handle dtype
// (float32 and float64, unless disabled with the "kernels=off" option).
func (b *Builder) useKernels(dtype dtypes.DType) bool {
	return !b.backend.noKernels && (dtype == dtypes.Float32 || dtype == dtypes.Float64)
}

// stridedView describes a tensor as a strided view of another's flat data:
// element idx is at start + Σ idx[i]*strides[i].
type stridedView struct {
	dims, strides []int
	start         int
}

// permute adds a kernel node computing the transpose of x by perm, with the
// axes listed in reversed (axes of x) read backwards. When x itself comes from
// permute, the two are fused into one copy from x's source (the first node is
// then dropped at Compile if nothing else uses it).
func (b *Builder) permute(opName string, x *value, perm, reversed []int) (backends.Op, error) {
	rank := x.shape.Rank()
	if len(perm) != rank {
		return nil, fmt.Errorf("purego %s: permutation %v does not match rank %d", opName, perm, rank)
	}
	seen := make([]bool, rank)
	for _, a := range perm {
		if a < 0 || a >= rank || seen[a] {
			return nil, fmt.Errorf("purego %s: invalid permutation %v for rank %d", opName, perm, rank)
		}
		seen[a] = true
	}
	source, view := x, rowMajorView(x.shape.Dimensions)
	if x.node.view != nil {
		source, view = x.node.inputs[0], *x.node.view
	}
	strides := slices.Clone(view.strides)
	start := view.start
	for _, a := range reversed {
		if a < 0 || a >= rank {
			return nil, fmt.Errorf("purego %s: axis %d out of range for rank %d", opName, a, rank)
		}
		start += (view.dims[a] - 1) * strides[a]
		strides[a] = -strides[a]
	}
	out := stridedView{dims: make([]int, rank), strides: make([]int, rank), start: start}
	for i, a := range perm {
		out.dims[i], out.strides[i] = view.dims[a], strides[a]
	}
	var run func(ins []any, outFlat any)
	if x.shape.DType == dtypes.Float32 {
		run = permuteRun[float32](out)
	} else {
		run = permuteRun[float64](out)
	}
	op, err := b.custom(opName, shapes.Make(x.shape.DType, out.dims...), run, source)
	if err != nil {
		return nil, err
	}
	op.(*value).node.view = &out
	return op, nil
}

func rowMajorView(dims []int) stridedView {
	v := stridedView{dims: slices.Clone(dims), strides: make([]int, len(dims))}
	stride := 1
	for a := len(dims) - 1; a >= 0; a-- {
		v.strides[a] = stride
		stride *= dims[a]
	}
	return v
}

func permuteRun[T float](v stridedView) func(ins []any, out any) {
	return func(ins []any, out any) { permuteCopy(ins[0].([]T), out.([]T), v.dims, v.strides, v.start) }
}

// permuteCopy writes out in row-major order of outDims, reading in at
// start + Σ index[i]*inStrides[i].
func permuteCopy[T float](in, out []T, outDims, inStrides []int, start int) {
	rank := len(outDims)
	if rank == 0 {
		out[0] = in[start]
		return
	}
	if len(out) == 0 {
		return
	}
	if q := contiguousAxis(inStrides); q >= 0 && q < rank-1 && outDims[q] >= 8 && outDims[rank-1] >= 8 {
		tiledTranspose(in, out, outDims, inStrides, start, q)
		return
	}
	last := outDims[rank-1]
	lastStride := inStrides[rank-1]
	rows := len(out) / last
	parallelRows(rows, func(rowStart, rowEnd int) {
		idx := make([]int, rank-1)
		unflatten(rowStart, outDims[:rank-1], idx)
		for row := rowStart; row < rowEnd; row++ {
			base := start
			for i, v := range idx {
				base += v * inStrides[i]
			}
			dst := out[row*last : (row+1)*last]
			if lastStride == 1 {
				copy(dst, in[base:base+last])
			} else {
				for j := range dst {
					dst[j] = in[base+j*lastStride]
				}
			}
			for i := rank - 2; i >= 0; i-- { // next row index
				idx[i]++
				if idx[i] < outDims[i] {
					break
				}
				idx[i] = 0
			}
		}
	})
}

// contiguousAxis returns the output axis that reads consecutive input
// elements (stride ±1), or -1.
func contiguousAxis(inStrides []int) int {
	for i, s := range inStrides {
		if s == 1 || s == -1 {
			return i
		}
	}
	return -1
}

// tiledTranspose is permuteCopy when output axis q (not the last) reads the
// input contiguously: it copies 2D planes (axis q × last axis) in square
// tiles, so that both reads and writes stay within a few cache lines.
func tiledTranspose[T float](in, out []T, outDims, inStrides []int, start, q int) {
	const tile = 16 // floats: one cache line
	rank := len(outDims)
	outStrides := rowMajorView(outDims).strides
	// The other axes index the planes.
	var planeDims, planeIn, planeOut []int
	for i := range rank - 1 {
		if i != q {
			planeDims = append(planeDims, outDims[i])
			planeIn = append(planeIn, inStrides[i])
			planeOut = append(planeOut, outStrides[i])
		}
	}
	nq, nl := outDims[q], outDims[rank-1]
	sq, sl, oq := inStrides[q], inStrides[rank-1], outStrides[q]
	parallelRows(prod(planeDims), func(planeStart, planeEnd int) {
		var buf [tile][tile]T
		idx := make([]int, len(planeDims))
		for plane := planeStart; plane < planeEnd; plane++ {
			unflatten(plane, planeDims, idx)
			inBase, outBase := start, 0
			for i, v := range idx {
				inBase += v * planeIn[i]
				outBase += v * planeOut[i]
			}
			l0 := 0
			if in32, ok := any(in).([]float32); ok && sq == 1 && sl > 0 {
				// Eight input rows at a time become eight output columns.
				out32 := any(out).([]float32)
				for ; l0+8 <= nl; l0 += 8 {
					transpose8(out32[outBase+l0:], in32[inBase+l0*sl:], sl, oq, nq)
				}
			}
			// Bands of tile input rows (l), swept along the rows (q): sequential
			// reads that the hardware prefetches.
			for ; l0 < nl; l0 += tile {
				tl := min(tile, nl-l0)
				for q0 := 0; q0 < nq; q0 += tile {
					tq := min(tile, nq-q0)
					// Read whole input rows into buf, then write whole output rows:
					// each cache line is used at once (strided rows alias in L1).
					for l := range tl {
						src := inBase + (l0+l)*sl + q0*sq
						row := &buf[l]
						for iq := range tq {
							row[iq] = in[src+iq*sq]
						}
					}
					for iq := range tq {
						dst := out[outBase+(q0+iq)*oq+l0 : outBase+(q0+iq)*oq+l0+tl]
						for l := range dst {
							dst[l] = buf[l][iq]
						}
					}
				}
			}
		}
	})
}

// Slice takes the box [starts, limits) of x with the given strides (nil: 1). Float tensors
// use the strided copy kernel of Transpose, fused with a transpose or slice that produced x;
// other dtypes use SimpleGo's.
func (b *Builder) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	v, err := b.value("Slice", x)
	if err != nil {
		return nil, err
	}
	dims := v.shape.Dimensions
	valid := len(starts) == len(dims) && len(limits) == len(dims) && (len(strides) == 0 || len(strides) == len(dims))
	for i := 0; valid && i < len(dims); i++ {
		valid = 0 <= starts[i] && starts[i] <= limits[i] && limits[i] <= dims[i] && (len(strides) == 0 || strides[i] >= 1)
	}
	if !b.useKernels(v.shape.DType) || !valid { // SimpleGo reports the error, if any
		outs, err := b.record("Slice", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
			op, err := sb.Slice(in[0], starts, limits, strides)
			return []backends.Op{op}, err
		})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	source, view := v, rowMajorView(dims)
	if v.node.view != nil {
		source, view = v.node.inputs[0], *v.node.view
	}
	out := stridedView{dims: make([]int, len(dims)), strides: make([]int, len(dims)), start: view.start}
	for i := range dims {
		step := 1
		if len(strides) > 0 {
			step = strides[i]
		}
		out.start += starts[i] * view.strides[i]
		out.strides[i] = view.strides[i] * step
		out.dims[i] = (limits[i] - starts[i] + step - 1) / step
	}
	var run func(ins []any, outFlat any)
	if v.shape.DType == dtypes.Float32 {
		run = permuteRun[float32](out)
	} else {
		run = permuteRun[float64](out)
	}
	op, err := b.custom("Slice", shapes.Make(v.shape.DType, out.dims...), run, source)
	if err != nil {
		return nil, err
	}
	op.(*value).node.view = &out
	return op, nil
}

// BroadcastInDim copies x into outShape, operand axis i becoming output axis broadcastAxes[i]
// (of the same size, or 1 and repeated). Large float outputs use the strided copy kernel with
// zero strides on the repeated axes; other cases use SimpleGo's.
func (b *Builder) BroadcastInDim(x backends.Op, outShape shapes.Shape, broadcastAxes []int) (backends.Op, error) {
	v, err := b.value("BroadcastInDim", x)
	if err != nil {
		return nil, err
	}
	dims := v.shape.Dimensions
	rank := outShape.Rank()
	valid := len(broadcastAxes) == len(dims) && outShape.DType == v.shape.DType
	for i := 0; valid && i < len(dims); i++ {
		a := broadcastAxes[i]
		valid = a >= 0 && a < rank && (dims[i] == 1 || dims[i] == outShape.Dimensions[a]) && (i == 0 || a > broadcastAxes[i-1])
	}
	if !b.useKernels(v.shape.DType) || !valid || outShape.Size() < minParallelElements {
		outs, err := b.record("BroadcastInDim", []backends.Op{x}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
			op, err := sb.BroadcastInDim(in[0], outShape, broadcastAxes)
			return []backends.Op{op}, err
		})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	in := rowMajorView(dims)
	out := stridedView{dims: slices.Clone(outShape.Dimensions), strides: make([]int, rank)}
	for i, a := range broadcastAxes {
		if dims[i] != 1 {
			out.strides[a] = in.strides[i]
		}
	}
	var run func(ins []any, outFlat any)
	if v.shape.DType == dtypes.Float32 {
		run = permuteRun[float32](out)
	} else {
		run = permuteRun[float64](out)
	}
	return b.custom("BroadcastInDim", outShape.Clone(), run, x)
}
