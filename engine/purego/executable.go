package purego

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Executable runs a compiled purego graph: a sequence of steps, each either a
// compiled SimpleGo segment or a custom pure-Go kernel, passing buffers along.
type Executable struct {
	backend *Backend
	params  []*value
	outputs []*value
	steps   []*step
	// uses counts, per value id, the steps that read the value.
	uses     []int
	isOutput []bool
	numVals  int
}

var _ backends.Executable = (*Executable)(nil)

type step struct {
	segment backends.Executable // a SimpleGo segment, or
	custom  *node               // a custom kernel
	inputs  []*value
	outputs []*value
}

// newExecutable splits the needed nodes into steps: runs of consecutive simple
// nodes become one SimpleGo executable, custom nodes run on their own.
func newExecutable(b *Builder, outputs []*value) (*Executable, error) {
	e := &Executable{backend: b.backend, params: b.params, outputs: outputs, numVals: b.numVals,
		uses: make([]int, b.numVals), isOutput: make([]bool, b.numVals)}
	needed := neededNodes(b, outputs)
	var order []*node
	for _, n := range b.nodes {
		if needed[n] && n.kind != kindParam {
			order = append(order, n)
		}
	}
	if !b.backend.noKernels {
		order = fuseConvEpilogues(fuseElementwise(order, outputs), outputs)
	}
	stepOf := make(map[*node]int)
	var groups [][]*node
	for _, n := range order {
		if n.kind == kindCustom || len(groups) == 0 || groups[len(groups)-1][0].kind == kindCustom {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], n)
		stepOf[n] = len(groups) - 1
	}
	// A value is exported by its step when a node of another step reads it or it is an output.
	exported := make([]bool, b.numVals)
	for _, v := range outputs {
		exported[v.id] = true
		e.isOutput[v.id] = true
	}
	for n, s := range stepOf {
		for _, in := range n.inputs {
			if in.node.kind == kindParam || stepOf[in.node] != s {
				exported[in.id] = true
			}
		}
	}
	for i, g := range groups {
		var st *step
		var err error
		if g[0].kind == kindCustom {
			st = &step{custom: g[0], inputs: g[0].inputs, outputs: g[0].outputs}
		} else if st, err = compileSegment(b, fmt.Sprintf("%s#%d", b.name, i), g, exported); err != nil {
			e.Finalize()
			return nil, err
		}
		for _, in := range distinct(st.inputs) {
			e.uses[in.id]++
		}
		e.steps = append(e.steps, st)
	}
	return e, nil
}

// neededNodes marks the nodes the outputs depend on.
func neededNodes(b *Builder, outputs []*value) map[*node]bool {
	needed := make(map[*node]bool)
	stack := make([]*node, 0, len(outputs))
	for _, v := range outputs {
		stack = append(stack, v.node)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if needed[n] {
			continue
		}
		needed[n] = true
		for _, in := range n.inputs {
			stack = append(stack, in.node)
		}
	}
	return needed
}

// compileSegment replays nodes into a fresh SimpleGo builder: values from other
// steps become its parameters, exported values its outputs.
func compileSegment(b *Builder, name string, nodes []*node, exported []bool) (*step, error) {
	sb := b.backend.Backend.Builder(name)
	st := &step{}
	local := make(map[*value]backends.Op)
	get := func(v *value) (backends.Op, error) {
		if op, ok := local[v]; ok {
			return op, nil
		}
		op, err := sb.Parameter(fmt.Sprintf("v%d", v.id), v.shape, nil)
		if err != nil {
			return nil, err
		}
		local[v] = op
		st.inputs = append(st.inputs, v)
		return op, nil
	}
	var outOps []backends.Op
	seen := make(map[backends.Op]bool)
	for _, n := range nodes {
		ins := make([]backends.Op, len(n.inputs))
		for i, in := range n.inputs {
			op, err := get(in)
			if err != nil {
				return nil, fmt.Errorf("purego: compiling segment %s: %w", name, err)
			}
			ins[i] = op
		}
		outs, err := n.replay(sb, ins)
		if err != nil {
			return nil, fmt.Errorf("purego: compiling segment %s, op %s: %w", name, n.name, err)
		}
		for i, v := range n.outputs {
			local[v] = outs[i]
			if !exported[v.id] {
				continue
			}
			op := outs[i]
			if seen[op] { // SimpleGo refuses repeated outputs.
				if op, err = sb.Identity(op); err != nil {
					return nil, err
				}
			}
			seen[op] = true
			outOps = append(outOps, op)
			st.outputs = append(st.outputs, v)
		}
	}
	exec, err := sb.Compile(outOps, nil)
	if err != nil {
		return nil, fmt.Errorf("purego: compiling segment %s: %w", name, err)
	}
	st.segment = exec
	return st, nil
}

func distinct(vs []*value) []*value {
	out := make([]*value, 0, len(vs))
	seen := make(map[*value]bool, len(vs))
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Finalize releases the compiled segments.
func (e *Executable) Finalize() {
	for _, st := range e.steps {
		if st.segment != nil {
			st.segment.Finalize()
		}
	}
	e.steps = nil
}

// Inputs returns the names and shapes of the parameters.
func (e *Executable) Inputs() (names []string, inputShapes []shapes.Shape) {
	for _, p := range e.params {
		names = append(names, p.node.name)
		inputShapes = append(inputShapes, p.shape)
	}
	return names, inputShapes
}

// Outputs returns the shapes of the outputs.
func (e *Executable) Outputs() []shapes.Shape {
	s := make([]shapes.Shape, len(e.outputs))
	for i, v := range e.outputs {
		s[i] = v.shape
	}
	return s
}

// execution holds the buffers of one run of an Executable.
type execution struct {
	e         *Executable
	buffers   []backends.Buffer
	owned     []bool
	remaining []int
}

// Execute runs the steps in order. Donated inputs may be reused or freed.
func (e *Executable) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) ([]backends.Buffer, error) {
	if len(inputs) != len(e.params) {
		return nil, fmt.Errorf("purego Execute: got %d inputs, want %d", len(inputs), len(e.params))
	}
	r := &execution{e: e, buffers: make([]backends.Buffer, e.numVals), owned: make([]bool, e.numVals),
		remaining: append([]int(nil), e.uses...)}
	for i, p := range e.params {
		r.buffers[p.id] = inputs[i]
		r.owned[p.id] = i < len(donate) && donate[i]
	}
	for _, st := range e.steps {
		if err := r.step(st); err != nil {
			r.release()
			return nil, err
		}
	}
	return r.results()
}

func (r *execution) step(st *step) error {
	if done := timeStep(st); done != nil {
		defer done()
	}
	var outs []backends.Buffer
	var err error
	if st.segment != nil {
		outs, err = r.runSegment(st)
	} else {
		outs, err = r.runCustom(st)
	}
	if err != nil {
		return err
	}
	for i, v := range st.outputs {
		r.buffers[v.id], r.owned[v.id] = outs[i], true
	}
	for _, v := range distinct(st.inputs) {
		r.remaining[v.id]--
		r.maybeFree(v)
	}
	return nil
}

func (r *execution) runSegment(st *step) ([]backends.Buffer, error) {
	ins := make([]backends.Buffer, len(st.inputs))
	donate := make([]bool, len(st.inputs))
	for i, v := range st.inputs {
		ins[i] = r.buffers[v.id]
		if ins[i] == nil {
			return nil, fmt.Errorf("purego: value %d of shape %s is missing (already freed?)", v.id, v.shape)
		}
		// Donate a buffer we own at its last use.
		if r.owned[v.id] && r.remaining[v.id] == 1 && !r.e.isOutput[v.id] {
			donate[i] = true
			r.buffers[v.id], r.owned[v.id] = nil, false
		}
	}
	return st.segment.Execute(ins, donate, 0)
}

func (r *execution) runCustom(st *step) ([]backends.Buffer, error) {
	be := r.e.backend
	ins := make([]any, len(st.inputs))
	for i, v := range st.inputs {
		flat, err := be.BufferData(r.buffers[v.id])
		if err != nil {
			return nil, fmt.Errorf("purego %s: %w", st.custom.name, err)
		}
		ins[i] = flat
	}
	outs := make([]backends.Buffer, len(st.outputs))
	flats := make([]any, len(st.outputs))
	for i, v := range st.outputs {
		outs[i] = be.Backend.NewBuffer(v.shape)
		flat, err := be.BufferData(outs[i])
		if err != nil {
			return nil, fmt.Errorf("purego %s: %w", st.custom.name, err)
		}
		flats[i] = flat
	}
	if st.custom.runMulti != nil {
		st.custom.runMulti(ins, flats)
	} else {
		st.custom.run(ins, flats[0])
	}
	return outs, nil
}

func (r *execution) maybeFree(v *value) {
	if r.remaining[v.id] > 0 || !r.owned[v.id] || r.buffers[v.id] == nil || r.e.isOutput[v.id] {
		return
	}
	_ = r.e.backend.BufferFinalize(r.buffers[v.id])
	r.buffers[v.id], r.owned[v.id] = nil, false
}

// results hands over the output buffers, copying those not owned (inputs that
// were not donated) or returned twice.
func (r *execution) results() ([]backends.Buffer, error) {
	outs := make([]backends.Buffer, len(r.e.outputs))
	given := make(map[int]bool)
	for i, v := range r.e.outputs {
		buf := r.buffers[v.id]
		if buf == nil {
			return nil, fmt.Errorf("purego: output #%d was not computed", i)
		}
		if !r.owned[v.id] || given[v.id] {
			var err error
			if buf, err = r.copyBuffer(buf, v.shape); err != nil {
				return nil, err
			}
		}
		given[v.id] = true
		outs[i] = buf
	}
	// Free donated inputs that nothing used.
	for _, p := range r.e.params {
		if r.owned[p.id] && r.buffers[p.id] != nil && !r.e.isOutput[p.id] {
			_ = r.e.backend.BufferFinalize(r.buffers[p.id])
		}
	}
	return outs, nil
}

func (r *execution) copyBuffer(buf backends.Buffer, shape shapes.Shape) (backends.Buffer, error) {
	flat, err := r.e.backend.BufferData(buf)
	if err != nil {
		return nil, err
	}
	return r.e.backend.BufferFromFlatData(0, flat, shape)
}

// release frees the buffers owned by a failed execution.
func (r *execution) release() {
	for id, buf := range r.buffers {
		if buf != nil && r.owned[id] {
			_ = r.e.backend.BufferFinalize(buf)
		}
	}
}
