package engine

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Data-parallel training (TrainConfig.Devices): the training step is one SPMD program
// (GoMLX's distributed.SPMD over a one-axis mesh) that every device runs on its share of the
// batch, with replicated parameters. After the backward pass the gradients are averaged across
// replicas with one AllReduce, so every replica applies the same update, the update of the
// whole batch's mean loss; the loss and the hit count are reduced the same way. Batch norm
// normalises with each replica's own statistics (as TAO with Horovod does) and the moving
// statistics are averaged, or, with SyncBN, with the whole batch's statistics (two AllReduces
// per layer, differentiable: the gradient of a cross-replica mean is the cross-replica mean of
// the gradients).

// replicaAxis names the mesh axis of the replicas.
const replicaAxis = "replicas"

// parallel is the SPMD state of a Trainer: the devices and the other replicas' copies of the
// parameters and optimizer slots (replica 0's are the Model's and the Trainer's own).
type parallel struct {
	devices       []backends.DeviceNum
	mesh          *distributed.DeviceMesh
	syncBN        bool
	params, slots [][]*tensors.Tensor // replicas 1.., nil until their first step
}

// newParallel checks the device ids against the backend.
func newParallel(be backends.Backend, ids []int, syncBN bool) (*parallel, error) {
	n := be.NumDevices()
	p := &parallel{syncBN: syncBN}
	seen := map[int]bool{}
	for _, id := range ids {
		switch {
		case id < 0 || id >= n:
			return nil, fmt.Errorf("device %d: the %s backend has %d device(s) (ids 0..%d)", id, be.Name(), n, n-1)
		case seen[id]:
			return nil, fmt.Errorf("device %d is listed twice", id)
		}
		seen[id] = true
		p.devices = append(p.devices, backends.DeviceNum(id))
	}
	var err error
	if p.mesh, err = distributed.NewDeviceMesh([]int{len(ids)}, []string{replicaAxis}); err != nil {
		return nil, fmt.Errorf("device mesh: %w", err)
	}
	p.params = make([][]*tensors.Tensor, len(ids)-1)
	p.slots = make([][]*tensors.Tensor, len(ids)-1)
	return p, nil
}

// devices are the devices the trainer runs on: one (device 0) without data parallelism.
func (t *Trainer) devices() []backends.DeviceNum {
	if t.par == nil {
		return []backends.DeviceNum{0}
	}
	return t.par.devices
}

// replicaState is replica r's parameters and optimizer slots.
func (t *Trainer) replicaState(r int) (params, slots []*tensors.Tensor) {
	if r == 0 {
		return t.m.values, t.slots
	}
	return t.par.params[r-1], t.par.slots[r-1]
}

// copyReplicas gives every replica without its own copy of the parameters and optimizer slots
// (before the first step, after SetWeights or SetOptimizerState) a copy of replica 0's on its
// device. (A GoMLX tensor lives on one device at a time: handing replica 0's tensors to another
// device would move them.)
func (t *Trainer) copyReplicas() error {
	if t.par == nil {
		return nil
	}
	for r := 1; r < len(t.par.devices); r++ {
		if t.par.params[r-1] != nil {
			continue
		}
		params, err := cloneOn(t.m.eng.Backend, t.par.devices[r], t.m.values)
		if err != nil {
			return err
		}
		slots, err := cloneOn(t.m.eng.Backend, t.par.devices[r], t.slots)
		if err != nil {
			release(params...)
			return err
		}
		t.par.params[r-1], t.par.slots[r-1] = params, slots
	}
	return nil
}

// cloneOn copies ts to a device.
func cloneOn(be backends.Backend, dev backends.DeviceNum, ts []*tensors.Tensor) ([]*tensors.Tensor, error) {
	out := make([]*tensors.Tensor, len(ts))
	for i, v := range ts {
		var err error
		if out[i], err = v.OnDeviceClone(be, dev); err != nil {
			release(out[:i]...)
			return nil, fmt.Errorf("copying the model to device %d: %w", dev, err)
		}
	}
	return out, nil
}

// dropReplicas releases the other replicas' copies, after the state was set from outside.
func (t *Trainer) dropReplicas() {
	if t.par == nil {
		return
	}
	for r := range t.par.params {
		release(t.par.params[r]...)
		release(t.par.slots[r]...)
		t.par.params[r], t.par.slots[r] = nil, nil
	}
}

// newStepExec compiles the training step: an SPMD program with data parallelism.
func (t *Trainer) newStepExec() (*Exec, error) {
	e, err := NewExec(t.m.eng.Backend, t.stepGraph)
	if err != nil || t.par == nil {
		return e, err
	}
	return e.SPMD(t.par.mesh).WithDeviceAssignment(t.par.devices), nil
}

// collective builds the cross-replica operations of an SPMD graph.
type collective struct {
	g        *Graph
	replicas int
}

// collectiveFor returns the graph's collective, or nil when it is not data parallel.
func (t *Trainer) collectiveFor(g *Graph) *collective {
	if t.par == nil {
		return nil
	}
	return &collective{g: g, replicas: len(t.par.devices)}
}

// sum adds xs across replicas.
func (c *collective) sum(xs ...*Node) []*Node {
	return c.g.Distributed().AllReduce(xs, backends.ReduceOpSum)
}

// mean averages xs across replicas (not differentiable).
func (c *collective) mean(xs ...*Node) []*Node {
	out := c.sum(xs...)
	for i := range out {
		out[i] = DivScalar(out[i], float64(c.replicas))
	}
	return out
}

// meanDiff averages x across replicas, differentiably: the gradient reaching x is the
// cross-replica mean of the gradients of the result (each replica's loss depends on every
// replica's x through the mean).
func (c *collective) meanDiff(x *Node) *Node {
	id := IdentityWithCustomGradient(x, func(_, v *Node) *Node { return c.sum(v)[0] })
	return DivScalar(Add(StopGradient(Sub(c.sum(x)[0], x)), id), float64(c.replicas))
}
