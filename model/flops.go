package model

// Cost is the inference compute of one layer for one example.
//
// MACs counts the multiply-adds of conv2d, depthwise_conv2d and dense layers (what torchvision
// and most papers call "FLOPs", e.g. 1.81 G for resnet18 at 224x224). FLOPs counts each
// multiply-add as 2 floating-point operations, plus element-wise work:
//   - bias: 1 per output element;
//   - batch_norm: 2 per element (inference form: scale and shift);
//   - activation: 1 per element (linear: 0; swish, mish, sigmoid, tanh, softmax count 1 too);
//   - add / multiply: 1 per output element per extra input;
//   - max_pool / avg_pool: kernel area per output element; global_avg_pool: 1 per input element;
//   - input, flatten, dropout, drop_path, concat, zero_pad, channel_slice: 0.
type Cost struct {
	MACs  int64
	FLOPs int64
}

func (s Shape) size() int64 {
	n := int64(1)
	for _, d := range s {
		n *= int64(d)
	}
	return n
}

// LayerCost computes a layer's Cost from its input and output shapes.
func LayerCost(l *Layer, ins []Shape, out Shape) Cost {
	var c Cost
	n := out.size()
	switch l.Op {
	case OpConv:
		cin := int64(ins[0].Channels() / max(l.Groups, 1))
		c.MACs = n * int64(l.Kernel[0]*l.Kernel[1]) * cin
	case OpDepthwiseConv:
		c.MACs = n * int64(l.Kernel[0]*l.Kernel[1])
	case OpDense:
		c.MACs = n * int64(ins[0][0])
	case OpBatchNorm:
		c.FLOPs = 2 * n
	case OpActivation:
		if l.Activation != ActLinear {
			c.FLOPs = n
		}
	case OpAdd, OpMultiply:
		c.FLOPs = n * int64(len(ins)-1)
	case OpMaxPool, OpAvgPool:
		c.FLOPs = n * int64(l.Kernel[0]*l.Kernel[1])
	case OpGlobalAvgPool:
		c.FLOPs = ins[0].size()
	}
	c.FLOPs += 2 * c.MACs
	if l.UseBias && (l.Op == OpConv || l.Op == OpDepthwiseConv || l.Op == OpDense) {
		c.FLOPs += n
	}
	return c
}

// Costs returns every layer's Cost, in layer order, and their sum.
func (g *Graph) Costs() ([]Cost, Cost, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, Cost{}, err
	}
	costs := make([]Cost, len(g.Layers))
	var total Cost
	for i, l := range g.Layers {
		if l.Op == OpInput {
			continue
		}
		ins := make([]Shape, len(l.Inputs))
		for j, in := range l.Inputs {
			ins[j] = shapes[in]
		}
		costs[i] = LayerCost(l, ins, shapes[l.Name])
		total.MACs += costs[i].MACs
		total.FLOPs += costs[i].FLOPs
	}
	return costs, total, nil
}
