package purego

// Convolutions with input dilation (the input gradients of strided
// convolutions) read a dilated input whose holes are zeros: with dilation d on
// an axis, each output position meets real inputs only at the taps of one
// residue class, so the plain lowering multiplies all but 1/d of its patches
// (per axis) by zero. The output positions split into phases by that residue;
// each phase is a dense convolution over its own taps, computed into a buffer
// and scattered back to its positions: the multiplications of the strided
// forward convolution, no more.

// convPhase is one residue class of output positions.
type convPhase struct {
	positions    []int32 // flat output positions
	taps         int     // kernel taps that read real inputs
	table, spans []int32 // patch table [len(positions)][taps] (see patchTable, tapSpans)
	bRows        []int   // B's row offset per (tap, channel) of the phase
}

// convPhases splits a convolution with input dilation into phases (nil when
// no axis is dilated). table is its patchTable; bRow gives the offset of row
// (tap*channels + channel) of the kernel operand.
func convPhases(table []int32, kSpatial, outSpatial []int, p convParams, channels int, bRow func(r int) int) []convPhase {
	nd := len(kSpatial)
	dilated := false
	for _, d := range p.inDil {
		dilated = dilated || d > 1
	}
	if !dilated {
		return nil
	}
	// Per axis: the residue class of each output coordinate, and the taps
	// valid for each class.
	classOf := make([][]int, nd)
	tapsOf := make([][][]int, nd)
	for i := range nd {
		d := p.inDil[i]
		classOf[i] = make([]int, outSpatial[i])
		for o := range outSpatial[i] {
			classOf[i][o] = ((o*p.strides[i]-p.paddings[i][0])%d + d) % d
		}
		tapsOf[i] = make([][]int, d)
		for r := range d {
			for k := range kSpatial[i] {
				if (r+k*p.kerDil[i])%d == 0 {
					tapsOf[i][r] = append(tapsOf[i][r], k)
				}
			}
		}
	}
	classes := make([]int, nd)
	for i := range nd {
		classes[i] = p.inDil[i]
	}
	kFlat := prod(kSpatial)
	phases := make([]convPhase, prod(classes))
	oIdx, cIdx := make([]int, nd), make([]int, nd)
	for o := range prod(outSpatial) {
		unflatten(o, outSpatial, oIdx)
		class := 0
		for i := range nd {
			class = class*classes[i] + classOf[i][oIdx[i]]
		}
		phases[class].positions = append(phases[class].positions, int32(o))
	}
	for class := range phases {
		ph := &phases[class]
		unflatten(class, classes, cIdx)
		taps := []int{0} // flat kernel taps, row-major
		for i := range nd {
			var next []int
			for _, t := range taps {
				for _, k := range tapsOf[i][cIdx[i]] {
					next = append(next, t*kSpatial[i]+k)
				}
			}
			taps = next
		}
		ph.taps = len(taps)
		ph.table = make([]int32, len(ph.positions)*len(taps))
		for j, o := range ph.positions {
			for t, k := range taps {
				ph.table[j*len(taps)+t] = table[int(o)*kFlat+k]
			}
		}
		ph.spans = tapSpans(ph.table, max(len(taps), 1))
		for _, k := range taps {
			for c := range channels {
				ph.bRows = append(ph.bRows, bRow(k*channels+c))
			}
		}
	}
	return phases
}

// phasedConvRun returns the kernel of a convolution split into phases: x is
// [batch, spatialSize, channels], the kernel operand is read at the phases'
// bRows with column stride colStride, the output is [batch*oFlat, kOut].
func phasedConvRun[T float](phases []convPhase, batch, spatialSize, channels, oFlat, kOut, colStride int) func(ins []any, out any) {
	return func(ins []any, outAny any) {
		x, w, out := ins[0].([]T), ins[1].([]T), outAny.([]T)
		var tmp []T
		for _, ph := range phases {
			n := len(ph.positions)
			if n == 0 {
				continue
			}
			if ph.taps == 0 {
				parallelRows(batch*n, func(r0, r1 int) {
					for r := r0; r < r1; r++ {
						row := (r/n)*oFlat + int(ph.positions[r%n])
						clear(out[row*kOut : (row+1)*kOut])
					}
				})
				continue
			}
			if cap(tmp) < batch*n*kOut {
				tmp = make([]T, batch*n*kOut)
			}
			tmp = tmp[:batch*n*kOut]
			A := operand[T]{gather: patchGather(x, ph.table, ph.spans, spatialSize, channels, n, ph.taps)}
			matMulOperand(A, w, tmp, batch*n, ph.taps*channels, kOut, &bLayout{rowOffsets: ph.bRows, colStride: colStride}, nil)
			parallelRows(batch*n, func(r0, r1 int) {
				for r := r0; r < r1; r++ {
					row := (r/n)*oFlat + int(ph.positions[r%n])
					copy(out[row*kOut:(row+1)*kOut], tmp[r*kOut:(r+1)*kOut])
				}
			})
		}
	}
}
