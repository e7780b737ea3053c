package purego

import "math"

// Pooling kernels. The axes of x split into a prefix and a suffix that the
// window leaves alone (window 1, stride 1, no padding: "outer" and "inner")
// and the pooled axes between them, whose windows are listed by a patchTable.

type windowPlan struct {
	outer, inner  int
	inMid, outMid int // flat sizes of the pooled axes, input and output
	kMid          int // window size
	table         []int32
	outDims       []int
}

// planWindow returns the plan, or false when the pooled axes are not contiguous.
func planWindow(dims, window, strides []int, paddings [][2]int) (windowPlan, bool) {
	rank := len(dims)
	passes := func(a int) bool {
		return window[a] == 1 && strides[a] == 1 && paddings[a] == [2]int{}
	}
	lo, hi := 0, rank
	for lo < rank && passes(lo) {
		lo++
	}
	for hi > lo && passes(hi-1) {
		hi--
	}
	for a := lo; a < hi; a++ {
		if window[a] < 1 || strides[a] < 1 {
			return windowPlan{}, false
		}
	}
	p := windowPlan{outer: prod(dims[:lo]), inner: prod(dims[hi:]), outDims: append([]int{}, dims...)}
	nd := hi - lo
	cp := convParams{strides: strides[lo:hi], inDil: ones(nd), kerDil: ones(nd), paddings: paddings[lo:hi]}
	outMid := make([]int, nd)
	for i := range nd {
		a := lo + i
		padded := dims[a] + paddings[a][0] + paddings[a][1]
		if padded < window[a] {
			return windowPlan{}, false
		}
		outMid[i] = (padded-window[a])/strides[a] + 1
		p.outDims[a] = outMid[i]
	}
	p.inMid, p.outMid, p.kMid = prod(dims[lo:hi]), prod(outMid), prod(window[lo:hi])
	p.table = patchTable(dims[lo:hi], window[lo:hi], outMid, cp)
	return p, true
}

// reduceWindowKernel writes out[outer, o, inner] = reduction over the window of
// o of x (padding contributes the identity element).
func reduceWindowKernel[T float](x, out []T, p windowPlan, combine func(a, b T) T, identity T) {
	parallelRows(p.outer*p.outMid, func(start, end int) {
		for row := start; row < end; row++ {
			outer, o := row/p.outMid, row%p.outMid
			dst := out[row*p.inner : (row+1)*p.inner]
			for i := range dst {
				dst[i] = identity
			}
			for _, src := range p.table[o*p.kMid : (o+1)*p.kMid] {
				if src < 0 {
					continue
				}
				base := (outer*p.inMid + int(src)) * p.inner
				for i, v := range x[base : base+p.inner] {
					dst[i] = combine(dst[i], v)
				}
			}
		}
	})
}

// selectAndScatterKernel writes into out (x's shape) the source value of each
// window at the position of the window's first extreme element (per better).
func selectAndScatterKernel[T float](x, source, out []T, p windowPlan, better func(a, b T) bool) {
	clear(out)
	parallelRows(p.outer, func(start, end int) {
		best := make([]T, p.inner)
		arg := make([]int32, p.inner)
		for outer := start; outer < end; outer++ {
			for o := range p.outMid {
				for i := range best {
					best[i], arg[i] = T(math.NaN()), -1
				}
				for _, src := range p.table[o*p.kMid : (o+1)*p.kMid] {
					if src < 0 {
						continue
					}
					base := (outer*p.inMid + int(src)) * p.inner
					for i, v := range x[base : base+p.inner] {
						if arg[i] < 0 || better(v, best[i]) {
							best[i], arg[i] = v, src
						}
					}
				}
				srcRow := source[(outer*p.outMid+o)*p.inner : (outer*p.outMid+o+1)*p.inner]
				for i, a := range arg {
					if a >= 0 {
						out[(outer*p.inMid+int(a))*p.inner+i] += srcRow[i]
					}
				}
			}
		}
	})
}
