package purego

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// convParams is a ConvGeneral call with defaults filled in.
type convParams struct {
	axes                       backends.ConvolveAxesConfig
	strides, inDil, kerDil     []int
	paddings                   [][2]int
	featureGroups, batchGroups int
}

func newConvParams(numSpatial int, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int, inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (convParams, error) {
	p := convParams{axes: axes, strides: strides, paddings: paddings, inDil: inputDilations, kerDil: kernelDilations,
		featureGroups: max(channelGroupCount, 1), batchGroups: max(batchGroupCount, 1)}
	fill := func(name string, v []int) ([]int, error) {
		if len(v) == 0 {
			return ones(numSpatial), nil
		}
		if len(v) != numSpatial {
			return nil, fmt.Errorf("%s %v must have one value per spatial axis (%d)", name, v, numSpatial)
		}
		for _, x := range v {
			if x < 1 {
				return nil, fmt.Errorf("%s %v must be positive", name, v)
			}
		}
		return v, nil
	}
	var err error
	if p.strides, err = fill("strides", strides); err != nil {
		return p, err
	}
	if p.inDil, err = fill("input dilations", inputDilations); err != nil {
		return p, err
	}
	if p.kerDil, err = fill("kernel dilations", kernelDilations); err != nil {
		return p, err
	}
	if len(paddings) == 0 {
		p.paddings = make([][2]int, numSpatial)
	} else if len(paddings) != numSpatial {
		return p, fmt.Errorf("paddings %v must have one pair per spatial axis (%d)", paddings, numSpatial)
	}
	if p.featureGroups > 1 && p.batchGroups > 1 {
		return p, fmt.Errorf("feature groups (%d) and batch groups (%d) cannot both be used", p.featureGroups, p.batchGroups)
	}
	return p, nil
}

// ConvGeneral is lowered to patch extraction (im2col) and one matrix
// multiplication, on this package's kernels for float32/float64 without groups
// (see kernelConv and weightGradientConv), otherwise composed from SimpleGo's
// Slice, Concatenate and DotGeneral. Nil strides and dilations mean 1 (SimpleGo
// itself reads them as 0).
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	if b.backend.directConv {
		return b.directConv(input, kernel, axes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	}
	out, err := b.lowerConv(input, kernel, axes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	if err != nil {
		return nil, wrapOpError("ConvGeneral", err)
	}
	return out, nil
}

func (b *Builder) lowerConv(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	c := b.composer()
	inShape, kShape := c.shape(input), c.shape(kernel)
	if c.err != nil {
		return nil, c.err
	}
	nd := inShape.Rank() - 2
	if nd < 0 || kShape.Rank() != nd+2 || len(axes.InputSpatial) != nd || len(axes.KernelSpatial) != nd || len(axes.OutputSpatial) != nd {
		return nil, fmt.Errorf("input %s, kernel %s and axes %+v disagree on the number of spatial axes", inShape, kShape, axes)
	}
	if inShape.DType != kShape.DType {
		return nil, fmt.Errorf("input dtype %s differs from kernel dtype %s", inShape.DType, kShape.DType)
	}
	p, err := newConvParams(nd, axes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	if err != nil {
		return nil, err
	}

	if out, ok := c.weightGradientConv(input, kernel, inShape, kShape, p); ok {
		return out, c.err
	}
	if out, ok := c.depthwiseKernelGradOp(input, kernel, inShape, kShape, p); ok {
		return out, c.err
	}
	// Canonical layouts: input [B, spatial..., C], kernel [spatial..., Ci, Co].
	x := c.transpose(input, append(append([]int{axes.InputBatch}, axes.InputSpatial...), axes.InputChannels)...)
	wPerm := append(append([]int{}, axes.KernelSpatial...), axes.KernelInputChannels, axes.KernelOutputChannels)
	xShape := c.shape(x)
	if c.err != nil {
		return nil, c.err
	}
	wDims := make([]int, nd+2)
	for i, a := range wPerm {
		wDims[i] = kShape.Dimensions[a]
	}
	batch, channels := xShape.Dimensions[0], xShape.Dimensions[nd+1]
	inSpatial := xShape.Dimensions[1 : nd+1]
	kSpatial := wDims[:nd]
	kIn, kOut := wDims[nd], wDims[nd+1]
	if err := checkConvChannels(p, batch, channels, kIn, kOut); err != nil {
		return nil, err
	}
	outSpatial := make([]int, nd)
	for i := range nd {
		padded := (inSpatial[i]-1)*p.inDil[i] + 1 + p.paddings[i][0] + p.paddings[i][1]
		extent := (kSpatial[i]-1)*p.kerDil[i] + 1
		if padded < extent {
			return nil, fmt.Errorf("padded input size %d on spatial axis %d is smaller than the dilated kernel %d", padded, i, extent)
		}
		outSpatial[i] = (padded-extent)/p.strides[i] + 1
	}
	var out backends.Op
	switch {
	case p.featureGroups == 1 && p.batchGroups == 1 && c.b.useKernels(xShape.DType):
		out = c.kernelConv(x, kernel, wPerm, inSpatial, kSpatial, outSpatial, p)
	case isDepthwiseLike(p, kIn, kOut) && c.b.useKernels(xShape.DType):
		out = c.groupedConvOp(x, kernel, wPerm, inSpatial, kSpatial, outSpatial, p)
	default:
		w := c.transpose(kernel, wPerm...)
		x = c.padSpatial(x, p)
		patches := c.im2col(x, kSpatial, outSpatial, p)
		out = c.patchesDot(patches, w, batch, prod(outSpatial), prod(kSpatial), channels, kOut, p)
	}
	// out is [B', Oflat, Co]: restore the spatial axes and the requested layout.
	outBatch := batch / p.batchGroups
	out = c.reshape(out, append(append([]int{outBatch}, outSpatial...), kOut)...)
	perm := make([]int, nd+2)
	perm[axes.OutputBatch] = 0
	for i, a := range axes.OutputSpatial {
		perm[a] = 1 + i
	}
	perm[axes.OutputChannels] = nd + 1
	out = c.transpose(out, perm...)
	return out, c.err
}

func checkConvChannels(p convParams, batch, channels, kIn, kOut int) error {
	switch {
	case channels != kIn*p.featureGroups:
		return fmt.Errorf("input channels %d != kernel input channels %d x feature groups %d", channels, kIn, p.featureGroups)
	case kOut%p.featureGroups != 0:
		return fmt.Errorf("kernel output channels %d not divisible by feature groups %d", kOut, p.featureGroups)
	case batch%p.batchGroups != 0 || kOut%p.batchGroups != 0:
		return fmt.Errorf("batch %d and kernel output channels %d must be divisible by batch groups %d", batch, kOut, p.batchGroups)
	}
	return nil
}

// padSpatial applies the paddings and input dilations to x [B, spatial..., C].
func (c *composer) padSpatial(x backends.Op, p convParams) backends.Op {
	nd := len(p.strides)
	cfg := make([]backends.PadAxis, nd+2)
	needed := false
	for i := range nd {
		cfg[1+i] = backends.PadAxis{Start: p.paddings[i][0], End: p.paddings[i][1], Interior: p.inDil[i] - 1}
		needed = needed || cfg[1+i] != backends.PadAxis{}
	}
	if !needed || c.err != nil {
		return x
	}
	zero := c.scalar(c.shape(x).DType, 0)
	for axis, a := range cfg {
		x = c.padInterior(x, zero, axis, a.Interior)
		x = c.padEnds(x, zero, axis, a.Start, a.End)
	}
	return x
}

// im2col returns the patch matrix [B, Oflat, Kflat*C] of x [B, spatial..., C]:
// row (b, o) holds the receptive field of output position o, kernel position
// major and channel minor. It iterates over kernel positions (one strided slice
// of the whole input each) or, when there are fewer, over output positions (one
// dilated window each), so that both forward convolutions and kernel gradients
// (large "kernels", few outputs) use few operations.
func (c *composer) im2col(x backends.Op, kSpatial, outSpatial []int, p convParams) backends.Op {
	shape := c.shape(x)
	if c.err != nil {
		return nil
	}
	nd := len(kSpatial)
	batch, channels := shape.Dimensions[0], shape.Dimensions[nd+1]
	kFlat, oFlat := prod(kSpatial), prod(outSpatial)
	full := func(spatialStart, spatialStride, spatialCount []int) backends.Op {
		start := append(append([]int{0}, spatialStart...), 0)
		stride := append(append([]int{1}, spatialStride...), 1)
		count := append(append([]int{batch}, spatialCount...), channels)
		return c.strided(x, start, stride, count)
	}
	if kFlat <= oFlat {
		parts := make([]backends.Op, 0, kFlat)
		for _, k := range windowOffsets(kSpatial) {
			start := make([]int, nd)
			for i := range nd {
				start[i] = k[i] * p.kerDil[i]
			}
			parts = append(parts, full(start, p.strides, outSpatial))
		}
		return c.reshape(c.concat(nd+1, parts...), batch, oFlat, kFlat*channels)
	}
	parts := make([]backends.Op, 0, oFlat)
	for _, o := range windowOffsets(outSpatial) {
		start := make([]int, nd)
		for i := range nd {
			start[i] = o[i] * p.strides[i]
		}
		parts = append(parts, c.reshape(full(start, p.kerDil, kSpatial), batch, 1, kFlat*channels))
	}
	return c.concat(1, parts...)
}

// patchesDot multiplies patches [B, O, K*C] by the kernel w [K..., Ci, Co],
// handling feature and batch groups, and returns [B/batchGroups, O, Co].
func (c *composer) patchesDot(patches, w backends.Op, batch, oFlat, kFlat, channels, kOut int, p convParams) backends.Op {
	kIn := channels / p.featureGroups
	switch {
	case p.featureGroups > 1:
		g := p.featureGroups
		lhs := c.reshape(patches, batch*oFlat, kFlat, g, kIn)
		rhs := c.reshape(w, kFlat, kIn, g, kOut/g)
		out := c.dotGeneral(lhs, []int{1, 3}, []int{2}, rhs, []int{0, 1}, []int{2}) // [G, B*O, Co/G]
		out = c.transpose(out, 1, 0, 2)
		return c.reshape(out, batch, oFlat, kOut)
	case p.batchGroups > 1:
		g := p.batchGroups
		lhs := c.reshape(patches, g, batch/g*oFlat, kFlat*channels)
		rhs := c.reshape(w, kFlat*channels, g, kOut/g)
		out := c.dotGeneral(lhs, []int{2}, []int{0}, rhs, []int{0}, []int{1}) // [G, B/G*O, Co/G]
		out = c.transpose(out, 1, 0, 2)
		return c.reshape(out, batch/g, oFlat, kOut)
	default:
		lhs := c.reshape(patches, batch*oFlat, kFlat*channels)
		rhs := c.reshape(w, kFlat*channels, kOut)
		out := c.dotGeneral(lhs, []int{1}, nil, rhs, []int{0}, nil)
		return c.reshape(out, batch, oFlat, kOut)
	}
}

func prod(xs []int) int {
	n := 1
	for _, x := range xs {
		n *= x
	}
	return n
}

// directConv runs SimpleGo's own convolution, with nil strides and dilations
// replaced by ones (SimpleGo reads them as zeros).
func (b *Builder) directConv(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	p, err := newConvParams(len(axes.InputSpatial), axes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	if err != nil {
		return nil, wrapOpError("ConvGeneral", err)
	}
	outs, err := b.record("ConvGeneral", []backends.Op{input, kernel}, func(sb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		out, err := sb.ConvGeneral(in[0], in[1], axes, p.strides, p.paddings, p.inDil, p.kerDil, p.featureGroups, p.batchGroups)
		return []backends.Op{out}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// kernelConv is the convolution on this package's own kernels: a blocked
// matrix multiplication whose A operand, the patches (with padding and input
// dilation folded in), is gathered from x block by block (patchGather). x is [B, spatial..., C]; the kernel, permuted by wPerm, is
// [K..., C, Co]. It returns [B, Oflat, Co].
func (c *composer) kernelConv(x, kernel backends.Op, wPerm, inSpatial, kSpatial, outSpatial []int, p convParams) backends.Op {
	xShape := c.shape(x)
	if c.err != nil {
		return nil
	}
	nd := len(inSpatial)
	dtype := xShape.DType
	batch, channels := xShape.Dimensions[0], xShape.Dimensions[nd+1]
	oFlat, kFlat := prod(outSpatial), prod(kSpatial)
	if winogradApplies(dtype, kSpatial, p, batch, outSpatial, channels, c.shape(kernel).Dimensions[wPerm[nd+1]]) {
		return c.winogradConv(x, kernel, wPerm, inSpatial, outSpatial, p)
	}
	rows := batch * oFlat
	table := patchTable(inSpatial, kSpatial, outSpatial, p)
	spans := tapSpans(table, kFlat)
	w, layout := c.kernelOperand(kernel, wPerm, rows)
	if c.err != nil {
		return nil
	}
	kOut := c.shape(kernel).Dimensions[wPerm[nd+1]]
	bRow, colStride := func(r int) int { return r * kOut }, 1
	if layout != nil {
		bRow, colStride = func(r int) int { return layout.rowOffsets[r] }, layout.colStride
	}
	if phases := convPhases(table, kSpatial, outSpatial, p, channels, bRow); phases != nil {
		run := phasedConvRun[float32](phases, batch, prod(inSpatial), channels, oFlat, kOut, colStride)
		if dtype == dtypes.Float64 {
			run = phasedConvRun[float64](phases, batch, prod(inSpatial), channels, oFlat, kOut, colStride)
		}
		out := c.keep(c.b.custom("PhasedConv", shapes.Make(dtype, rows, kOut), run, x, w))
		return c.reshape(out, batch, oFlat, kOut)
	}
	var run func(ins []any, out any, epi func(lo, hi int))
	if dtype == dtypes.Float32 {
		run = convRun[float32](table, spans, batch, prod(inSpatial), channels, oFlat, kFlat, kOut, layout)
	} else {
		run = convRun[float64](table, spans, batch, prod(inSpatial), channels, oFlat, kFlat, kOut, layout)
	}
	if kFlat == 1 && isPointwise(table, prod(inSpatial)) {
		// A 1x1 convolution over every position: x is the A operand as it is.
		if dtype == dtypes.Float32 {
			run = pointwiseRun[float32](rows, channels, kOut, layout)
		} else {
			run = pointwiseRun[float64](rows, channels, kOut, layout)
		}
	}
	out := c.customWithEpilogue("Conv", shapes.Make(dtype, rows, kOut), run, x, w)
	return c.reshape(out, batch, oFlat, kOut)
}

// kernelOperand returns the kernel as the matrix multiplication's B operand
// [K*C, Co]. When the kernel needs a transposition (as the reversed,
// channel-swapped kernel of an input gradient does) and the multiplication has
// few rows, B is read in place through a layout (see bLayout), fusing any
// Reverse/Transpose that produced the kernel; otherwise it is transposed.
func (c *composer) kernelOperand(kernel backends.Op, wPerm []int, rows int) (backends.Op, *bLayout) {
	const maxRowsForStridedB = 8 * mc // packing B costs once per mc rows
	kv, err := c.b.value("ConvGeneral", kernel)
	if err != nil {
		c.err = err
		return nil, nil
	}
	if isIdentity(wPerm) || rows > maxRowsForStridedB {
		// Row-major [K..., C, Co] is [K*C, Co] already: the kernels read flat
		// data, and a Reshape would copy a parameter on every run.
		return c.transpose(kernel, wPerm...), nil
	}
	source, view := kv, rowMajorView(kv.shape.Dimensions)
	if kv.node.view != nil {
		source, view = kv.node.inputs[0], *kv.node.view
	}
	nd := len(wPerm)
	dims, strides := make([]int, nd), make([]int, nd)
	for i, a := range wPerm {
		dims[i], strides[i] = view.dims[a], view.strides[a]
	}
	rowDims := dims[:nd-1]
	layout := &bLayout{rowOffsets: make([]int, prod(rowDims)), colStride: strides[nd-1]}
	idx := make([]int, nd-1)
	for p := range layout.rowOffsets {
		unflatten(p, rowDims, idx)
		off := view.start
		for i, v := range idx {
			off += v * strides[i]
		}
		layout.rowOffsets[p] = off
	}
	return source, layout
}

// isPointwise reports whether a patch table reads each of the inSize input
// positions once, in order, with one tap: a 1x1 convolution, stride 1, no padding.
func isPointwise(table []int32, inSize int) bool {
	if len(table) != inSize {
		return false
	}
	for i, src := range table {
		if int(src) != i {
			return false
		}
	}
	return true
}

// pointwiseRun returns the kernel of a pointwise convolution: x [rows,
// channels] times the kernel operand.
func pointwiseRun[T float](rows, channels, kOut int, layout *bLayout) func(ins []any, out any, epi func(lo, hi int)) {
	return func(ins []any, out any, epi func(lo, hi int)) {
		A := operand[T]{data: ins[0].([]T), rowStride: channels, depthStride: 1}
		matMulOperand(A, ins[1].([]T), out.([]T), rows, channels, kOut, layout, epi)
	}
}

// convRun returns the convolution kernel: the matrix multiplication of the
// patches of x (gathered block by block, see patchGather) by the kernel.
func convRun[T float](table, spans []int32, batch, spatialSize, channels, oFlat, kFlat, kOut int, layout *bLayout) func(ins []any, out any, epi func(lo, hi int)) {
	return func(ins []any, out any, epi func(lo, hi int)) {
		A := operand[T]{gather: patchGather(ins[0].([]T), table, spans, spatialSize, channels, oFlat, kFlat)}
		matMulOperand(A, ins[1].([]T), out.([]T), batch*oFlat, kFlat*channels, kOut, layout, epi)
	}
}

// weightGradientConv handles the kernel gradient of a convolution, which GoMLX
// expresses as the convolution of the input with the output gradient, batch
// and channel axes swapped. With x' = input laid out [InputChannels,
// spatial..., InputBatch] and w' = kernel laid out [KernelInputChannels,
// spatial..., KernelOutputChannels], the patches P of x' taken with the roles
// of kernel and output positions exchanged give out = Pᵀ·w', in the layout
// [output spatial..., OutputBatch, OutputChannels]. It applies (and reports
// true) when x' and w' need no transposition, as for NHWC activations, while
// the ordinary lowering would transpose the input.
func (c *composer) weightGradientConv(input, kernel backends.Op, inShape, kShape shapes.Shape, p convParams) (backends.Op, bool) {
	a := p.axes
	nd := len(a.InputSpatial)
	dtype := inShape.DType
	if p.featureGroups != 1 || p.batchGroups != 1 || !c.b.useKernels(dtype) {
		return nil, false
	}
	inSpatial, kSpatial := make([]int, nd), make([]int, nd)
	outSpatial := make([]int, nd)
	for i := range nd {
		inSpatial[i] = inShape.Dimensions[a.InputSpatial[i]]
		kSpatial[i] = kShape.Dimensions[a.KernelSpatial[i]]
		padded := (inSpatial[i]-1)*p.inDil[i] + 1 + p.paddings[i][0] + p.paddings[i][1]
		extent := (kSpatial[i]-1)*p.kerDil[i] + 1
		if padded < extent {
			return nil, false
		}
		outSpatial[i] = (padded-extent)/p.strides[i] + 1
	}
	oFlat, kFlat := prod(outSpatial), prod(kSpatial)
	xPerm := append(append([]int{a.InputChannels}, a.InputSpatial...), a.InputBatch)
	wPerm := append(append([]int{a.KernelInputChannels}, a.KernelSpatial...), a.KernelOutputChannels)
	ordinaryPerm := append(append([]int{a.InputBatch}, a.InputSpatial...), a.InputChannels)
	if !isIdentity(xPerm) || !isIdentity(wPerm) || isIdentity(ordinaryPerm) {
		return nil, false
	}
	batch, channels := inShape.Dimensions[a.InputBatch], inShape.Dimensions[a.InputChannels]
	kIn, kOut := kShape.Dimensions[a.KernelInputChannels], kShape.Dimensions[a.KernelOutputChannels]
	if kIn != channels {
		return nil, false
	}
	x, w := input, kernel
	// Table over (kernel position, output position): the kernel positions play
	// the role of the im2col rows.
	table := patchTable(inSpatial, kSpatial, outSpatial, p)
	var out backends.Op
	gather := gatherKernelGrad(dtype, channels*kFlat, oFlat*batch, batch*outSpatial[nd-1])
	// In x' the images are the channels axis and the channels the batch axis.
	switch m := winogradGradTileSize(dtype, outSpatial, kSpatial, p, channels, batch, kOut); {
	case m != 0:
		out = c.winogradGradConv(x, w, m, inSpatial, kSpatial, p, channels, batch, kOut)
	case mostlyPadding(table):
		out = c.weightGradByTap(x, w, table, prod(inSpatial), kFlat, oFlat, batch, channels, kOut)
	case gather && oFlat == 1 && batch < kOut && isPointwise(table, prod(inSpatial)):
		out = c.pointwiseKernelGrad(x, w, channels*kFlat, batch, kOut)
	case gather:
		// outᵀ = w'ᵀ·P: w' read transposed in place and the patches P of x'
		// gathered panel by panel as B, never stored whole.
		run := kernelGradRun(table, channels, prod(inSpatial), batch, kFlat, oFlat, kOut)
		outT := c.keep(c.b.custom("KernelGrad", shapes.Make(dtype, kOut, oFlat*batch), run, x, w))
		out = c.transpose(outT, 1, 0)
	default:
		out = c.weightGradIm2col(x, w, table, inSpatial, kFlat, oFlat, batch, channels, kOut)
	}
	out = c.reshape(out, append(append([]int{}, outSpatial...), batch, kOut)...)
	perm := make([]int, nd+2)
	for i, ax := range a.OutputSpatial {
		perm[ax] = i
	}
	perm[a.OutputBatch] = nd
	perm[a.OutputChannels] = nd + 1
	return c.transpose(out, perm...), true
}

// pointwiseKernelGrad is the kernel gradient [C, Co] of a pointwise (1x1
// stride-1) convolution with fewer input than output channels and a long
// depth (rows = images x positions): xᵀ·dY, x [rows, C] read transposed (the
// smaller operand to pack) and dY [rows, Co] in place, straight in the
// kernel's layout, so that the optimizer's update can run as its epilogue.
func (c *composer) pointwiseKernelGrad(x, dy backends.Op, rows, channels, kOut int) backends.Op {
	run := func(ins []any, out any, epi func(lo, hi int)) {
		A := operand[float32]{data: ins[0].([]float32), rowStride: 1, depthStride: channels}
		matMulOperand(A, ins[1].([]float32), out.([]float32), channels, rows, kOut, nil, epi)
	}
	return c.customWithEpilogue("KernelGradPointwise", shapes.Make(dtypes.Float32, channels, kOut), run, x, dy)
}

// gatherKernelGrad reports whether a kernel gradient whose product has depth
// (images x output positions) and rows (taps x channels) is computed as
// outᵀ = w'ᵀ·P with gathered patches (kernelGradRun): for float32, when the
// depth is long against the rows (so the patch matrix would be large to store
// and pack) and a row of taps (run: the kernel's last axis times the
// channels, contiguous in the input) makes copies of whole vectors.
func gatherKernelGrad(dtype dtypes.DType, depth, rows, run int) bool {
	return dtype == dtypes.Float32 && depth >= 4*rows && run >= 16
}

// kernelGradRun returns the kernel of weightGradientConv for float32: x' is
// [images, spatialSize, channels], w' [images*kFlat, kOut]; the output is
// [kOut, oFlat*channels].
func kernelGradRun(table []int32, images, spatialSize, channels, kFlat, oFlat, kOut int) func(ins []any, out any) {
	spans := tapSpansStrided(table, oFlat, kFlat)
	pointwise := oFlat == 1 && isPointwise(table, spatialSize)
	return func(ins []any, out any) {
		x, w := ins[0].([]float32), ins[1].([]float32)
		A := operand[float32]{data: w, rowStride: 1, depthStride: kOut}
		if pointwise { // the patches are x itself
			matMulOperand(A, x, out.([]float32), kOut, images*kFlat, channels, nil, nil)
			return
		}
		B := &bLayout{gather: patchPanelGather(x, table, spans, spatialSize, channels, kFlat)}
		matMulOperand(A, nil, out.([]float32), kOut, images*kFlat, oFlat*channels, B, nil)
	}
}

// mostlyPadding reports whether at least half of a patch table's entries read
// padding (a 3x3 kernel with padding 1 over a 2x2 map: 5 of 9). Over a 4x4 map
// (31%) the kernel gradient by tap measured 1.35x slower than one product.
func mostlyPadding(table []int32) bool {
	padded := 0
	for _, src := range table {
		if src < 0 {
			padded++
		}
	}
	return 2*padded >= len(table)
}

// weightGradByTap is weightGradientConv one kernel tap at a time, for maps
// small enough that most patches read padding: the gradient of tap t is
// Pₜᵀ·w'ₜ over only the (image, output position) pairs whose input at t is
// not padding, written straight into the tap's rows of the result
// [oFlat*batch, kOut]. In this frame the images are x's channels (channels of
// them), the kernel taps its output positions (oFlat) and the convolution's
// output positions the kernel's (kFlat); table is [oFlat][kFlat].
func (c *composer) weightGradByTap(x, w backends.Op, table []int32, spatialSize, kFlat, oFlat, batch, channels, kOut int) backends.Op {
	dtype := c.shape(x).DType
	run := weightGradByTapRun[float32](table, spatialSize, kFlat, oFlat, batch, channels, kOut)
	if dtype == dtypes.Float64 {
		run = weightGradByTapRun[float64](table, spatialSize, kFlat, oFlat, batch, channels, kOut)
	}
	return c.customWithEpilogue("KernelGradByTap", shapes.Make(dtype, oFlat*batch, kOut), run, x, w)
}

// weightGradByTapRun returns the kernel of weightGradByTap: x' is [images,
// spatialSize, batch], w' [images, kFlat, kOut], the output [oFlat*batch,
// kOut]; epi, when set, gets each tap's rows once final.
func weightGradByTapRun[T float](table []int32, spatialSize, kFlat, oFlat, batch, images, kOut int) func(ins []any, out any, epi func(lo, hi int)) {
	return func(ins []any, outAny any, epi func(lo, hi int)) {
		x, w, out := ins[0].([]T), ins[1].([]T), outAny.([]T)
		ptBuf, wtBuf := getPacked[T](images*kFlat*batch), getPacked[T](images*kFlat*kOut)
		defer packedPool.Put(ptBuf)
		defer packedPool.Put(wtBuf)
		pt, wt := *ptBuf, *wtBuf
		for t := range oFlat {
			// The (image, position) pairs that read a real input at tap t.
			rows := 0
			for img := range images {
				for pos := range kFlat {
					src := table[t*kFlat+pos]
					if src < 0 {
						continue
					}
					copy(pt[rows*batch:(rows+1)*batch], x[(img*spatialSize+int(src))*batch:])
					copy(wt[rows*kOut:(rows+1)*kOut], w[(img*kFlat+pos)*kOut:])
					rows++
				}
			}
			base := t * batch * kOut
			var tapEpi func(lo, hi int)
			if epi != nil {
				tapEpi = func(lo, hi int) { epi(base+lo, base+hi) }
			}
			A := operand[T]{data: pt, rowStride: 1, depthStride: batch} // Pₜ read transposed
			matMulOperand(A, wt, out[base:base+batch*kOut], batch, rows, kOut, nil, tapEpi)
		}
	}
}

// weightGradIm2col is weightGradientConv with the patch matrix stored whole,
// then multiplied transposed by w'. It returns [oFlat*batch, kOut].
func (c *composer) weightGradIm2col(x, w backends.Op, table []int32, inSpatial []int, kFlat, oFlat, batch, channels, kOut int) backends.Op {
	dtype := c.shape(x).DType
	swapped := make([]int32, len(table))
	for o := range oFlat {
		for k := range kFlat {
			swapped[k*oFlat+o] = table[o*kFlat+k]
		}
	}
	rows, depth := channels*kFlat, oFlat*batch
	spatialSize := prod(inSpatial)
	// In x' the channels axis comes first (the im2col "batch") and the batch
	// axis last (the im2col "channels"); kernel positions index the rows.
	var im2colRun func(ins []any, out any)
	var matMulRun func(ins []any, out any, epi func(lo, hi int))
	if dtype == dtypes.Float32 {
		im2colRun, matMulRun = weightGradRuns[float32](swapped, channels, spatialSize, batch, kFlat, oFlat, kOut)
	} else {
		im2colRun, matMulRun = weightGradRuns[float64](swapped, channels, spatialSize, batch, kFlat, oFlat, kOut)
	}
	patches := x // a pointwise convolution's patches are x itself
	if oFlat != 1 || !isPointwise(table, spatialSize) {
		patches = c.keep(c.b.custom("Im2col", shapes.Make(dtype, rows, depth), im2colRun, x))
	}
	if c.err != nil {
		return nil
	}
	return c.customWithEpilogue("MatMulTransA", shapes.Make(dtype, depth, kOut), matMulRun, patches, w)
}

// weightGradRuns returns the kernels of weightGradientConv: patches
// [outer*rowsPer, colsPer*inner] of x' [outer, spatial..., inner] following the
// (row, column) table, then patchesᵀ·w' [outer*rowsPer, kOut].
func weightGradRuns[T float](table []int32, outer, spatialSize, inner, rowsPer, colsPer, kOut int) (im2colRun func(ins []any, out any), matMulRun func(ins []any, out any, epi func(lo, hi int))) {
	im2colRun = func(ins []any, out any) {
		im2col(ins[0].([]T), out.([]T), table, outer, spatialSize, inner, rowsPer, colsPer)
	}
	matMulRun = func(ins []any, out any, epi func(lo, hi int)) {
		m := colsPer * inner
		A := operand[T]{data: ins[0].([]T), rowStride: 1, depthStride: m} // stored transposed
		matMulOperand(A, ins[1].([]T), out.([]T), m, outer*rowsPer, kOut, nil, epi)
	}
	return im2colRun, matMulRun
}
