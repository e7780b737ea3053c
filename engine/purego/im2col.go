package purego

import (
	"runtime"
)

// patchTable maps (output position, kernel position) pairs to input spatial
// positions: entry o*numK+k is the flat spatial index into the (unpadded,
// undilated) input, or -1 where the window reads padding or a dilation hole.
func patchTable(inSpatial, kSpatial, outSpatial []int, p convParams) []int32 {
	nd := len(inSpatial)
	oFlat, kFlat := prod(outSpatial), prod(kSpatial)
	// Per axis: source index for each (o_i, k_i), or -1.
	axisSrc := make([][]int, nd)
	for i := range nd {
		axisSrc[i] = make([]int, outSpatial[i]*kSpatial[i])
		for o := range outSpatial[i] {
			for k := range kSpatial[i] {
				c := o*p.strides[i] + k*p.kerDil[i] - p.paddings[i][0]
				src := -1
				if c >= 0 && c%p.inDil[i] == 0 && c/p.inDil[i] < inSpatial[i] {
					src = c / p.inDil[i]
				}
				axisSrc[i][o*kSpatial[i]+k] = src
			}
		}
	}
	table := make([]int32, oFlat*kFlat)
	oIdx, kIdx := make([]int, nd), make([]int, nd)
	for o := range oFlat {
		unflatten(o, outSpatial, oIdx)
		for k := range kFlat {
			unflatten(k, kSpatial, kIdx)
			flat := 0
			for i := range nd {
				src := axisSrc[i][oIdx[i]*kSpatial[i]+kIdx[i]]
				if src < 0 {
					flat = -1
					break
				}
				flat = flat*inSpatial[i] + src
			}
			table[o*kFlat+k] = int32(flat)
		}
	}
	return table
}

// unflatten writes the row-major multi-index of flat within dims into idx.
func unflatten(flat int, dims, idx []int) {
	for i := len(dims) - 1; i >= 0; i-- {
		idx[i] = flat % dims[i]
		flat /= dims[i]
	}
}

// im2col fills patches [batch*oFlat, kFlat*channels] from x [batch, spatial..., channels]
// following table (see patchTable).
func im2col[T float](x, patches []T, table []int32, batch, spatialSize, channels, oFlat, kFlat int) {
	rows := batch * oFlat
	rowLen := kFlat * channels
	parallelRows(rows, func(start, end int) {
		for row := start; row < end; row++ {
			b, o := row/oFlat, row%oFlat
			base := b * spatialSize * channels
			dst := patches[row*rowLen : (row+1)*rowLen]
			entries := table[o*kFlat : (o+1)*kFlat]
			for k, src := range entries {
				d := dst[k*channels : (k+1)*channels]
				switch {
				case src < 0:
					clear(d)
				case channels < 16: // short rows: a loop beats memmove's call
					off := base + int(src)*channels
					//lint:ignore S1001 for rows this short the loop is faster than copy's memmove call
					for j, v := range x[off : off+channels] {
						d[j] = v
					}
				default:
					off := base + int(src)*channels
					copy(d, x[off:off+channels])
				}
			}
		}
	})
}

// parallelRows splits [0, n) into contiguous chunks run on GOMAXPROCS goroutines.
func parallelRows(n int, fn func(start, end int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	parallelFor((n+chunk-1)/chunk, func(w int) { fn(w*chunk, min((w+1)*chunk, n)) })
}

// patchGather returns the gather function of the matrix multiplication's A
// operand for the patches of x [batch, spatialSize, channels] following table
// (see patchTable) and its spans (tapSpans): row b*oFlat+o, depth k*channels+c. It writes panels of mr
// rows, each row's depths contiguous (out[panel][r][p]), straight from x, so
// the patch matrix is never stored whole: each block is gathered into a
// worker's cache-sized buffer, one copy per run of kernel taps that are
// contiguous in x (see tapSpans; with few channels, as in a first layer,
// these runs are much longer than one tap).
func patchGather[T float](x []T, table, spans []int32, spatialSize, channels, oFlat, kFlat int) func(i0, i1, p0, depth int, out []T) {
	return func(i0, i1, p0, depth int, out []T) {
		for row := i0; row < roundUp(i1, mr); row++ {
			dst := out[(row-i0)*depth : (row-i0+1)*depth]
			if row >= i1 {
				clear(dst)
				continue
			}
			b, o := row/oFlat, row%oFlat
			entries := table[o*kFlat : (o+1)*kFlat]
			rowSpans := spans[o*kFlat : (o+1)*kFlat]
			base := b * spatialSize * channels
			for p := p0; p < p0+depth; {
				k, c := p/channels, p%channels
				run := min(int(rowSpans[k])*channels-c, p0+depth-p)
				d := dst[p-p0 : p-p0+run]
				if src := entries[k]; src < 0 {
					clear(d)
				} else {
					off := base + int(src)*channels + c
					copy(d, x[off:off+run])
				}
				p += run
			}
		}
	}
}

// tapSpans returns, for each entry of a patch table (rows of kFlat kernel
// taps), how many taps from it on read consecutive input positions (or all
// read padding): the taps whose channels form one contiguous run of x.
func tapSpans(table []int32, kFlat int) []int32 {
	spans := make([]int32, len(table))
	for row := 0; row < len(table); row += kFlat {
		for k := kFlat - 1; k >= 0; k-- {
			spans[row+k] = 1
			if k+1 < kFlat {
				cur, next := table[row+k], table[row+k+1]
				if (cur < 0 && next < 0) || (cur >= 0 && next == cur+1) {
					spans[row+k] = spans[row+k+1] + 1
				}
			}
		}
	}
	return spans
}

// patchPanelGather returns the gather of a kernel gradient's B operand (see
// bLayout): the patches of x [images, spatialSize, channels] with rows
// (image, output position), oFlat positions per image, and columns (tap,
// channel), the input position of each in table[tap*oFlat+position] (a
// patchTable with the roles of kernel and output positions exchanged). Taps
// at consecutive input positions are one copy (spans, see tapSpansStrided).
func patchPanelGather(x []float32, table, spans []int32, spatialSize, channels, oFlat int) func(p0, depth, j, j1 int, out []float32) {
	return func(p0, depth, j, j1 int, out []float32) {
		cols := j1 - j
		img, pos := p0/oFlat, p0%oFlat
		for p := range depth {
			dst := out[p*nr : p*nr+nr : p*nr+nr]
			base := img * spatialSize
			if tap, c := j/channels, j%channels; cols == nr && int(spans[tap*oFlat+pos])*channels-c >= nr {
				// One run fills the panel row: a fixed-size copy, no memmove call.
				if src := table[tap*oFlat+pos]; src < 0 {
					*(*[nr]float32)(dst) = [nr]float32{}
				} else {
					off := (base+int(src))*channels + c
					*(*[nr]float32)(dst) = *(*[nr]float32)(x[off : off+nr])
				}
				if pos++; pos == oFlat {
					pos, img = 0, img+1
				}
				continue
			}
			for jj := 0; jj < cols; {
				tap, c := (j+jj)/channels, (j+jj)%channels
				run := min(int(spans[tap*oFlat+pos])*channels-c, cols-jj)
				d := dst[jj : jj+run]
				if src := table[tap*oFlat+pos]; src < 0 {
					clear(d)
				} else {
					off := (base+int(src))*channels + c
					copy(d, x[off:off+run])
				}
				jj += run
			}
			clear(dst[cols:])
			if pos++; pos == oFlat {
				pos, img = 0, img+1
			}
		}
	}
}

// tapSpansStrided is tapSpans for a table of taps by positions
// (table[tap*positions+position]): per entry, how many taps from it on read
// consecutive input positions at the same output position (or all padding).
func tapSpansStrided(table []int32, taps, positions int) []int32 {
	spans := make([]int32, len(table))
	for pos := range positions {
		for t := taps - 1; t >= 0; t-- {
			i := t*positions + pos
			spans[i] = 1
			if t+1 < taps {
				cur, next := table[i], table[i+positions]
				if (cur < 0 && next < 0) || (cur >= 0 && next == cur+1) {
					spans[i] = spans[i+positions] + 1
				}
			}
		}
	}
	return spans
}
