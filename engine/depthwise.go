package engine

import (
	"runtime"
	"sync"
	"weak"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// A depthwise convolution as one grouped ConvGeneral (feature groups = channels), for backends
// that run it natively (purego's direct depthwise kernels). GoMLX differentiates a grouped
// convolution by splitting it into one convolution per channel; the convolutions built here get
// the gradient XLA and JAX use instead, two more grouped convolutions:
//
//   - input gradient: the output gradient convolved with the spatially reversed kernel, input
//     dilation = the strides, feature groups = channels;
//   - kernel gradient: the input convolved with the output gradient, batch and channel axes of
//     the input exchanged, batch groups = channels, strides and kernel dilations exchanged.
//
// GoMLX keeps a convolution's parameters private, so the nodes built here are recorded (weakly)
// with theirs, and the ConvGeneral gradient registered in GoMLX's VJPRegistration uses the
// recorded form for them and GoMLX's own for every other convolution.

// groupedDepthwise holds the parameters of a depthwise ConvGeneral node.
type groupedDepthwise struct {
	channels, multiplier int
	strides, dilations   []int
	paddings             [][2]int
}

var (
	depthwiseNodes sync.Map // weak.Pointer[Node] -> *groupedDepthwise
	genericConvVJP = VJPRegistration[NodeTypeConvGeneral]
)

func init() {
	VJPRegistration[NodeTypeConvGeneral] = func(node *Node, v []*Node, outputShape shapes.Shape) []*Node {
		if dw, ok := depthwiseNodes.Load(weak.Make(node)); ok {
			return dw.(*groupedDepthwise).vjp(node, v[0])
		}
		return genericConvVJP(node, v, outputShape)
	}
}

// nhwcAxes is the channels-last layout: input/output [B, H, W, C], kernel [kh, kw, Cin, Cout].
var nhwcAxes = backends.ConvolveAxesConfig{InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
	KernelInputChannels: 2, KernelOutputChannels: 3, KernelSpatial: []int{0, 1},
	OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2}}

// hasGroupedDepthwise reports whether a backend runs depthwise convolutions as grouped ConvGeneral
// with the gradients above (purego; the XLA backends keep the tap-sum form until measured there).
func hasGroupedDepthwise(be backends.Backend) bool {
	return be != nil && be.Name() == "purego"
}

// groupedDepthwiseConv is depthwiseConv as one grouped convolution (see the top of this file).
func (b *forwardBuilder) groupedDepthwiseConv(l *model.Layer, x *Node) *Node {
	k := b.weight(l, "kernel")
	kd := k.Shape().Dimensions
	kh, kw, c, m := kd[0], kd[1], kd[2], kd[3]
	s, d := layerStrides(l), layerDilation(l)
	x, pads := b.convInput(l, x)
	dw := &groupedDepthwise{channels: c, multiplier: m, strides: s[:], dilations: d[:], paddings: pads}
	y := ConvGeneral(x, Reshape(k, kh, kw, 1, c*m), nhwcAxes, dw.strides, dw.paddings, nil, dw.dilations, c, 1)
	key := weak.Make(y)
	depthwiseNodes.Store(key, dw)
	runtime.AddCleanup(y, func(key weak.Pointer[Node]) { depthwiseNodes.Delete(key) }, key)
	if l.UseBias {
		y = Add(y, broadcastChannels(b.weight(l, "bias"), y))
	}
	return y
}

// vjp returns the gradients of a recorded depthwise convolution node with respect to its input
// x [B, H, W, C] and kernel [kh, kw, 1, C*m], given the output gradient v [B, Ho, Wo, C*m].
func (dw *groupedDepthwise) vjp(node, v *Node) []*Node {
	x, kernel := node.Inputs()[0], node.Inputs()[1]
	kd := kernel.Shape().Dimensions
	kh, kw := kd[0], kd[1]
	in, out := x.Shape().Dimensions[1:3], v.Shape().Dimensions[1:3]
	ones := []int{1, 1}
	inputPads, kernelPads := make([][2]int, 2), make([][2]int, 2)
	for i, k := range []int{kh, kw} {
		ext := (k-1)*dw.dilations[i] + 1
		lo := dw.paddings[i][0]
		dilatedOut := (out[i]-1)*dw.strides[i] + 1
		inputPads[i][0] = ext - 1 - lo
		inputPads[i][1] = in[i] + ext - 1 - dilatedOut - inputPads[i][0]
		kernelPads[i] = [2]int{lo, dilatedOut - in[i] + ext - lo - 1}
	}
	// Kernel [kh, kw, m, C], reversed spatially: group c reads output channels c*m..c*m+m-1.
	rk := Reshape(kernel, kh, kw, dw.channels, dw.multiplier)
	if dw.multiplier > 1 {
		rk = TransposeAllDims(rk, 0, 1, 3, 2)
	} else {
		rk = Reshape(rk, kh, kw, 1, dw.channels)
	}
	rk = Reverse(rk, 0, 1)
	dx := ConvGeneral(v, rk, nhwcAxes, ones, inputPads, dw.strides, dw.dilations, dw.channels, 1)
	swapped := backends.ConvolveAxesConfig{InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
		KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
		OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1}}
	dk := ConvGeneral(x, v, swapped, dw.dilations, kernelPads, nil, dw.strides, 1, dw.channels)
	return []*Node{dx, dk}
}
