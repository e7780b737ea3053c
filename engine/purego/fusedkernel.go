package purego

import (
	"math"
	"runtime"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// fusedProgram is a cluster of element-wise operations compiled for the fused
// kernel: slots 0..len(inputs)-1 hold the external operands, one slot per
// member holds its result. Bool values are 0/1 floats inside the kernel.
type fusedProgram struct {
	dims    []int // the cluster's shape
	size    int
	inputs  []fusedInput
	instrs  []fusedInstr
	outputs []fusedOutput
	// buffers is the number of per-chunk scratch buffers; each non-input slot
	// that is not an exported float value gets one (reused after its last read).
	buffers int
	chunk   int // elements per chunk, whole rows when an operand broadcasts rows
	slots   int // inputs and results
}

type fusedInput struct {
	mode   opMode
	isBool bool
	// rowStrides, for modeRows: the operand's row index per leading axis of
	// the cluster's shape (0 where it broadcasts).
	rowStrides []int
}

type fusedInstr struct {
	code   ewCode
	args   [3]int // slots
	nargs  int
	result int // slot
	buffer int // scratch buffer of the result, or -1 when it is written to an output
	output int // index in outputs, or -1
}

type fusedOutput struct {
	slot   int
	isBool bool
}

// newFusedNode compiles members (in recording order) into a custom node whose
// outputs are the members' values read outside the cluster.
func newFusedNode(members []*node, f *fusion) (*node, bool) {
	inCluster := make(map[*node]bool, len(members))
	for _, m := range members {
		inCluster[m] = true
	}
	dims := members[0].outputs[0].shape.Dimensions
	dtype, ok := clusterFloat(members)
	if !ok {
		return nil, false
	}
	p := &fusedProgram{dims: dims, size: prod(dims)}
	slotOf := make(map[*value]int)
	var inputs, outputs []*value
	for _, m := range members {
		for _, in := range m.inputs {
			if _, ok := slotOf[in]; ok || inCluster[in.node] {
				continue
			}
			slotOf[in] = len(p.inputs)
			p.inputs = append(p.inputs, newFusedInput(in.shape.Dimensions, dims, in.shape.DType == dtypes.Bool))
			inputs = append(inputs, in)
		}
	}
	hasRows := false
	for _, in := range p.inputs {
		hasRows = hasRows || in.mode == modeRows
	}
	for _, m := range members {
		v := m.outputs[0]
		ins := fusedInstr{code: m.ew, nargs: len(m.inputs), result: len(p.inputs) + len(p.instrs), buffer: -1, output: -1}
		for i, in := range m.inputs {
			ins.args[i] = slotOf[in]
		}
		slotOf[v] = ins.result
		if f.exported(v, inCluster) {
			ins.output = len(p.outputs)
			p.outputs = append(p.outputs, fusedOutput{slot: ins.result, isBool: v.shape.DType == dtypes.Bool})
			outputs = append(outputs, v)
		}
		p.instrs = append(p.instrs, ins)
	}
	p.slots = len(p.inputs) + len(p.instrs)
	p.combine()
	p.allocateBuffers()
	p.chunk = 1024
	if rowLen := dims[len(dims)-1]; hasRows {
		p.chunk = max(1, 1024/rowLen) * rowLen
	}
	fused := &node{builder: members[0].builder, kind: kindCustom, name: p.describe(), inputs: inputs, outputs: outputs}
	if dtype == dtypes.Float32 {
		fused.runMulti, fused.ranges = fusedRun[float32](p), fusedRanges[float32](p)
	} else {
		fused.runMulti, fused.ranges = fusedRun[float64](p), fusedRanges[float64](p)
	}
	for _, v := range outputs {
		v.node = fused
	}
	return fused, true
}

// clusterFloat returns the one float dtype of the cluster's values, false if
// there is none or more than one.
func clusterFloat(members []*node) (dtypes.DType, bool) {
	dtype := dtypes.InvalidDType
	check := func(d dtypes.DType) bool {
		if d == dtypes.Bool {
			return true
		}
		if dtype == dtypes.InvalidDType {
			dtype = d
		}
		return d == dtype
	}
	for _, m := range members {
		if !check(m.outputs[0].shape.DType) {
			return dtype, false
		}
		for _, in := range m.inputs {
			if !check(in.shape.DType) {
				return dtype, false
			}
		}
	}
	return dtype, dtype != dtypes.InvalidDType
}

func newFusedInput(dims, full []int, isBool bool) fusedInput {
	in := fusedInput{mode: operandMode(dims, full), isBool: isBool}
	if in.mode == modeRows {
		n := len(full)
		in.rowStrides = make([]int, n-1)
		acc := 1
		for k := n - 2; k >= 0; k-- {
			if dims[k] != 1 {
				in.rowStrides[k] = acc
			}
			acc *= dims[k]
		}
	}
	return in
}

// combine merges pairs of instructions into one pass over the chunk: a product
// read only by a sum becomes a multiply-add (batch-norm inference), a logistic
// read only by the product with its own argument a swish. Results stay bit for
// bit the same.
func (p *fusedProgram) combine() {
	uses := make(map[int]int)
	for _, ins := range p.instrs {
		for _, a := range ins.args[:ins.nargs] {
			uses[a]++
		}
	}
	producer := make(map[int]int) // slot -> instruction
	removed := make(map[int]bool)
	// single returns the instruction computing slot s if it has code, is read once and is not exported.
	single := func(s int, code ewCode) (int, bool) {
		i, ok := producer[s]
		if !ok || removed[i] || p.instrs[i].code != code || p.instrs[i].output >= 0 || uses[s] != 1 {
			return 0, false
		}
		return i, true
	}
	for j := range p.instrs {
		ins := &p.instrs[j]
		for side := range 2 {
			if ins.nargs != 2 {
				break
			}
			s, other := ins.args[side], ins.args[1-side]
			if i, ok := single(s, ewMul); ok && ins.code == ewAdd {
				mul := p.instrs[i]
				ins.code, ins.nargs, ins.args = ewMulAdd, 3, [3]int{mul.args[0], mul.args[1], other}
				removed[i] = true
				break
			}
			if i, ok := single(s, ewLogistic); ok && ins.code == ewMul && p.instrs[i].args[0] == other {
				ins.code, ins.nargs, ins.args = ewSwish, 1, [3]int{other}
				removed[i] = true
				break
			}
		}
		producer[ins.result] = j
	}
	kept := p.instrs[:0]
	for j, ins := range p.instrs {
		if !removed[j] {
			kept = append(kept, ins)
		}
	}
	p.instrs = kept
}

// allocateBuffers gives each result that is not an exported float value a
// scratch buffer, reusing buffers whose value has been read for the last time.
// Exported bool values keep theirs to the end of the chunk.
func (p *fusedProgram) allocateBuffers() {
	lastUse := make(map[int]int)
	for i, ins := range p.instrs {
		for _, a := range ins.args[:ins.nargs] {
			lastUse[a] = i
		}
	}
	bufOf := make(map[int]int) // slot -> buffer
	var free []int
	for i := range p.instrs {
		ins := &p.instrs[i]
		if ins.output < 0 || p.outputs[ins.output].isBool {
			if len(free) > 0 {
				ins.buffer, free = free[len(free)-1], free[:len(free)-1]
			} else {
				ins.buffer = p.buffers
				p.buffers++
			}
			bufOf[ins.result] = ins.buffer
		}
		for _, a := range ins.args[:ins.nargs] {
			b, ok := bufOf[a]
			if ok && lastUse[a] == i && !p.exportsBool(a) {
				free = append(free, b)
				delete(bufOf, a)
			}
		}
	}
}

func (p *fusedProgram) exportsBool(slot int) bool {
	for _, o := range p.outputs {
		if o.slot == slot {
			return o.isBool
		}
	}
	return false
}

// describe names the fused node after its operations, for messages and profiles.
func (p *fusedProgram) describe() string {
	names := make([]string, len(p.instrs))
	for i, ins := range p.instrs {
		names[i] = ewNames[ins.code]
	}
	return "Fused(" + strings.Join(names, ",") + ")"
}

// fusedRun returns the kernel: chunks of the cluster's elements in parallel,
// each through every instruction with its operands in per-worker buffers.
func fusedRun[T float](p *fusedProgram) func(ins []any, outs []any) {
	return func(insAny []any, outsAny []any) {
		ins, boolIns, outs, boolOuts := fusedOperands[T](p, insAny, outsAny)
		numChunks := (p.size + p.chunk - 1) / p.chunk
		parallelRows(numChunks, func(c0, c1 int) {
			w := newFusedWorker[T](p, ins, boolIns)
			for c := c0; c < c1; c++ {
				lo, hi := c*p.chunk, min((c+1)*p.chunk, p.size)
				w.chunk(lo, hi, outs, boolOuts)
			}
		})
	}
}

// fusedRanges returns the kernel as ranges: given the operands, a function
// that computes the elements [lo, hi) (lo a multiple of the chunk size) on the
// calling goroutine, so that the producer of an operand can run it as soon as
// that range of the operand is ready.
func fusedRanges[T float](p *fusedProgram) func(ins []any, outs []any) func(lo, hi int) {
	return func(insAny []any, outsAny []any) func(lo, hi int) {
		ins, boolIns, outs, boolOuts := fusedOperands[T](p, insAny, outsAny)
		idle := make(chan *fusedWorker[T], runtime.GOMAXPROCS(0))
		return func(lo, hi int) {
			var w *fusedWorker[T]
			select {
			case w = <-idle:
			default:
				w = newFusedWorker[T](p, ins, boolIns)
			}
			for c := lo; c < hi; c += p.chunk {
				w.chunk(c, min(c+p.chunk, hi), outs, boolOuts)
			}
			select {
			case idle <- w:
			default:
			}
		}
	}
}

// fusedOperands returns the kernel's operands as typed slices, bools apart.
func fusedOperands[T float](p *fusedProgram, insAny, outsAny []any) (ins [][]T, boolIns [][]bool, outs [][]T, boolOuts [][]bool) {
	ins, boolIns = make([][]T, len(insAny)), make([][]bool, len(insAny))
	for i, x := range insAny {
		if p.inputs[i].isBool {
			boolIns[i] = x.([]bool)
		} else {
			ins[i] = x.([]T)
		}
	}
	outs, boolOuts = make([][]T, len(outsAny)), make([][]bool, len(outsAny))
	for i, x := range outsAny {
		if p.outputs[i].isBool {
			boolOuts[i] = x.([]bool)
		} else {
			outs[i] = x.([]T)
		}
	}
	return ins, boolIns, outs, boolOuts
}

// fusedWorker holds one goroutine's scratch buffers.
type fusedWorker[T float] struct {
	p       *fusedProgram
	ins     [][]T
	boolIns [][]bool
	slots   [][]T
	scratch [][]T
	// inBuf holds converted or expanded operands; constant ones are filled once.
	inBuf    [][]T
	constant []bool
}

func newFusedWorker[T float](p *fusedProgram, ins [][]T, boolIns [][]bool) *fusedWorker[T] {
	w := &fusedWorker[T]{p: p, ins: ins, boolIns: boolIns, slots: make([][]T, p.slots),
		scratch: make([][]T, p.buffers), inBuf: make([][]T, len(p.inputs)), constant: make([]bool, len(p.inputs))}
	for i := range w.scratch {
		w.scratch[i] = make([]T, p.chunk)
	}
	for i, in := range p.inputs {
		if in.mode == modeFull && !in.isBool {
			continue
		}
		w.inBuf[i] = make([]T, p.chunk)
		switch {
		case in.mode == modeScalar:
			fill(w.inBuf[i], w.scalar(i))
			w.constant[i] = true
		case in.mode == modeRows && isZeros(in.rowStrides):
			w.expandRows(i, 0, p.chunk)
			w.constant[i] = true
		}
	}
	return w
}

func (w *fusedWorker[T]) scalar(i int) T {
	if w.p.inputs[i].isBool {
		return boolValue[T](w.boolIns[i][0])
	}
	return w.ins[i][0]
}

// expandRows writes operand i's values for the cluster's elements [lo, hi)
// (whole rows) to its buffer.
func (w *fusedWorker[T]) expandRows(i, lo, hi int) {
	in := w.p.inputs[i]
	dims := w.p.dims
	rowLen := dims[len(dims)-1]
	lead := dims[:len(dims)-1]
	idx := make([]int, len(lead))
	buf := w.inBuf[i]
	for r := lo / rowLen; r < (hi+rowLen-1)/rowLen; r++ {
		unflatten(r, lead, idx)
		off := 0
		for k, v := range idx {
			off += v * in.rowStrides[k]
		}
		dst := buf[r*rowLen-lo : r*rowLen-lo+rowLen]
		if in.isBool {
			for j, b := range w.boolIns[i][off*rowLen : off*rowLen+rowLen] {
				dst[j] = boolValue[T](b)
			}
		} else {
			copy(dst, w.ins[i][off*rowLen:off*rowLen+rowLen])
		}
	}
}

// chunk computes the cluster's elements [lo, hi).
func (w *fusedWorker[T]) chunk(lo, hi int, outs [][]T, boolOuts [][]bool) {
	p := w.p
	n := hi - lo
	for i, in := range p.inputs {
		switch {
		case in.mode == modeFull && !in.isBool:
			w.slots[i] = w.ins[i][lo:hi]
		case in.mode == modeFull:
			buf := w.inBuf[i][:n]
			for j, b := range w.boolIns[i][lo:hi] {
				buf[j] = boolValue[T](b)
			}
			w.slots[i] = buf
		default:
			if !w.constant[i] {
				w.expandRows(i, lo, hi)
			}
			w.slots[i] = w.inBuf[i][:n]
		}
	}
	for _, ins := range p.instrs {
		var dst []T
		if ins.buffer >= 0 {
			dst = w.scratch[ins.buffer][:n]
		} else {
			dst = outs[ins.output][lo:hi]
		}
		var a, b, c []T
		a = w.slots[ins.args[0]]
		if ins.nargs > 1 {
			b = w.slots[ins.args[1]]
		}
		if ins.nargs > 2 {
			c = w.slots[ins.args[2]]
		}
		execEW(ins.code, dst, a, b, c)
		w.slots[ins.result] = dst
	}
	for i, o := range p.outputs {
		if o.isBool {
			dst := boolOuts[i][lo:hi]
			for j, v := range w.slots[o.slot] {
				dst[j] = v != 0
			}
		}
	}
}

// boolValue is 1 for true and 0 for false (without a branch).
func boolValue[T float](b bool) T {
	var u uint8
	if b {
		u = 1
	}
	return T(u)
}

func fill[T float](dst []T, v T) {
	for i := range dst {
		dst[i] = v
	}
}

func isZeros(xs []int) bool {
	for _, x := range xs {
		if x != 0 {
			return false
		}
	}
	return true
}

// execEW sets dst to the operation applied element by element to a (and b, c).
// Transcendental functions go through float64 as SimpleGo's do.
func execEW[T float](code ewCode, dst, a, b, c []T) {
	n := len(dst)
	a = a[:n]
	if b != nil {
		b = b[:n]
	}
	if f32, ok := any(dst).([]float32); ok {
		var b32, c32 []float32
		if b != nil {
			b32 = any(b).([]float32)
		}
		if c != nil {
			c32 = any(c).([]float32)
		}
		if done := execEWFast(code, f32, any(a).([]float32), b32, c32); done > 0 {
			if done == n {
				return
			}
			dst, a = dst[done:], a[done:]
			if b != nil {
				b = b[done:]
			}
			if c != nil {
				c = c[done:]
			}
		}
	}
	switch code {
	case ewAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case ewSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case ewMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case ewDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	case ewMax:
		for i := range dst {
			dst[i] = max(a[i], b[i])
		}
	case ewMin:
		for i := range dst {
			dst[i] = min(a[i], b[i])
		}
	case ewPow:
		for i := range dst {
			dst[i] = T(math.Pow(float64(a[i]), float64(b[i])))
		}
	case ewGT, ewGE, ewLT, ewLE, ewEQ, ewNE:
		compareEW(code, dst, a, b)
	case ewAnd:
		for i := range dst {
			dst[i] = boolValue[T](a[i] != 0 && b[i] != 0)
		}
	case ewOr:
		for i := range dst {
			dst[i] = boolValue[T](a[i] != 0 || b[i] != 0)
		}
	case ewWhere:
		c = c[:len(dst)]
		for i := range dst {
			if a[i] != 0 {
				dst[i] = b[i]
			} else {
				dst[i] = c[i]
			}
		}
	case ewMulAdd:
		c = c[:len(dst)]
		for i := range dst {
			prod := T(a[i] * b[i]) // rounded before the sum: no fused multiply-add
			dst[i] = prod + c[i]
		}
	default:
		unaryEW(code, dst, a)
	}
}

func compareEW[T float](code ewCode, dst, a, b []T) {
	switch code {
	case ewGT:
		for i := range dst {
			dst[i] = boolValue[T](a[i] > b[i])
		}
	case ewGE:
		for i := range dst {
			dst[i] = boolValue[T](a[i] >= b[i])
		}
	case ewLT:
		for i := range dst {
			dst[i] = boolValue[T](a[i] < b[i])
		}
	case ewLE:
		for i := range dst {
			dst[i] = boolValue[T](a[i] <= b[i])
		}
	case ewEQ:
		for i := range dst {
			dst[i] = boolValue[T](a[i] == b[i])
		}
	default:
		for i := range dst {
			dst[i] = boolValue[T](a[i] != b[i])
		}
	}
}

func unaryEW[T float](code ewCode, dst, a []T) {
	switch code {
	case ewNeg:
		for i := range dst {
			dst[i] = -a[i]
		}
	case ewAbs:
		for i, v := range a {
			if v < 0 {
				v = -v
			}
			dst[i] = v
		}
	case ewExp:
		for i := range dst {
			dst[i] = T(math.Exp(float64(a[i])))
		}
	case ewLog:
		for i := range dst {
			dst[i] = T(math.Log(float64(a[i])))
		}
	case ewLog1p:
		for i := range dst {
			dst[i] = T(math.Log1p(float64(a[i])))
		}
	case ewLogistic:
		logisticEW(dst, a)
	case ewSwish:
		logisticEW(dst, a)
		for i, v := range a {
			dst[i] *= v
		}
	case ewTanh:
		for i := range dst {
			dst[i] = T(math.Tanh(float64(a[i])))
		}
	case ewSqrt:
		for i := range dst {
			dst[i] = T(math.Sqrt(float64(a[i])))
		}
	case ewRsqrt:
		for i := range dst {
			dst[i] = T(1 / math.Sqrt(float64(a[i])))
		}
	case ewSign:
		for i, v := range a {
			switch {
			case v > 0:
				dst[i] = 1
			case v < 0:
				dst[i] = -1
			default:
				dst[i] = v // zero (keeping its sign) or NaN
			}
		}
	case ewNot:
		for i := range dst {
			dst[i] = boolValue[T](a[i] == 0)
		}
	default: // ewIdentity, ewConvert
		copy(dst, a)
	}
}

// logisticEW is SimpleGo's logistic: 1/(1+e^-x), through e^x for negative x.
func logisticEW[T float](dst, a []T) {
	for i, v := range a {
		if v >= 0 {
			dst[i] = T(1 / (1 + math.Exp(-float64(v))))
		} else {
			e := math.Exp(float64(v))
			dst[i] = T(e / (1 + e))
		}
	}
}
