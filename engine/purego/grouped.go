package purego

import (
	"runtime"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Direct kernels for depthwise-like convolutions, where im2col and a matrix
// multiplication would do little work per copied element:
//
//   - groupedConv: feature groups with one input or one output channel per
//     group (depthwise convolutions, with or without a depth multiplier, and
//     their input gradients, which use input dilation for the strides);
//   - depthwiseKernelGrad: the kernel gradient of a depthwise convolution in
//     the form XLA and JAX use (batch groups, one per input channel, with the
//     input's batch and channel axes exchanged), on channels-last data.
//
// Each output row accumulates one input row times one kernel row per kernel
// tap, vectorised over channels (mulAdd).

// maxDirectGroupWidth is the largest number of input or output channels per
// group that groupedConv takes; wider groups go through im2col.
const maxDirectGroupWidth = 8

// isDepthwiseLike reports whether a grouped convolution has one input or one
// output channel per group, with few of the other.
func isDepthwiseLike(p convParams, kIn, kOut int) bool {
	g := p.featureGroups
	if g <= 1 || p.batchGroups != 1 || kOut%g != 0 {
		return false
	}
	outPer := kOut / g
	return (kIn == 1 && outPer <= maxDirectGroupWidth) || (outPer == 1 && kIn <= maxDirectGroupWidth)
}

// groupedConvOp adds the direct grouped convolution of x [B, spatial..., C] by
// the kernel permuted by wPerm to [K..., kIn, kOut]; it returns [B, Oflat, kOut].
func (c *composer) groupedConvOp(x, kernel backends.Op, wPerm, inSpatial, kSpatial, outSpatial []int, p convParams) backends.Op {
	xShape := c.shape(x)
	w := c.transpose(kernel, wPerm...)
	wShape := c.shape(w)
	if c.err != nil {
		return nil
	}
	nd := len(inSpatial)
	batch, channels := xShape.Dimensions[0], xShape.Dimensions[nd+1]
	kIn, kOut := wShape.Dimensions[nd], wShape.Dimensions[nd+1]
	g := grouping{groups: p.featureGroups, kIn: kIn, outPer: kOut / p.featureGroups}
	oFlat := prod(outSpatial)
	dims := convDims{batch: batch, spatialSize: prod(inSpatial), channels: channels, oFlat: oFlat, kFlat: prod(kSpatial)}
	table := patchTable(inSpatial, kSpatial, outSpatial, p)
	var run func(ins []any, out any)
	if xShape.DType == dtypes.Float32 {
		run = func(ins []any, out any) {
			groupedConv(ins[0].([]float32), ins[1].([]float32), out.([]float32), table, dims, g)
		}
	} else {
		run = func(ins []any, out any) {
			groupedConv(ins[0].([]float64), ins[1].([]float64), out.([]float64), table, dims, g)
		}
	}
	return c.keep(c.b.custom("GroupedConv", shapes.Make(xShape.DType, batch, oFlat, kOut), run, x, w))
}

// convDims are the sizes a direct convolution kernel works with: x is
// [batch, spatialSize, channels], the output has oFlat positions and the
// kernel kFlat taps.
type convDims struct {
	batch, spatialSize, channels, oFlat, kFlat int
}

// grouping describes feature groups: groups of kIn input and outPer output channels.
type grouping struct{ groups, kIn, outPer int }

// groupedConv sets out [batch*oFlat, groups*outPer] to the grouped convolution
// of x [batch, spatialSize, channels] with w [kFlat, kIn, groups*outPer]:
// out[o, g*outPer+j] = Σ_t Σ_i x[table[o,t], g*kIn+i] · w[t, i, g*outPer+j].
func groupedConv[T float](x, w, out []T, table []int32, d convDims, g grouping) {
	kOut := g.groups * g.outPer
	if g.kIn == 1 && g.outPer == 1 {
		depthwiseRows(x, w, out, table, d)
		return
	}
	parallelRows(d.batch*d.oFlat, func(start, end int) {
		for row := start; row < end; row++ {
			b, o := row/d.oFlat, row%d.oFlat
			dst := out[row*kOut : (row+1)*kOut]
			clear(dst)
			base := b * d.spatialSize * d.channels
			for t, src := range table[o*d.kFlat : (o+1)*d.kFlat] {
				if src < 0 {
					continue
				}
				off := base + int(src)*d.channels
				groupedTap(dst, x[off:off+d.channels], w[t*g.kIn*kOut:(t+1)*g.kIn*kOut], g)
			}
		}
	})
}

// depthwiseRows is groupedConv with one input and one output channel per group:
// each output row sums its valid taps (dwRow, in registers on amd64).
func depthwiseRows[T float](x, w, out []T, table []int32, d convDims) {
	c := d.channels
	parallelRows(d.batch*d.oFlat, func(start, end int) {
		xoffs, woffs := make([]int, 0, d.kFlat), make([]int, 0, d.kFlat)
		for row := start; row < end; row++ {
			b, o := row/d.oFlat, row%d.oFlat
			xoffs, woffs = xoffs[:0], woffs[:0]
			for t, src := range table[o*d.kFlat : (o+1)*d.kFlat] {
				if src >= 0 {
					xoffs = append(xoffs, (b*d.spatialSize+int(src))*c)
					woffs = append(woffs, t*c)
				}
			}
			dwRow(out[row*c:(row+1)*c], x, xoffs, w, woffs)
		}
	})
}

// dwRowTail computes elements [from, len(dst)) of dwRow.
func dwRowTail[T float](dst, x []T, xoffs []int, w []T, woffs []int, from int) {
	for i := from; i < len(dst); i++ {
		var s T
		for t, xo := range xoffs {
			s += x[xo+i] * w[woffs[t]+i]
		}
		dst[i] = s
	}
}

// groupedTap adds one kernel tap's contribution: dst[g*outPer+j] += Σ_i xr[g*kIn+i]·wr[i, g*outPer+j].
func groupedTap[T float](dst, xr, wr []T, g grouping) {
	kOut := len(dst)
	switch {
	case g.kIn == 1 && g.outPer == 1:
		mulAdd(dst, xr, wr)
	case g.kIn == 1:
		for grp, xv := range xr[:g.groups] {
			d, w := dst[grp*g.outPer:(grp+1)*g.outPer], wr[grp*g.outPer:(grp+1)*g.outPer]
			for j := range d {
				d[j] += xv * w[j]
			}
		}
	default:
		for i := range g.kIn {
			wrow := wr[i*kOut : (i+1)*kOut]
			for grp := range g.groups {
				xv := xr[grp*g.kIn+i]
				for j := grp * g.outPer; j < (grp+1)*g.outPer; j++ {
					dst[j] += xv * wrow[j]
				}
			}
		}
	}
}

// mulAdd sets dst[i] += a[i]*b[i].
func mulAdd[T float](dst, a, b []T) {
	if f32, ok := any(dst).([]float32); ok {
		mulAddF32(f32, any(a).([]float32), any(b).([]float32))
		return
	}
	mulAddGo(dst, a, b)
}

func mulAddGo[T float](dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}

// depthwiseKernelGradOp recognises the kernel gradient of a channels-last
// depthwise convolution as XLA and JAX write it: input x [B, H..., C] read
// with batch and channel axes exchanged, "kernel" v [B, Ho..., C*m] (the
// output gradient) with v's batch as its input channels, batch groups C, and
// output [K..., 1, C*m]. The convolution's strides are the depthwise
// convolution's kernel dilations and its kernel dilations the strides. It
// returns the gradient and true, or false when the call has another form.
func (c *composer) depthwiseKernelGradOp(input, kernel backends.Op, inShape, kShape shapes.Shape, p convParams) (backends.Op, bool) {
	a := p.axes
	nd := len(a.InputSpatial)
	last := nd + 1
	if p.batchGroups <= 1 || p.featureGroups != 1 || !c.b.useKernels(inShape.DType) ||
		a.InputChannels != 0 || a.InputBatch != last || !isRange(a.InputSpatial, 1) ||
		a.KernelInputChannels != 0 || a.KernelOutputChannels != last || !isRange(a.KernelSpatial, 1) ||
		a.OutputBatch != nd || a.OutputChannels != last || !isRange(a.OutputSpatial, 0) || !isOnes(p.inDil) {
		return nil, false
	}
	batch, channels := inShape.Dimensions[0], inShape.Dimensions[last]
	vBatch, kOut := kShape.Dimensions[0], kShape.Dimensions[last]
	if p.batchGroups != channels || vBatch != batch || kOut%channels != 0 {
		return nil, false
	}
	inSpatial, vSpatial := inShape.Dimensions[1:last], kShape.Dimensions[1:last]
	outSpatial := make([]int, nd)
	for i := range nd {
		padded := inSpatial[i] + p.paddings[i][0] + p.paddings[i][1]
		extent := (vSpatial[i]-1)*p.kerDil[i] + 1
		if padded < extent {
			return nil, false
		}
		outSpatial[i] = (padded-extent)/p.strides[i] + 1
	}
	// The table's rows are the gradient's taps, its columns v's positions.
	byTap := patchTable(inSpatial, vSpatial, outSpatial, p)
	kFlat, qFlat := prod(outSpatial), prod(vSpatial)
	table := make([]int32, len(byTap)) // [q, t]
	for t := range kFlat {
		for q := range qFlat {
			table[q*kFlat+t] = byTap[t*qFlat+q]
		}
	}
	d := convDims{batch: batch, spatialSize: prod(inSpatial), channels: channels, oFlat: qFlat, kFlat: kFlat}
	var run func(ins []any, out any)
	if inShape.DType == dtypes.Float32 {
		run = func(ins []any, out any) {
			depthwiseKernelGrad(ins[0].([]float32), ins[1].([]float32), out.([]float32), table, d, kOut/channels)
		}
	} else {
		run = func(ins []any, out any) {
			depthwiseKernelGrad(ins[0].([]float64), ins[1].([]float64), out.([]float64), table, d, kOut/channels)
		}
	}
	outDims := append(slices.Clone(outSpatial), 1, kOut)
	return c.keep(c.b.custom("DepthwiseKernelGrad", shapes.Make(inShape.DType, outDims...), run, input, kernel)), true
}

// depthwiseKernelGrad sets out [kFlat, C*m] to Σ_b Σ_q x[b, table[q,t], c] · v[b, q, c*m+j]
// for x [batch, spatialSize, C] and v [batch, oFlat, C*m] (d.oFlat counts v's positions q).
// Workers take batches and add up their partial sums at the end.
func depthwiseKernelGrad[T float](x, v, out []T, table []int32, d convDims, m int) {
	kOut := d.channels * m
	workers := max(1, min(runtime.GOMAXPROCS(0), d.batch))
	partial := make([][]T, workers)
	partial[0] = out[:d.kFlat*kOut]
	clear(partial[0])
	g := grouping{groups: d.channels, kIn: 1, outPer: m}
	chunk := (d.batch + workers - 1) / workers
	for w := 1; w < workers; w++ {
		partial[w] = make([]T, d.kFlat*kOut)
	}
	parallelFor(workers, func(w int) {
		acc, b0, b1 := partial[w], w*chunk, min(d.batch, (w+1)*chunk)
		for b := b0; b < b1; b++ {
			base := b * d.spatialSize * d.channels
			for q := range d.oFlat {
				vr := v[(b*d.oFlat+q)*kOut : (b*d.oFlat+q+1)*kOut]
				for t, src := range table[q*d.kFlat : (q+1)*d.kFlat] {
					if src < 0 {
						continue
					}
					off := base + int(src)*d.channels
					xr := x[off : off+d.channels]
					dst := acc[t*kOut : (t+1)*kOut]
					if m == 1 {
						mulAdd(dst, xr, vr)
					} else {
						groupedTap(dst, xr, vr, g)
					}
				}
			}
		}
	})
	for _, p := range partial[1:] {
		for i, x := range p {
			out[i] += x
		}
	}
}

func isRange(axes []int, from int) bool {
	for i, a := range axes {
		if a != from+i {
			return false
		}
	}
	return true
}

func isOnes(xs []int) bool {
	for _, x := range xs {
		if x != 1 {
			return false
		}
	}
	return true
}
