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

// permute adds a kernel node computing the transpose of x by perm, with the
// input axes listed in reversed read backwards.
func (b *Builder) permute(opName string, x *value, perm, reversed []int) (backends.Op, error) {
	dims := x.shape.Dimensions
	rank := len(dims)
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
	inStrides := make([]int, rank)
	stride := 1
	for a := rank - 1; a >= 0; a-- {
		inStrides[a] = stride
		stride *= dims[a]
	}
	start := 0
	axisStride := slices.Clone(inStrides)
	for _, a := range reversed {
		if a < 0 || a >= rank {
			return nil, fmt.Errorf("purego %s: axis %d out of range for rank %d", opName, a, rank)
		}
		if axisStride[a] > 0 && dims[a] > 1 {
			start += (dims[a] - 1) * inStrides[a]
			axisStride[a] = -inStrides[a]
		}
	}
	outDims := make([]int, rank)
	outStrides := make([]int, rank) // input stride for each output axis
	for i, a := range perm {
		outDims[i] = dims[a]
		outStrides[i] = axisStride[a]
	}
	var run func(ins []any, out any)
	if x.shape.DType == dtypes.Float32 {
		run = permuteRun[float32](outDims, outStrides, start)
	} else {
		run = permuteRun[float64](outDims, outStrides, start)
	}
	return b.custom(opName, shapes.Make(x.shape.DType, outDims...), run, x)
}

func permuteRun[T float](outDims, inStrides []int, start int) func(ins []any, out any) {
	return func(ins []any, out any) { permuteCopy(ins[0].([]T), out.([]T), outDims, inStrides, start) }
}

// permuteCopy writes out in row-major order of outDims, reading in at
// start + Σ index[i]*inStrides[i].
func permuteCopy[T float](in, out []T, outDims, inStrides []int, start int) {
	rank := len(outDims)
	if rank == 0 {
		out[0] = in[start]
		return
	}
	last := outDims[rank-1]
	lastStride := inStrides[rank-1]
	rows := len(out) / max(last, 1)
	if last == 0 || rows == 0 {
		return
	}
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
