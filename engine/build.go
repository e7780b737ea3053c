package engine

import (
	"fmt"
	"slices"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Keras defaults used when a layer leaves an attribute at zero.
const (
	defaultBNMomentum = 0.99
	defaultBNEpsilon  = 1e-3
	defaultLeakyAlpha = 0.3
)

// forwardBuilder turns a model.Graph into GoMLX nodes for one batch.
type forwardBuilder struct {
	ir       *model.Graph
	shapes   map[string]model.Shape
	params   map[string]*Node // by model.ParamKey
	training bool
	// rng is the random state for dropout / drop_path (training only); it is threaded through.
	rng *Node
	// bnUpdates holds the new moving statistics computed in training mode, by param key.
	bnUpdates map[string]*Node
	// fusedBN uses the backend's batch-norm training op instead of composing it.
	fusedBN bool
	// sync, when set, makes batch norm use the statistics of the whole data-parallel batch.
	sync *collective
	// compute is the dtype of activations and of the weights as the layers use them: Float32,
	// or BFloat16 for mixed precision (see TrainConfig.Precision). The zero value is Float32.
	compute dtypes.DType
	// tapSumDepthwise builds depthwise convolutions as tap sums even where the backend has the
	// grouped form (for tests).
	tapSumDepthwise bool
	// padded records the zero-padding layers' inputs: a convolution reading one pads its input
	// itself, and the padded copy is left unused (and not computed).
	padded map[string]padding
	// keepAll keeps every layer's output in outs (for tests and inspection).
	keepAll bool
	outs    map[string]*Node
}

// forward returns the logits (the output layer's activations, float32) for images x [N,H,W,C].
func (b *forwardBuilder) forward(x *Node) (*Node, error) {
	outs := make(map[string]*Node, len(b.ir.Layers))
	x = ConvertDType(x, b.dtype())
	for _, l := range b.ir.Layers {
		if l.Op == model.OpInput {
			outs[l.Name] = x
			continue
		}
		ins := make([]*Node, len(l.Inputs))
		for i, name := range l.Inputs {
			ins[i] = outs[name]
		}
		y, err := b.layer(l, ins)
		if err != nil {
			return nil, fmt.Errorf("layer %q (%s): %w", l.Name, l.Op, err)
		}
		outs[l.Name] = y
	}
	if b.keepAll {
		b.outs = outs
	}
	return ConvertDType(outs[b.ir.Output], dtypes.Float32), nil
}

// dtype is the compute dtype.
func (b *forwardBuilder) dtype() dtypes.DType {
	if b.compute == dtypes.InvalidDType {
		return dtypes.Float32
	}
	return b.compute
}

// param is a parameter as stored: float32 (the master copy under mixed precision).
func (b *forwardBuilder) param(l *model.Layer, name string) *Node {
	return b.params[model.ParamKey(l.Name, name)]
}

// weight is a kernel or bias in the compute dtype; under mixed precision its gradient flows
// back through the conversion to the float32 master copy.
func (b *forwardBuilder) weight(l *model.Layer, name string) *Node {
	return ConvertDType(b.param(l, name), b.dtype())
}

func (b *forwardBuilder) inShape(l *model.Layer) model.Shape { return b.shapes[l.Inputs[0]] }

// layer builds one layer's output from its inputs.
func (b *forwardBuilder) layer(l *model.Layer, ins []*Node) (*Node, error) {
	switch l.Op {
	case model.OpConv:
		return b.conv(l, ins[0], max(l.Groups, 1), b.weight(l, "kernel")), nil
	case model.OpDepthwiseConv:
		return b.depthwiseConv(l, ins[0]), nil
	case model.OpDense:
		y := Dot(ins[0], b.weight(l, "kernel"))
		if l.UseBias {
			y = Add(y, broadcastChannels(b.weight(l, "bias"), y))
		}
		return y, nil
	case model.OpBatchNorm:
		return b.batchNorm(l, ins[0]), nil
	case model.OpActivation:
		if b.training {
			if y := maskedActivation(l.Activation, l.Alpha, ins[0]); y != nil {
				return y, nil
			}
		}
		return activation(l.Activation, l.Alpha, ins[0])
	case model.OpMaxPool, model.OpAvgPool:
		return b.pool(l, ins[0]), nil
	case model.OpGlobalAvgPool:
		y := ConvertDType(ReduceMean(ConvertDType(ins[0], dtypes.Float32), 1, 2), ins[0].DType())
		if l.KeepDims {
			y = InsertAxes(y, 1, 1)
		}
		return y, nil
	case model.OpFlatten:
		return Reshape(ins[0], ins[0].Shape().Dimensions[0], -1), nil
	case model.OpDropout:
		return b.dropout(ins[0], l.Rate, false), nil
	case model.OpDropPath:
		return b.dropout(ins[0], l.Rate, true), nil
	case model.OpAdd:
		y := ins[0]
		for _, x := range ins[1:] {
			y = Add(y, x)
		}
		return y, nil
	case model.OpMultiply:
		return multiplyBroadcast(ins), nil
	case model.OpConcat:
		if len(ins) == 1 {
			return ins[0], nil
		}
		return Concatenate(ins, -1), nil
	case model.OpZeroPad:
		if b.padded == nil {
			b.padded = map[string]padding{}
		}
		b.padded[l.Name] = padding{x: ins[0], pad: l.Pad}
		return zeroPad(ins[0], l.Pad), nil
	case model.OpChannelSlice:
		return SliceAxis(ins[0], 3, AxisRange(l.ChannelStart, l.ChannelEnd)), nil
	}
	return nil, fmt.Errorf("unsupported op")
}

// padding is a zero-padding layer's input and its padding (top, bottom, left, right).
type padding struct {
	x   *Node
	pad [4]int
}

// convInput returns the input a convolution layer l reads and its (before, after) padding of
// both spatial axes: when x comes from a zero-padding layer, that layer's input, with its
// padding added to l's own, as long as no window then starts or ends in the padding only
// (GoMLX's convolution gradient cannot take that).
func (b *forwardBuilder) convInput(l *model.Layer, x *Node) (*Node, [][2]int) {
	pads := spatialPadding(l, b.inShape(l))
	p, ok := b.padded[l.Inputs[0]]
	if !ok {
		return x, pads
	}
	folded := [][2]int{{pads[0][0] + p.pad[0], pads[0][1] + p.pad[1]}, {pads[1][0] + p.pad[2], pads[1][1] + p.pad[3]}}
	d := layerDilation(l)
	for i, f := range folded {
		if ext := (l.Kernel[i]-1)*d[i] + 1; max(f[0], f[1]) > ext-1 {
			return x, pads
		}
	}
	return p.x, folded
}

// spatialPadding is the (before, after) padding of both spatial axes of a conv or pool layer
// (TensorFlow's SAME, TAO's symmetric SAME or none: model.Pads).
func spatialPadding(l *model.Layer, in model.Shape) [][2]int {
	p := model.Pads(l, in)
	return [][2]int{{p[0], p[1]}, {p[2], p[3]}}
}

func layerStrides(l *model.Layer) [2]int {
	return [2]int{max(l.Strides[0], 1), max(l.Strides[1], 1)}
}

func layerDilation(l *model.Layer) [2]int {
	return [2]int{max(l.Dilation[0], 1), max(l.Dilation[1], 1)}
}

func (b *forwardBuilder) conv(l *model.Layer, x *Node, groups int, kernel *Node) *Node {
	s, d := layerStrides(l), layerDilation(l)
	x, pads := b.convInput(l, x)
	// Strides and dilations are always explicit: SimpleGo reads missing ones as 0.
	c := Convolve(x, kernel).PaddingPerDim(pads).
		StridePerAxis(s[0], s[1]).DilationPerAxis(d[0], d[1])
	if groups > 1 {
		c = c.ChannelGroupCount(groups)
	}
	y := c.Done()
	if l.UseBias {
		y = Add(y, broadcastChannels(b.weight(l, "bias"), y))
	}
	return y
}

// depthwiseConv builds a depthwise convolution (kernel [kh, kw, C, M], output channel c*M+m as
// TF) as a sum over the kernel taps of strided slices of the padded input times per-channel
// weights. GoMLX differentiates a grouped convolution by splitting it into one convolution per
// channel, hundreds of tiny ones per MobileNet layer; slices, products and sums differentiate
// into a few ops of the output's size, on every backend.
func (b *forwardBuilder) depthwiseConv(l *model.Layer, x *Node) *Node {
	if hasGroupedDepthwise(x.Graph().Backend()) && !b.tapSumDepthwise {
		return b.groupedDepthwiseConv(l, x)
	}
	k := b.weight(l, "kernel")
	kd := k.Shape().Dimensions
	kh, kw, c, m := kd[0], kd[1], kd[2], kd[3]
	s, d := layerStrides(l), layerDilation(l)
	x, pads := b.convInput(l, x)
	batch := x.Shape().Dimensions[0]
	out := b.shapes[l.Name]
	ho, wo := out[0], out[1]
	xp := padSpatialZeros(x, pads)
	var y *Node
	for i := range kh {
		for j := range kw {
			r0, c0 := i*d[0], j*d[1]
			tap := Slice(xp, AxisRange(), AxisRange(r0, r0+(ho-1)*s[0]+1).Stride(s[0]),
				AxisRange(c0, c0+(wo-1)*s[1]+1).Stride(s[1]), AxisRange())
			w := Slice(k, AxisElem(i), AxisElem(j))
			var t *Node
			if m == 1 {
				t = Mul(tap, Reshape(w, 1, 1, 1, c))
			} else {
				t = Reshape(Mul(Reshape(tap, batch, ho, wo, c, 1), Reshape(w, 1, 1, 1, c, m)), batch, ho, wo, c*m)
			}
			if y == nil {
				y = t
			} else {
				y = Add(y, t)
			}
		}
	}
	if l.UseBias {
		y = Add(y, broadcastChannels(b.weight(l, "bias"), y))
	}
	return y
}

// padSpatialZeros pads x [B, H, W, C] with zeros on H and W by concatenation (GoMLX's Pad has
// no gradient).
func padSpatialZeros(x *Node, pads [][2]int) *Node {
	for axis := 1; axis <= 2; axis++ {
		parts := []*Node{x}
		for side, n := range pads[axis-1] {
			if n == 0 {
				continue
			}
			dims := slices.Clone(x.Shape().Dimensions)
			dims[axis] = n
			z := Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
			if side == 0 {
				parts = append([]*Node{z}, parts...)
			} else {
				parts = append(parts, z)
			}
		}
		if len(parts) > 1 {
			x = Concatenate(parts, axis)
		}
	}
	return x
}

// broadcastChannels reshapes a per-channel vector [C] to [1, ..., 1, C], which binary ops
// broadcast against x [..., C] without materialising a full-size tensor.
func broadcastChannels(v, x *Node) *Node {
	dims := make([]int, x.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[len(dims)-1] = v.Shape().Dimensions[0]
	return Reshape(v, dims...)
}

// batchNorm follows Keras: training mode normalises with the batch statistics and updates the
// moving ones (unless FrozenBN); inference mode uses the moving statistics. Statistics, gamma and
// beta stay float32 under mixed precision: only the per-channel scale and shift are converted to
// the compute dtype to be applied.
func (b *forwardBuilder) batchNorm(l *model.Layer, x *Node) *Node {
	eps := float64(l.Epsilon)
	if eps == 0 {
		eps = defaultBNEpsilon
	}
	gamma, beta := b.param(l, "gamma"), b.param(l, "beta")
	mean, variance := b.param(l, "moving_mean"), b.param(l, "moving_variance")
	if b.training && !l.FrozenBN {
		if b.fusedBN && x.DType() == dtypes.Float32 {
			return b.fusedBatchNorm(l, x, eps)
		}
		mean, variance = b.batchStats(l, x)
	}
	scale := Div(gamma, Sqrt(AddScalar(variance, eps))) // (Rsqrt has no gradient in GoMLX)
	shift := Sub(beta, Mul(mean, scale))
	scale, shift = ConvertDType(scale, x.DType()), ConvertDType(shift, x.DType())
	return Add(Mul(x, broadcastChannels(scale, x)), broadcastChannels(shift, x))
}

// hasFusedBN reports whether a backend implements the batch-norm training op and its gradient
// (XLA and purego do; SimpleGo does not).
func hasFusedBN(be backends.Backend) bool {
	ops := be.Capabilities().Operations
	return ops[backends.OpTypeBatchNormForTraining] && ops[backends.OpTypeBatchNormGradient]
}

// fusedBatchNorm uses the backend's BatchNormForTraining op (and its BatchNormGradient), which
// computes the statistics and the normalisation in fewer passes than the composed version.
func (b *forwardBuilder) fusedBatchNorm(l *model.Layer, x *Node, eps float64) *Node {
	y, mean, variance := InternalBatchNormForTraining(x, b.param(l, "gamma"), b.param(l, "beta"), float32(eps), -1)
	b.recordMovingStats(l, x, StopGradient(mean), StopGradient(variance))
	return y
}

// batchStats computes the batch mean and (biased) variance over all axes but the channels, in
// float32, and records the moving-statistics update. The moving variance uses the unbiased batch variance, as
// TensorFlow's fused batch norm (and PyTorch) do.
func (b *forwardBuilder) batchStats(l *model.Layer, x *Node) (mean, variance *Node) {
	x = ConvertDType(x, dtypes.Float32)
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	mean = ReduceMean(x, axes...)
	if b.sync != nil {
		mean = b.sync.meanDiff(mean)
	}
	centered := Sub(x, broadcastChannels(mean, x))
	variance = ReduceMean(Square(centered), axes...)
	if b.sync != nil {
		variance = b.sync.meanDiff(variance)
	}
	b.recordMovingStats(l, x, mean, variance)
	return mean, variance
}

// recordMovingStats records the Keras moving-average update of a batch-norm layer's statistics
// from the batch mean and biased variance.
func (b *forwardBuilder) recordMovingStats(l *model.Layer, x, mean, variance *Node) {
	count := x.Shape().Size() / x.Shape().Dimensions[x.Rank()-1]
	if b.sync != nil {
		count *= b.sync.replicas
	}
	momentum := float64(l.Momentum)
	if momentum == 0 {
		momentum = defaultBNMomentum
	}
	unbiased := variance
	if count > 1 {
		unbiased = MulScalar(variance, float64(count)/float64(count-1))
	}
	mm, mv := b.param(l, "moving_mean"), b.param(l, "moving_variance")
	b.bnUpdates[model.ParamKey(l.Name, "moving_mean")] = StopGradient(
		Add(MulScalar(mm, momentum), MulScalar(mean, 1-momentum)))
	b.bnUpdates[model.ParamKey(l.Name, "moving_variance")] = StopGradient(
		Add(MulScalar(mv, momentum), MulScalar(unbiased, 1-momentum)))
}

// pool builds max or average pooling; SAME average pooling divides by the number of real
// (non-padding) elements in each window, as Keras does. TAO's symmetric padding pads zeros
// (for max pooling too) and divides by the whole window.
func (b *forwardBuilder) pool(l *model.Layer, x *Node) *Node {
	s := layerStrides(l)
	pads := spatialPadding(l, b.inShape(l))
	if l.Padding == model.PadSameSymmetric {
		x, pads = padSpatialZeros(x, pads), [][2]int{{0, 0}, {0, 0}}
	}
	if l.Op == model.OpMaxPool {
		return MaxPool(x).WindowPerAxis(l.Kernel[0], l.Kernel[1]).StridePerAxis(s[0], s[1]).
			PaddingPerDim(pads).Done()
	}
	sum := SumPool(x).WindowPerAxis(l.Kernel[0], l.Kernel[1]).StridePerAxis(s[0], s[1]).
		PaddingPerDim(pads).Done()
	if model.CountsPadding(l) {
		return MulScalar(sum, 1/float64(l.Kernel[0]*l.Kernel[1]))
	}
	in := b.inShape(l)
	counts := windowCounts(in[0], in[1], l.Kernel, s, pads)
	oh, ow := sum.Shape().Dimensions[1], sum.Shape().Dimensions[2]
	inv := ConvertDType(Const(x.Graph(), invert(counts)), x.DType())
	return Mul(sum, Reshape(inv, 1, oh, ow, 1))
}

// windowCounts is, for each output position, how many input (non-padding) elements its window covers.
func windowCounts(h, w int, k, s [2]int, pads [][2]int) [][]float32 {
	oh := (h+pads[0][0]+pads[0][1]-k[0])/s[0] + 1
	ow := (w+pads[1][0]+pads[1][1]-k[1])/s[1] + 1
	out := make([][]float32, oh)
	for i := range out {
		out[i] = make([]float32, ow)
		r := overlap(i*s[0]-pads[0][0], k[0], h)
		for j := range out[i] {
			out[i][j] = float32(r * overlap(j*s[1]-pads[1][0], k[1], w))
		}
	}
	return out
}

// overlap is the length of [start, start+k) ∩ [0, n).
func overlap(start, k, n int) int {
	return max(min(start+k, n)-max(start, 0), 0)
}

func invert(m [][]float32) [][]float32 {
	out := make([][]float32, len(m))
	for i, row := range m {
		out[i] = make([]float32, len(row))
		for j, v := range row {
			out[i][j] = 1 / v
		}
	}
	return out
}

// dropout applies inverted dropout in training mode; perSample drops whole examples' branches
// (drop_path / stochastic depth).
func (b *forwardBuilder) dropout(x *Node, rate float32, perSample bool) *Node {
	if !b.training || rate <= 0 {
		return x
	}
	if rate >= 1 {
		return ZerosLike(x)
	}
	dims := x.Shape().Dimensions
	maskDims := dims
	if perSample {
		maskDims = make([]int, len(dims))
		for i := range maskDims {
			maskDims[i] = 1
		}
		maskDims[0] = dims[0]
	}
	var u *Node
	b.rng, u = RandomUniform(b.rng, shapes.Make(dtypes.Float32, maskDims...))
	keep := ConvertDType(GreaterOrEqual(u, Scalar(x.Graph(), dtypes.Float32, rate)), dtypes.Float32)
	keep = ConvertDType(MulScalar(keep, 1/(1-float64(rate))), x.DType())
	return Mul(x, keep) // [N,1,...] broadcasts for drop_path
}

// multiplyBroadcast multiplies its inputs, broadcasting size-1 axes ([N,1,1,C] against [N,H,W,C]).
func multiplyBroadcast(ins []*Node) *Node {
	y := ins[0]
	for _, x := range ins[1:] {
		y = Mul(y, x)
	}
	return y
}

// zeroPad pads the spatial axes with zeros by concatenation (works on every backend).
func zeroPad(x *Node, pad [4]int) *Node {
	for axis, p := range [][2]int{{pad[0], pad[1]}, {pad[2], pad[3]}} {
		ax := axis + 1
		parts := []*Node{}
		if p[0] > 0 {
			parts = append(parts, zerosAlong(x, ax, p[0]))
		}
		parts = append(parts, x)
		if p[1] > 0 {
			parts = append(parts, zerosAlong(x, ax, p[1]))
		}
		if len(parts) > 1 {
			x = Concatenate(parts, ax)
		}
	}
	return x
}

func zerosAlong(x *Node, axis, n int) *Node {
	dims := append([]int(nil), x.Shape().Dimensions...)
	dims[axis] = n
	return Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
}

// maskedActivation writes the piecewise-linear activations as x times a constant mask (and a
// constant offset for relu6), so that their gradient is one multiplication instead of the
// five element-wise passes of Max's generic gradient. Values equal activation's. It returns nil
// for other activations.
func maskedActivation(name string, alpha float32, x *Node) *Node {
	g, dt := x.Graph(), x.DType()
	zero := ScalarZero(g, dt)
	mask := func(cond *Node) *Node { return StopGradient(ConvertDType(cond, dt)) }
	switch name {
	case model.ActReLU:
		return Mul(x, mask(GreaterThan(x, zero)))
	case model.ActReLU6:
		six := Scalar(g, dt, 6)
		inside := mask(LogicalAnd(GreaterThan(x, zero), LessThan(x, six)))
		return Add(Mul(x, inside), MulScalar(mask(GreaterOrEqual(x, six)), 6))
	case model.ActLeakyReLU:
		a := float64(alpha)
		if a == 0 {
			a = defaultLeakyAlpha
		}
		pos := mask(GreaterThan(x, zero))
		return Mul(x, StopGradient(AddScalar(MulScalar(pos, 1-a), a)))
	}
	return nil
}

// activation applies a named activation function.
func activation(name string, alpha float32, x *Node) (*Node, error) {
	switch name {
	case model.ActLinear, "":
		return x, nil
	case model.ActReLU:
		return Max(x, ScalarZero(x.Graph(), x.DType())), nil
	case model.ActReLU6:
		return MinScalar(MaxScalar(x, 0.0), 6.0), nil
	case model.ActLeakyReLU:
		a := float64(alpha)
		if a == 0 {
			a = defaultLeakyAlpha
		}
		return Where(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), x, MulScalar(x, a)), nil
	case model.ActSigmoid:
		return Logistic(x), nil
	case model.ActSwish:
		return Mul(x, Logistic(x)), nil
	case model.ActMish:
		return Mul(x, Tanh(Softplus(x))), nil
	case model.ActSoftmax:
		return Softmax(x, -1), nil
	case model.ActTanh:
		return Tanh(x), nil
	}
	return nil, fmt.Errorf("unknown activation %q", name)
}

// softmaxCrossEntropy returns the per-example cross-entropy of logits [N,K] against soft labels
// [N,K] after label smoothing: y' = y*(1-s) + s/K (Keras' formula, applied to the labels the
// caller gives, including mixed ones).
func softmaxCrossEntropy(logits, labels *Node, smoothing float64) *Node {
	if smoothing > 0 {
		k := float64(labels.Shape().Dimensions[1])
		labels = AddScalar(MulScalar(labels, 1-smoothing), smoothing/k)
	}
	return Neg(ReduceSum(Mul(labels, LogSoftmax(logits, -1)), -1))
}

// accuracyCount is the number of examples whose argmax prediction matches the argmax label.
func accuracyCount(logits, labels *Node) *Node {
	hit := Equal(ArgMax(logits, -1, dtypes.Int32), ArgMax(labels, -1, dtypes.Int32))
	return ReduceAllSum(ConvertDType(hit, dtypes.Float32))
}
