package purego

import "slices"

// Convolution epilogues (Compile time). When the only reader of a
// convolution's output (through reshapes) is a fused element-wise cluster
// (fusion.go) that reads it whole — the batch normalization, residual addition
// and activation after most convolutions at inference — the two become one
// node: each block of output rows goes through the cluster as soon as the
// matrix multiplication has finished it, while it is still in cache, instead
// of in a second pass over memory.

// fuseConvEpilogues merges such pairs among order (after fuseElementwise) and
// returns the new order.
func fuseConvEpilogues(order []*node, outputs []*value) []*node {
	consumers := make(map[*value][]*node)
	for _, n := range order {
		for _, in := range distinct(n.inputs) {
			consumers[in] = append(consumers[in], n)
		}
	}
	isOutput := make(map[*value]bool, len(outputs))
	for _, v := range outputs {
		isOutput[v] = true
	}
	soleReader := func(v *value, n *node) bool {
		return !isOutput[v] && len(consumers[v]) == 1 && consumers[v][0] == n
	}
	removed := make(map[*node]bool)
	replaced := make(map[*node]*node)
	for _, f := range order {
		if f.ranges == nil {
			continue
		}
		for _, in := range distinct(f.inputs) {
			if !slices.Equal(in.shape.Dimensions, f.outputs[0].shape.Dimensions) || !soleReader(in, f) {
				continue
			}
			conv, chain := convBehind(in, soleReader)
			if conv == nil || removed[conv] {
				continue
			}
			removed[conv] = true
			for _, n := range chain {
				removed[n] = true
			}
			replaced[f] = withEpilogue(conv, f, in)
			break
		}
	}
	return reorder(order, replaced, removed)
}

// convBehind returns the convolution whose output v is, through reshapes each
// read only by the next, and those reshapes; nil if there is none.
func convBehind(v *value, soleReader func(*value, *node) bool) (*node, []*node) {
	var chain []*node
	for {
		n := v.node
		switch {
		case n.runEpilogue != nil && len(n.outputs) == 1:
			return n, chain
		case n.kind == kindSimple && n.name == "Reshape" && len(n.inputs) == 1 && soleReader(n.inputs[0], n):
			chain = append(chain, n)
			v = n.inputs[0]
		default:
			return nil, nil
		}
	}
}

// withEpilogue returns the node computing conv with the cluster f as its
// epilogue, f reading conv's output as operand read (in every slot it has).
// It has conv's inputs then f's others, and f's outputs.
func withEpilogue(conv, f *node, read *value) *node {
	inputs := slices.Clone(conv.inputs)
	slots := make([]int, len(f.inputs)) // per input of f: its index in inputs, -1 for conv's output
	for i, in := range f.inputs {
		if in == read {
			slots[i] = -1
			continue
		}
		slots[i] = len(inputs)
		inputs = append(inputs, in)
	}
	merged := &node{builder: f.builder, kind: kindCustom, name: conv.name + "+" + f.name, inputs: inputs, outputs: f.outputs}
	for _, v := range f.outputs {
		v.node = merged
	}
	convOut := conv.outputs[0].shape
	be := f.builder.backend
	numConvIns := len(conv.inputs)
	merged.runMulti = func(ins []any, outs []any) {
		// The backend's buffers are recycled: fresh memory would cost page faults.
		buf := be.Backend.NewBuffer(convOut)
		defer func() { _ = be.BufferFinalize(buf) }()
		flat, err := be.BufferData(buf)
		if err != nil {
			panic(err) // a buffer this backend just made
		}
		fIns := make([]any, len(slots))
		for i, s := range slots {
			if s < 0 {
				fIns[i] = flat
			} else {
				fIns[i] = ins[s]
			}
		}
		conv.runEpilogue(ins[:numConvIns], flat, f.ranges(fIns, outs))
	}
	return merged
}
