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

// windowOp is the reduction of a pooling window.
type windowOp int

const (
	windowSum windowOp = iota
	windowMax
	windowMin
)

// reduceWindowKernel writes out[outer, o, inner] = reduction over the window of
// o of x (padding contributes the identity element): the first row of the
// window is copied and the others combined into it, whole rows at a time.
func reduceWindowKernel[T float](x, out []T, p windowPlan, op windowOp) {
	identity := T(0)
	switch op {
	case windowMax:
		identity = T(math.Inf(-1))
	case windowMin:
		identity = T(math.Inf(1))
	}
	parallelRows(p.outer*p.outMid, func(start, end int) {
		for row := start; row < end; row++ {
			outer, o := row/p.outMid, row%p.outMid
			dst := out[row*p.inner : (row+1)*p.inner]
			first := true
			for _, src := range p.table[o*p.kMid : (o+1)*p.kMid] {
				if src < 0 {
					continue
				}
				base := (outer*p.inMid + int(src)) * p.inner
				if first {
					copy(dst, x[base:base+p.inner])
					first = false
					continue
				}
				combineRow(op, dst, x[base:base+p.inner])
			}
			if first {
				for i := range dst {
					dst[i] = identity
				}
			}
		}
	})
}

// combineRow sets dst[i] = op(dst[i], src[i]) (max and min propagate NaN).
func combineRow[T float](op windowOp, dst, src []T) {
	src = src[:len(dst)]
	done := 0
	if d32, ok := any(dst).([]float32); ok {
		done = execEWFast([...]ewCode{windowSum: ewAdd, windowMax: ewMax, windowMin: ewMin}[op], d32, d32, any(src).([]float32), nil)
	}
	dst, src = dst[done:], src[done:len(dst)]
	switch op {
	case windowSum:
		for i, v := range src {
			dst[i] += v
		}
	case windowMax:
		for i, v := range src {
			dst[i] = max(dst[i], v)
		}
	case windowMin:
		for i, v := range src {
			dst[i] = min(dst[i], v)
		}
	}
}

// selectAndScatterKernel writes into out (x's shape) the source value of each
// window at the position of the window's first extreme element (largest with
// isMax, else smallest; NaN in a window's first element wins, later NaNs lose;
// float32 rows go to selectAndScatterRows).
func selectAndScatterKernel[T float](x, source, out []T, p windowPlan, isMax bool) {
	clear(out)
	if x32, ok := any(x).([]float32); ok && haveFastKernel && p.inner >= 8 {
		selectAndScatterRows(x32, any(source).([]float32), any(out).([]float32), p, isMax)
		return
	}
	parallelRows(p.outer, func(start, end int) {
		best := make([]T, p.inner)
		arg := make([]int32, p.inner)
		for outer := start; outer < end; outer++ {
			for o := range p.outMid {
				first := true
				for _, src := range p.table[o*p.kMid : (o+1)*p.kMid] {
					if src < 0 {
						continue
					}
					base := (outer*p.inMid + int(src)) * p.inner
					row := x[base : base+p.inner]
					switch {
					case first:
						copy(best, row)
						for i := range arg {
							arg[i] = src
						}
						first = false
					case isMax:
						for i, v := range row {
							if v > best[i] {
								best[i], arg[i] = v, src
							}
						}
					default:
						for i, v := range row {
							if v < best[i] {
								best[i], arg[i] = v, src
							}
						}
					}
				}
				if first {
					continue
				}
				srcRow := source[(outer*p.outMid+o)*p.inner : (outer*p.outMid+o+1)*p.inner]
				dst := out[outer*p.inMid*p.inner:]
				for i, a := range arg {
					dst[int(a)*p.inner+i] += srcRow[i]
				}
			}
		}
	})
}

// selectAndScatterRows is selectAndScatterKernel on whole rows of float32: the
// window's extreme row by row (combineRow), then each window row, in order,
// passes the source to the lanes equal to it that no earlier row took (a NaN
// extreme takes nothing).
func selectAndScatterRows(x, source, out []float32, p windowPlan, isMax bool) {
	op := windowMin
	if isMax {
		op = windowMax
	}
	parallelRows(p.outer, func(start, end int) {
		best := make([]float32, p.inner)
		taken := make([]float32, p.inner)
		for outer := start; outer < end; outer++ {
			for o := range p.outMid {
				window := p.table[o*p.kMid : (o+1)*p.kMid]
				first := true
				for _, src := range window {
					if src < 0 {
						continue
					}
					base := (outer*p.inMid + int(src)) * p.inner
					if first {
						copy(best, x[base:base+p.inner])
						first = false
					} else {
						combineRow(op, best, x[base:base+p.inner])
					}
				}
				if first {
					continue
				}
				clear(taken)
				srcRow := source[(outer*p.outMid+o)*p.inner : (outer*p.outMid+o+1)*p.inner]
				for _, src := range window {
					if src < 0 {
						continue
					}
					base := (outer*p.inMid + int(src)) * p.inner
					selectRow(out[base:base+p.inner], x[base:base+p.inner], best, srcRow, taken)
				}
			}
		}
	})
}

// selectRow adds src[i] to out[i] where x[i] == best[i] and taken[i] is not
// set, and sets taken[i] there (all bits).
func selectRow(out, x, best, src, taken []float32) {
	done := selectRowFast(out, x, best, src, taken)
	for i := done; i < len(out); i++ {
		if math.Float32bits(taken[i]) == 0 && x[i] == best[i] {
			out[i] += src[i]
			taken[i] = math.Float32frombits(^uint32(0))
		}
	}
}
