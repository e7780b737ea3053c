package purego

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Builder records a computation as a graph of nodes. Most nodes are SimpleGo
// operations, replayed into SimpleGo builders at Compile time; custom nodes are
// pure-Go kernels of this package (e.g. the convolution's patch extraction and
// matrix multiplication) that run between SimpleGo segments. Every operation is
// also applied to a "shadow" SimpleGo builder, which checks it and infers shapes.
type Builder struct {
	backend  *Backend
	name     string
	shadow   *simplego.Builder
	nodes    []*node
	params   []*value
	numVals  int
	compiled bool
}

var _ backends.Builder = (*Builder)(nil)

type nodeKind int

const (
	kindParam nodeKind = iota
	kindSimple
	kindCustom
)

// node is one recorded operation.
type node struct {
	builder *Builder
	kind    nodeKind
	name    string
	inputs  []*value
	outputs []*value
	// replay re-creates a simple node in a SimpleGo builder.
	replay func(sb backends.Builder, in []backends.Op) ([]backends.Op, error)
	// run computes a custom node: ins are the inputs' flat slices, out the output's.
	run func(ins []any, out any)
	// runMulti computes a custom node with several outputs (a fused cluster).
	runMulti func(ins []any, outs []any)
	// runEpilogue, on a convolution, is run that calls epi(lo, hi) on each
	// range of the flat output as soon as it is final (see epilogue.go).
	runEpilogue func(ins []any, out any, epi func(lo, hi int))
	// ranges, on a fused cluster, prepares its computation over ranges of its
	// elements, run by the caller's goroutines (see epilogue.go).
	ranges func(ins []any, outs []any) func(lo, hi int)
	// ew tags an element-wise SimpleGo operation that fused kernels can compute.
	ew ewCode
	// view is set on permute nodes: the output as a strided view of the input.
	view *stridedView
}

// value is one output of a node: the backends.Op handed to GoMLX.
type value struct {
	id     int
	node   *node
	shape  shapes.Shape
	shadow backends.Op
}

func newBuilder(backend *Backend, name string) *Builder {
	return &Builder{backend: backend, name: name, shadow: backend.Backend.Builder(name).(*simplego.Builder)}
}

// Name returns the computation's name.
func (b *Builder) Name() string { return b.name }

// OpShape returns the shape of an operation's output.
func (b *Builder) OpShape(op backends.Op) (shapes.Shape, error) {
	v, err := b.value("OpShape", op)
	if err != nil {
		return shapes.Invalid(), err
	}
	return v.shape, nil
}

func (b *Builder) value(opName string, op backends.Op) (*value, error) {
	v, ok := op.(*value)
	if !ok || v == nil {
		return nil, fmt.Errorf("purego %s: operand %T was not created by a purego builder", opName, op)
	}
	if v.node.builder != b {
		return nil, fmt.Errorf("purego %s: operand was created by a different builder than %q", opName, b.name)
	}
	return v, nil
}

func (b *Builder) checkOpen(opName string) error {
	if b.compiled {
		return fmt.Errorf("purego %s: builder %q is already compiled", opName, b.name)
	}
	return nil
}

func (b *Builder) addNode(n *node, shadowOuts []backends.Op) ([]backends.Op, error) {
	n.builder = b
	b.nodes = append(b.nodes, n)
	ops := make([]backends.Op, len(shadowOuts))
	for i, so := range shadowOuts {
		shape, err := b.shadow.OpShape(so)
		if err != nil {
			return nil, fmt.Errorf("purego %s: %w", n.name, err)
		}
		v := &value{id: b.numVals, node: n, shape: shape, shadow: so}
		b.numVals++
		n.outputs = append(n.outputs, v)
		ops[i] = v
	}
	return ops, nil
}

// record adds a SimpleGo operation: replay builds it in any SimpleGo builder.
func (b *Builder) record(opName string, in []backends.Op, replay func(sb backends.Builder, in []backends.Op) ([]backends.Op, error)) ([]backends.Op, error) {
	if err := b.checkOpen(opName); err != nil {
		return nil, err
	}
	inputs := make([]*value, len(in))
	shadowIns := make([]backends.Op, len(in))
	for i, op := range in {
		v, err := b.value(opName, op)
		if err != nil {
			return nil, err
		}
		inputs[i], shadowIns[i] = v, v.shadow
	}
	shadowOuts, err := replay(b.shadow, shadowIns)
	if err != nil {
		return nil, err
	}
	return b.addNode(&node{kind: kindSimple, name: opName, inputs: inputs, replay: replay}, shadowOuts)
}

// custom adds a pure-Go kernel node with the given output shape.
func (b *Builder) custom(opName string, shape shapes.Shape, run func(ins []any, out any), in ...backends.Op) (backends.Op, error) {
	if err := b.checkOpen(opName); err != nil {
		return nil, err
	}
	inputs := make([]*value, len(in))
	for i, op := range in {
		v, err := b.value(opName, op)
		if err != nil {
			return nil, err
		}
		inputs[i] = v
	}
	placeholder, err := b.shadow.Parameter(fmt.Sprintf("#%s%d", opName, b.numVals), shape, nil)
	if err != nil {
		return nil, fmt.Errorf("purego %s: %w", opName, err)
	}
	ops, err := b.addNode(&node{kind: kindCustom, name: opName, inputs: inputs, run: run}, []backends.Op{placeholder})
	if err != nil {
		return nil, err
	}
	return ops[0], nil
}

// Parameter declares an input of the computation.
func (b *Builder) Parameter(name string, shape shapes.Shape, sharding *backends.ShardingSpec) (backends.Op, error) {
	if err := b.checkOpen("Parameter"); err != nil {
		return nil, err
	}
	if sharding != nil {
		return nil, errors.New("purego Parameter: sharding is not supported")
	}
	so, err := b.shadow.Parameter(name, shape, nil)
	if err != nil {
		return nil, err
	}
	ops, err := b.addNode(&node{kind: kindParam, name: name}, []backends.Op{so})
	if err != nil {
		return nil, err
	}
	b.params = append(b.params, ops[0].(*value))
	return ops[0], nil
}

// Constant records a constant tensor.
func (b *Builder) Constant(flat any, dims ...int) (backends.Op, error) {
	outs, err := b.record("Constant", nil, func(sb backends.Builder, _ []backends.Op) ([]backends.Op, error) {
		op, err := sb.Constant(flat, dims...)
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

var errDistributed = errors.New("purego: distributed execution is not supported (single CPU device)")

// DistributedSPMD accepts one replica (the CPU is one device), so that data-parallel graphs
// run here with a single replica; more is not supported.
func (b *Builder) DistributedSPMD(numDevices int) error {
	if numDevices != 1 {
		return fmt.Errorf("%w: SPMD over %d devices", errDistributed, numDevices)
	}
	return nil
}

// DistributedAutoSharding is not supported.
func (b *Builder) DistributedAutoSharding(...backends.Mesh) error { return errDistributed }

// DeviceAssignment accepts only device 0.
func (b *Builder) DeviceAssignment(devices ...backends.DeviceNum) error {
	for _, d := range devices {
		if d != 0 {
			return errDistributed
		}
	}
	return nil
}

// AllReduce over replica groups of one device each (the only SPMD this backend runs) returns
// its operands unchanged.
func (b *Builder) AllReduce(ops []backends.Op, _ backends.ReduceOpType, groups [][]int) ([]backends.Op, error) {
	for _, g := range groups {
		if len(g) != 1 {
			return nil, fmt.Errorf("%w: AllReduce over replica group %v", errDistributed, g)
		}
	}
	out := make([]backends.Op, len(ops))
	for i, op := range ops {
		v, err := b.value("AllReduce", op)
		if err != nil {
			return nil, err
		}
		if out[i], err = b.Reshape(op, v.shape.Dimensions...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Compile turns the recorded graph into an executable.
func (b *Builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	if len(shardings) != 0 {
		return nil, errDistributed
	}
	if err := b.checkOpen("Compile"); err != nil {
		return nil, err
	}
	outs := make([]*value, len(outputs))
	for i, op := range outputs {
		v, err := b.value("Compile", op)
		if err != nil {
			return nil, err
		}
		outs[i] = v
	}
	b.compiled = true
	exec, err := newExecutable(b, outs)
	b.shadow.Finalize()
	return exec, err
}
