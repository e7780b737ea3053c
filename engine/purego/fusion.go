package purego

import (
	"container/heap"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Fusion of element-wise operations (Compile time). A cluster is a set of
// element-wise nodes whose outputs have one shape (the cluster's), large enough
// to pay for a kernel; it becomes one custom node that computes every member
// chunk by chunk (fusedkernel.go), reading each external operand once and
// writing only the values used outside the cluster. External operands have the
// cluster's shape, are scalars, or broadcast along whole rows (per-channel
// vectors and the like).
//
// Clusters grow from a root, the last node in recording order not yet taken,
// towards its inputs, highest recording index first. An input node joins when
// each of its consumers is a member or comes after the root; members read by
// later nodes are exported. The fused node takes the root's place in the
// order, so every external operand is computed before it and every external
// consumer after it.

// minFusedElements is the smallest output a fused kernel takes; smaller
// element-wise operations stay SimpleGo's.
const minFusedElements = 1 << 12

// maxClusterSize bounds the number of operations of a fused kernel.
const maxClusterSize = 64

// fuseElementwise replaces clusters of element-wise nodes among order (needed
// nodes, in recording order) by fused custom nodes, re-pointing the exported
// values at them, and returns the new order.
func fuseElementwise(order []*node, outputs []*value) []*node {
	f := newFusion(order, outputs)
	taken := make(map[*node]bool)
	replaced := make(map[*node]*node) // root -> fused node
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if taken[n] || !f.fusable(n) {
			continue
		}
		members := f.grow(n, i, taken)
		fused, ok := newFusedNode(members, f)
		if !ok {
			continue
		}
		for _, m := range members {
			taken[m] = true
		}
		replaced[n] = fused
	}
	return reorder(order, replaced, taken)
}

// reorder returns order with the nodes in replaced swapped for their
// replacements and those in dropped left out.
func reorder(order []*node, replaced map[*node]*node, dropped map[*node]bool) []*node {
	if len(replaced) == 0 {
		return order
	}
	out := make([]*node, 0, len(order))
	for _, n := range order {
		switch {
		case replaced[n] != nil:
			out = append(out, replaced[n])
		case !dropped[n]:
			out = append(out, n)
		}
	}
	return out
}

// fusion holds what clustering needs to know about the graph.
type fusion struct {
	index     map[*node]int
	consumers map[*value][]*node
	isOutput  map[*value]bool
}

func newFusion(order []*node, outputs []*value) *fusion {
	f := &fusion{index: make(map[*node]int, len(order)), consumers: make(map[*value][]*node), isOutput: make(map[*value]bool)}
	for i, n := range order {
		f.index[n] = i
		for _, in := range distinct(n.inputs) {
			f.consumers[in] = append(f.consumers[in], n)
		}
	}
	for _, v := range outputs {
		f.isOutput[v] = true
	}
	return f
}

// fusable reports whether n is an element-wise node with a large output of a
// float or bool dtype whose operands the fused kernels can read.
func (f *fusion) fusable(n *node) bool {
	if n.ew == ewNone || n.kind != kindSimple || len(n.outputs) != 1 {
		return false
	}
	out := n.outputs[0].shape
	if out.Size() < minFusedElements || (!isFloat(out.DType) && out.DType != dtypes.Bool) {
		return false
	}
	for _, in := range n.inputs {
		if !isFloat(in.shape.DType) && in.shape.DType != dtypes.Bool {
			return false
		}
		if operandMode(in.shape.Dimensions, out.Dimensions) == modeNone {
			return false
		}
	}
	return true
}

// grow collects the cluster rooted at order[rootIdx].
func (f *fusion) grow(root *node, rootIdx int, taken map[*node]bool) []*node {
	members := map[*node]bool{root: true}
	list := []*node{root}
	dims := root.outputs[0].shape.Dimensions
	cand := &nodeHeap{index: f.index}
	seen := map[*node]bool{root: true}
	push := func(n *node) {
		for _, in := range n.inputs {
			m := in.node
			if !seen[m] {
				seen[m] = true
				heap.Push(cand, m)
			}
		}
	}
	push(root)
	for cand.Len() > 0 && len(list) < maxClusterSize {
		m := heap.Pop(cand).(*node)
		if taken[m] || !f.fusable(m) || !slices.Equal(m.outputs[0].shape.Dimensions, dims) {
			continue
		}
		ok := true
		for _, c := range f.consumers[m.outputs[0]] {
			if !members[c] && f.index[c] < rootIdx {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		members[m] = true
		list = append(list, m)
		push(m)
	}
	slices.SortFunc(list, func(a, b *node) int { return f.index[a] - f.index[b] })
	return list
}

// exported reports whether a member's value is read outside the cluster.
func (f *fusion) exported(v *value, members map[*node]bool) bool {
	if f.isOutput[v] {
		return true
	}
	for _, c := range f.consumers[v] {
		if !members[c] {
			return true
		}
	}
	return false
}

// nodeHeap pops the node with the highest recording index first.
type nodeHeap struct {
	nodes []*node
	index map[*node]int
}

func (h *nodeHeap) Len() int           { return len(h.nodes) }
func (h *nodeHeap) Less(i, j int) bool { return h.index[h.nodes[i]] > h.index[h.nodes[j]] }
func (h *nodeHeap) Swap(i, j int)      { h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i] }
func (h *nodeHeap) Push(x any)         { h.nodes = append(h.nodes, x.(*node)) }
func (h *nodeHeap) Pop() any {
	n := h.nodes[len(h.nodes)-1]
	h.nodes = h.nodes[:len(h.nodes)-1]
	return n
}

// operand modes: how an external operand is read against the cluster's shape.
type opMode uint8

const (
	modeNone   opMode = iota
	modeFull          // the cluster's shape
	modeScalar        // one value
	modeRows          // a row (last axis) per leading index, broadcast where its dimension is 1
)

func operandMode(dims, full []int) opMode {
	switch {
	case slices.Equal(dims, full):
		return modeFull
	case prod(dims) == 1 && len(dims) <= len(full):
		return modeScalar
	case broadcastsRows(dims, full):
		return modeRows
	}
	return modeNone
}

// minBroadcastRow is the shortest row (last dimension) a row-broadcast operand may have.
const minBroadcastRow = 8

// broadcastsRows reports whether small broadcasts to full along whole rows: the same rank,
// the same last dimension (at least minBroadcastRow), and every other dimension 1 or full's.
func broadcastsRows(small, full []int) bool {
	n := len(full)
	if n < 2 || len(small) != n || small[n-1] != full[n-1] || full[n-1] < minBroadcastRow || slices.Equal(small, full) {
		return false
	}
	for k := range n - 1 {
		if small[k] != 1 && small[k] != full[k] {
			return false
		}
	}
	return true
}
