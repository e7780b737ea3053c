// Package model owns the model graph (IR): named layers with their channel counts and wiring,
// shape inference, parameter shapes and counts, FLOPs and JSON serialization.
//
// A model is a value, not code: architecture builders (model/arch) produce a Graph; the engine
// turns it into a compute graph, the pruner rewrites it, the exporter walks it. Tensors are NHWC
// (batch dimension implicit): shapes here are [H, W, C] for feature maps and [C] after flatten.
// Kernels use Keras' layouts so that TAO's pruning rules read the same: conv HWIO
// [kh, kw, cin/groups, filters], depthwise [kh, kw, C, multiplier], dense [in, units].
package model

// Op is a layer type.
type Op string

// Layer types. Attributes each uses are listed beside it.
const (
	OpInput         Op = "input"            // (shape comes from Graph.Input)
	OpConv          Op = "conv2d"           // Filters, Kernel, Strides, Dilation, Padding, Groups, UseBias
	OpDepthwiseConv Op = "depthwise_conv2d" // Kernel, Strides, Dilation, Padding, DepthMultiplier, UseBias
	OpDense         Op = "dense"            // Units, UseBias (input must be rank 1: after flatten or global pool)
	OpBatchNorm     Op = "batch_norm"       // Epsilon, Momentum
	OpActivation    Op = "activation"       // Activation, Alpha
	OpMaxPool       Op = "max_pool"         // Kernel (pool size), Strides, Padding
	OpAvgPool       Op = "avg_pool"         // Kernel, Strides, Padding (same: the count excludes padding, as Keras; same_symmetric: includes it, as TAO)
	OpGlobalAvgPool Op = "global_avg_pool"  // KeepDims ([1,1,C] instead of [C])
	OpFlatten       Op = "flatten"          //
	OpDropout       Op = "dropout"          // Rate (train only)
	OpDropPath      Op = "drop_path"        // Rate: per-sample stochastic depth / drop-connect (train only)
	OpAdd           Op = "add"              // element-wise sum of all inputs
	OpMultiply      Op = "multiply"         // element-wise product, broadcasting [1,1,C] against [H,W,C]
	OpConcat        Op = "concat"           // along channels
	OpZeroPad       Op = "zero_pad"         // Pad = [top, bottom, left, right]
	OpChannelSlice  Op = "channel_slice"    // ChannelStart, ChannelEnd (half-open): CSPDarknet-tiny's split
)

// Activation names understood by the engine and the exporter.
const (
	ActLinear    = "linear"
	ActReLU      = "relu"
	ActReLU6     = "relu6"
	ActLeakyReLU = "leaky_relu" // Alpha (Keras default 0.3; darknet uses 0.1)
	ActSigmoid   = "sigmoid"
	ActSwish     = "swish"
	ActMish      = "mish"
	ActSoftmax   = "softmax"
	ActTanh      = "tanh"
)

// Padding of conv and pooling layers (Layer.Padding). Pads gives the explicit amounts.
const (
	PadSame  = "same"  // TensorFlow's SAME: output = ceil(in/stride); extra padding goes bottom/right
	PadValid = "valid" // no padding
	// PadSameSymmetric is TAO's 'same' (its patched Keras backend): convolutions pad
	// ((k-1)*d+1)/2 zeros on both sides of each axis, pools (k-1)/2 (zeros, for max pooling too),
	// then run VALID; an average pool divides by the whole window, padding included. Strided
	// layers on even inputs sit one pixel off TensorFlow's SAME. Exporters write the explicit
	// pads (an AveragePool with count_include_pad=1; a MaxPool after a zero Pad node).
	PadSameSymmetric = "same_symmetric"
)

// Padding modes of a whole graph (Graph.SetPaddingMode): which 'same' its layers use.
const (
	PaddingTF  = "tf"  // TensorFlow's SAME (PadSame), Bonsai's default
	PaddingTAO = "tao" // TAO's symmetric SAME (PadSameSymmetric), to reproduce TAO's numerics
	// PaddingKeras is PaddingTF for 'same' layers; architecture builders that pad explicitly
	// before strided layers (MobileNet v1/v2) pad bottom/right as Keras Applications does,
	// instead of TAO's one pixel on every side, so that Keras Applications' weights see
	// exactly the inputs they were trained on.
	PaddingKeras = "keras"
)

// Layer is one node of the graph. Only the fields its Op uses are set.
type Layer struct {
	Name   string   `json:"name"`
	Op     Op       `json:"op"`
	Inputs []string `json:"inputs,omitempty"`

	Filters         int    `json:"filters,omitempty"`
	Units           int    `json:"units,omitempty"`
	Kernel          [2]int `json:"kernel,omitzero"`
	Strides         [2]int `json:"strides,omitzero"`
	Dilation        [2]int `json:"dilation,omitzero"`
	Padding         string `json:"padding,omitempty"`
	Groups          int    `json:"groups,omitempty"`
	DepthMultiplier int    `json:"depth_multiplier,omitempty"`
	UseBias         bool   `json:"use_bias,omitempty"`

	Activation string  `json:"activation,omitempty"`
	Alpha      float32 `json:"alpha,omitempty"`
	Rate       float32 `json:"rate,omitempty"`
	Epsilon    float32 `json:"epsilon,omitempty"`
	Momentum   float32 `json:"momentum,omitempty"`
	Pad        [4]int  `json:"pad,omitzero"`
	KeepDims   bool    `json:"keep_dims,omitempty"`

	ChannelStart int `json:"channel_start,omitempty"`
	ChannelEnd   int `json:"channel_end,omitempty"`

	// Block is the freeze_blocks id this layer belongs to (-1: none); Frozen marks weights that
	// do not train (TAO freezes only the convolutions of a frozen block); FrozenBN runs batch
	// norm in inference mode during training (freeze_bn).
	Block    int  `json:"block"`
	Frozen   bool `json:"frozen,omitempty"`
	FrozenBN bool `json:"frozen_bn,omitempty"`
}

// FormatVersion is the version of the graph JSON format this package writes and reads.
const FormatVersion = 1

// Graph is a whole model: layers in topological order, the first being the input.
type Graph struct {
	// Version is the JSON format version: 0 in memory, FormatVersion in JSON (MarshalJSON writes
	// it). ParseJSON refuses versions newer than FormatVersion.
	Version int    `json:"version,omitempty"`
	Arch    string `json:"arch"`     // TAO arch name, e.g. "resnet"
	NLayers int    `json:"n_layers"` // depth, e.g. 18 (0 where the family has none)
	// Input is [C, H, W] as TAO's input_image_size writes it.
	Input  [3]int   `json:"input"`
	Layers []*Layer `json:"layers"`
	// Output is the name of the layer whose output is the model's output (logits of "predictions"
	// before softmax; the engine applies softmax/cross-entropy itself).
	Output string `json:"output"`
}

// Tensor is a dense float32 array in row-major order.
type Tensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"-"`
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Size is the number of elements.
func (t *Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Weights maps "layer/param" (e.g. "conv1/kernel", "bn_conv1/moving_mean") to its tensor.
// Param names: kernel, bias (conv2d, depthwise_conv2d, dense); gamma, beta, moving_mean,
// moving_variance (batch_norm).
type Weights map[string]*Tensor

// ParamKey is the Weights key of a layer's parameter.
func ParamKey(layer, param string) string { return layer + "/" + param }
