package prune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/splitmix"
	"github.com/bonsai-ml/bonsai/model"
)

// randomWeights fills every parameter of g: He-uniform kernels (activations stay O(1)), random
// biases and batch-norm parameters, and in every prunable layer a random ~40% of the output
// filters scaled by 0.05 so that thresholds between 0.05 and 1 remove them.
func randomWeights(t *testing.T, g *model.Graph, seed uint64) model.Weights {
	t.Helper()
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	fast := fastRand(seed)
	w := model.Weights{}
	for _, k := range keys {
		p := params[k]
		x := model.NewTensor(p.Shape...)
		switch p.Name {
		case "kernel":
			fanIn := 1
			for _, d := range p.Shape[:len(p.Shape)-1] {
				fanIn *= d
			}
			if len(p.Shape) == 4 && p.Shape[3] == 1 { // depthwise [kh,kw,C,1]
				fanIn = p.Shape[0] * p.Shape[1]
			}
			limit := math.Sqrt(6 / float64(fanIn))
			for i := range x.Data {
				x.Data[i] = (fast()*2 - 1) * float32(limit)
			}
		case "bias", "beta", "moving_mean":
			for i := range x.Data {
				x.Data[i] = float32(r.Float64()*0.2 - 0.1)
			}
		case "gamma", "moving_variance":
			for i := range x.Data {
				x.Data[i] = float32(0.7 + r.Float64()*0.6)
			}
		}
		w[k] = x
	}
	for _, l := range g.Layers {
		if isPrunable(l.Op) {
			weakenFilters(w[model.ParamKey(l.Name, "kernel")], l.Op == model.OpDepthwiseConv, r)
		}
	}
	return w
}

// fastRand returns a cheap uniform [0,1) generator (splitmix64): big models have tens of millions
// of weights.
func fastRand(seed uint64) func() float32 {
	state := seed
	return func() float32 {
		z := splitmix.Mix(state)
		state += splitmix.Gamma
		return float32(z>>40) / (1 << 24)
	}
}

// weakenFilters scales ~40% of a kernel's output filters by 0.05.
func weakenFilters(k *model.Tensor, depthwise bool, r *rand.Rand) {
	channels, inner := k.Shape[len(k.Shape)-1], 1
	if depthwise {
		channels, inner = k.Shape[2], k.Shape[3]
	}
	weak := make([]bool, channels)
	for c := range weak {
		weak[c] = r.Float64() < 0.4
	}
	for i := range k.Data {
		if weak[(i/inner)%channels] {
			k.Data[i] *= 0.05
		}
	}
}

// zeroRemoved returns a copy of w in which every channel the pruned model drops is exactly zero
// in the original model: the layer's filter and bias are zeroed and so are gamma and beta of the
// batch norm after it (so the channel leaves the batch norm as 0, and every activation used
// maps 0 to 0; SE's sigmoid(0) multiplies a channel that is already 0).
func zeroRemoved(g *model.Graph, w model.Weights, kept map[string][]int) model.Weights {
	shapes, _ := g.Shapes()
	out := model.Weights{}
	for k, t := range w {
		out[k] = &model.Tensor{Shape: t.Shape, Data: append([]float32(nil), t.Data...)}
	}
	for _, l := range g.Layers {
		var removed []bool
		switch {
		case isPrunable(l.Op):
			removed = removedMask(shapes[l.Name].Channels(), kept[l.Name])
		case l.Op == model.OpBatchNorm:
			removed = removedMask(shapes[l.Name].Channels(), kept[l.Inputs[0]])
		default:
			continue
		}
		for _, p := range []string{"kernel", "bias", "gamma", "beta"} {
			t := out[model.ParamKey(l.Name, p)]
			if t == nil {
				continue
			}
			channels, inner := t.Shape[len(t.Shape)-1], 1
			if l.Op == model.OpDepthwiseConv && p == "kernel" {
				channels, inner = t.Shape[2], t.Shape[3]
			}
			for i := range t.Data {
				if removed[(i/inner)%channels] {
					t.Data[i] = 0
				}
			}
		}
	}
	return out
}

func removedMask(n int, kept []int) []bool {
	m := make([]bool, n)
	for i := range m {
		m[i] = true
	}
	for _, c := range kept {
		m[c] = false
	}
	return m
}

// images returns n random NHWC images for g's input.
func images(g *model.Graph, n int, seed uint64) *model.Tensor {
	r := rand.New(rand.NewPCG(seed, 3))
	x := model.NewTensor(n, g.Input[1], g.Input[2], g.Input[0])
	for i := range x.Data {
		x.Data[i] = float32(r.Float64()*2 - 1)
	}
	return x
}
