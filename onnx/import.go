package onnx

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// ImportedOps lists the ONNX operators Import maps to the model graph.
var ImportedOps = []string{
	"Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Mul", "Add",
	"MaxPool", "AveragePool", "GlobalAveragePool", "Pad", "Concat", "Slice", "Flatten", "Reshape",
	"Gemm", "MatMul", "Softmax", "Dropout", "Identity", "Constant",
	// x * Sigmoid(x) is swish, x * Tanh(Softplus(x)) mish.
}

// ImportOptions adjust Import.
type ImportOptions struct {
	// InputSize [C, H, W], when set, replaces the input's height and width (a fully convolutional
	// model runs at any size); an input with symbolic ones is otherwise 224x224.
	InputSize [3]int
}

// Imported is an ONNX model converted to the model graph.
type Imported struct {
	Graph   *model.Graph
	Weights model.Weights
	// Nodes lists the ONNX nodes in order with the graph layer each became.
	Nodes []ImportedNode
}

// ImportedNode says what became of one ONNX node.
type ImportedNode struct {
	Name, Op string
	Layer    string // the graph layer holding its output ("" for constants)
	Note     string
}

// Import converts an ONNX classifier (NCHW, as PyTorch, timm and Keras export them) into the
// model graph (NHWC) and its weights: convolution kernels [O, I/g, kh, kw] become HWIO (or
// depthwise [kh, kw, C, M]), Gemm weights [units, in] become [in, units], and a dense layer after
// a flatten of a map larger than 1x1 gets its rows reordered from (C, H, W) to (H, W, C). Padding
// that is not TensorFlow's SAME becomes an explicit zero-padding layer. A final Softmax is
// dropped (the graph's output is the logits). An operator the graph cannot express is an error
// naming the node and the operator.
func Import(m *onnxpb.ModelProto, opts ImportOptions) (*Imported, error) {
	im := &importer{g: &model.Graph{Arch: archFromModel(m)}, w: model.Weights{}, shapes: map[string]model.Shape{},
		consts: map[string]*onnxpb.TensorProto{}, values: map[string]string{}, names: map[string]bool{},
		flatCHW: map[string][3]int{}, nonneg: map[string]bool{}, consumers: map[string]int{}, fused: map[string]bool{}, fusedAct: map[string]string{},
		producer: map[string]*onnxpb.NodeProto{}, opts: opts}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("the ONNX model has no graph")
	}
	for _, t := range g.GetInitializer() {
		im.consts[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			im.consumers[in]++
		}
		for _, out := range n.GetOutput() {
			im.producer[out] = n
		}
	}
	if err := im.input(g); err != nil {
		return nil, err
	}
	im.findFusedActivations(g)
	for _, n := range g.GetNode() {
		if err := im.node(n); err != nil {
			return nil, fmt.Errorf("ONNX node %q (%s): %w", n.GetName(), n.GetOpType(), err)
		}
	}
	if err := im.output(g); err != nil {
		return nil, err
	}
	return &Imported{Graph: im.g, Weights: im.w, Nodes: im.nodes}, nil
}

// archFromModel names the graph after the ONNX graph (or the producer).
func archFromModel(m *onnxpb.ModelProto) string {
	name := m.GetGraph().GetName()
	if name == "" || name == "main_graph" || name == "torch_jit" {
		name = "onnx"
	}
	return regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(name, "_")
}

type importer struct {
	g         *model.Graph
	w         model.Weights
	shapes    map[string]model.Shape
	consts    map[string]*onnxpb.TensorProto // initializers and Constant outputs
	values    map[string]string              // ONNX tensor -> graph layer holding it
	names     map[string]bool
	flatCHW   map[string][3]int // flatten layers whose rows ONNX orders (C, H, W)
	nonneg    map[string]bool   // layers whose outputs are never negative
	consumers map[string]int
	producer  map[string]*onnxpb.NodeProto
	fused     map[string]bool   // nodes folded into the swish or mish of the Mul that reads them
	fusedAct  map[string]string // Mul node -> the activation it computes
	nodes     []ImportedNode
	opts      ImportOptions
}

// input adds the graph input: the first graph input that is not an initializer, [N, C, H, W].
func (im *importer) input(g *onnxpb.GraphProto) error {
	for _, in := range g.GetInput() {
		if _, isConst := im.consts[in.GetName()]; isConst {
			continue
		}
		dims := ValueInfoDims(in)
		if len(dims) != 4 {
			return fmt.Errorf("ONNX input %q has shape %v; an image input [N, C, H, W] is needed", in.GetName(), dims)
		}
		c, h, w := dims[1], dims[2], dims[3]
		if c <= 0 {
			return fmt.Errorf("ONNX input %q has no channel count", in.GetName())
		}
		if size := im.opts.InputSize; size[1] > 0 && size[2] > 0 {
			if size[0] != c {
				return fmt.Errorf("input size %v: the ONNX input %q has %d channels", size, in.GetName(), c)
			}
			h, w = size[1], size[2]
		}
		if h <= 0 || w <= 0 {
			h, w = 224, 224
		}
		im.g.Input = [3]int{c, h, w}
		name := im.layerName(in.GetName(), "input")
		im.g.Layers = append(im.g.Layers, &model.Layer{Name: name, Op: model.OpInput, Block: -1})
		im.shapes[name] = model.Shape{h, w, c}
		im.values[in.GetName()] = name
		return nil
	}
	return fmt.Errorf("the ONNX graph has no input")
}

var nameCleaner = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// layerName makes a unique graph layer name from an ONNX name.
func (im *importer) layerName(onnxName, fallback string) string {
	base := strings.Trim(nameCleaner.ReplaceAllString(onnxName, "_"), "_")
	if base == "" {
		base = fallback
	}
	name := base
	for i := 2; im.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	im.names[name] = true
	return name
}

// add appends a layer and records its shape.
func (im *importer) add(l *model.Layer) error {
	l.Block = -1
	ins := make([]model.Shape, len(l.Inputs))
	for i, in := range l.Inputs {
		ins[i] = im.shapes[in]
	}
	s, err := model.OutputShape(l, ins)
	if err != nil {
		return err
	}
	im.shapes[l.Name] = s
	im.g.Layers = append(im.g.Layers, l)
	return nil
}

// in returns the graph layer holding the node's i-th input.
func (im *importer) in(n *onnxpb.NodeProto, i int) (string, error) {
	if i >= len(n.GetInput()) {
		return "", fmt.Errorf("missing input %d", i)
	}
	name := n.GetInput()[i]
	l, ok := im.values[name]
	if !ok {
		if _, isConst := im.consts[name]; isConst {
			return "", fmt.Errorf("input %q is a constant where a computed tensor is supported", name)
		}
		return "", fmt.Errorf("input %q is not computed by an earlier node", name)
	}
	return l, nil
}

// inputs returns the graph layers holding all of the node's inputs.
func (im *importer) inputs(n *onnxpb.NodeProto) ([]string, error) {
	ins := make([]string, len(n.GetInput()))
	for i := range ins {
		x, err := im.in(n, i)
		if err != nil {
			return nil, err
		}
		ins[i] = x
	}
	return ins, nil
}

// emit adds the layer for node n (named after it) reading inputs, and maps its output.
func (im *importer) emit(n *onnxpb.NodeProto, l *model.Layer, inputs ...string) error {
	l.Name = im.layerName(n.GetName(), strings.ToLower(n.GetOpType()))
	l.Inputs = inputs
	if err := im.add(l); err != nil {
		return err
	}
	im.alias(n, l.Name, "")
	return nil
}

// alias maps the node's first output to an existing layer.
func (im *importer) alias(n *onnxpb.NodeProto, layer, note string) {
	if len(n.GetOutput()) > 0 {
		im.values[n.GetOutput()[0]] = layer
	}
	im.nodes = append(im.nodes, ImportedNode{Name: n.GetName(), Op: n.GetOpType(), Layer: layer, Note: note})
}

func (im *importer) node(n *onnxpb.NodeProto) error {
	switch n.GetOpType() {
	case "Constant":
		return im.constant(n)
	case "Conv":
		return im.conv(n)
	case "BatchNormalization":
		return im.batchNorm(n)
	case "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "Softplus":
		return im.activation(n)
	case "Slice":
		return im.slice(n)
	case "Mul":
		return im.mul(n)
	case "Add":
		return im.addNode(n)
	case "MaxPool", "AveragePool":
		return im.pool(n)
	case "GlobalAveragePool":
		x, err := im.in(n, 0)
		if err != nil {
			return err
		}
		err = im.emit(n, &model.Layer{Op: model.OpGlobalAvgPool, KeepDims: true}, x)
		im.nonneg[im.values[n.GetOutput()[0]]] = im.nonneg[x]
		return err
	case "Pad":
		return im.pad(n)
	case "Concat":
		return im.concat(n)
	case "Flatten", "Reshape":
		return im.flatten(n)
	case "Gemm", "MatMul":
		return im.dense(n)
	case "Dropout", "Identity":
		x, err := im.in(n, 0)
		if err != nil {
			return err
		}
		im.alias(n, x, "identity at inference")
		return nil
	}
	return fmt.Errorf("operator %s is not supported (supported: %s)", n.GetOpType(), strings.Join(ImportedOps, ", "))
}

func (im *importer) constant(n *onnxpb.NodeProto) error {
	for _, a := range n.GetAttribute() {
		if a.GetName() == "value" && a.GetT() != nil && len(n.GetOutput()) == 1 {
			t := proto.Clone(a.GetT()).(*onnxpb.TensorProto)
			im.consts[n.GetOutput()[0]] = t
			im.nodes = append(im.nodes, ImportedNode{Name: n.GetName(), Op: "Constant", Note: "constant"})
			return nil
		}
	}
	return fmt.Errorf("only Constant nodes with a tensor value are supported")
}

// output sets the graph output, dropping a final softmax.
func (im *importer) output(g *onnxpb.GraphProto) error {
	if len(g.GetOutput()) != 1 {
		return fmt.Errorf("the ONNX graph has %d outputs; one is supported", len(g.GetOutput()))
	}
	name := g.GetOutput()[0].GetName()
	out, ok := im.values[name]
	if !ok {
		return fmt.Errorf("the ONNX output %q is not computed by any node", name)
	}
	idx := im.g.Index()
	if l := idx[out]; l.Op == model.OpActivation && l.Activation == model.ActSoftmax {
		im.g.Layers = slices.DeleteFunc(im.g.Layers, func(x *model.Layer) bool { return x == l })
		out = l.Inputs[0]
		for i := range im.nodes {
			if im.nodes[i].Layer == l.Name {
				im.nodes[i].Layer, im.nodes[i].Note = "", "final softmax dropped: the graph outputs logits"
			}
		}
	}
	im.g.Output = out
	if s := im.shapes[out]; len(s) != 1 {
		return fmt.Errorf("the ONNX output %q has shape %v per image; a classifier's [classes] is needed", name, s)
	}
	return im.g.Validate()
}

// attrs gives a node's attributes by name.
type attrs map[string]*onnxpb.AttributeProto

func attrsOf(n *onnxpb.NodeProto) attrs {
	a := attrs{}
	for _, x := range n.GetAttribute() {
		a[x.GetName()] = x
	}
	return a
}

func (a attrs) int(name string, def int) int {
	if x, ok := a[name]; ok {
		return int(x.GetI())
	}
	return def
}

func (a attrs) float(name string, def float32) float32 {
	if x, ok := a[name]; ok {
		return x.GetF()
	}
	return def
}

func (a attrs) ints(name string, def ...int) []int {
	x, ok := a[name]
	if !ok {
		return def
	}
	out := make([]int, len(x.GetInts()))
	for i, v := range x.GetInts() {
		out[i] = int(v)
	}
	return out
}

func (a attrs) str(name string) string {
	if x, ok := a[name]; ok {
		return string(x.GetS())
	}
	return ""
}

// constFloats returns a constant input's values and dims.
func (im *importer) constFloats(n *onnxpb.NodeProto, i int) ([]float32, []int, error) {
	if i >= len(n.GetInput()) || n.GetInput()[i] == "" {
		return nil, nil, nil
	}
	t, ok := im.consts[n.GetInput()[i]]
	if !ok {
		return nil, nil, fmt.Errorf("input %q must be a constant (an initializer)", n.GetInput()[i])
	}
	v, err := FloatData(t)
	if err != nil {
		return nil, nil, err
	}
	return v, TensorDims(t), nil
}

// window reads kernel_shape, strides, dilations and the pads [top, left, bottom, right] of a
// conv or pool, from auto_pad when it is set.
type window struct {
	kernel, strides, dilations [2]int
	pads                       [4]int // top, bottom, left, right (the graph's order)
}

func windowOf(a attrs, kernel [2]int, in model.Shape) (window, error) {
	w := window{kernel: kernel, strides: [2]int{1, 1}, dilations: [2]int{1, 1}}
	for i, v := range a.ints("strides", 1, 1) {
		if i < 2 {
			w.strides[i] = v
		}
	}
	for i, v := range a.ints("dilations", 1, 1) {
		if i < 2 {
			w.dilations[i] = v
		}
	}
	switch ap := a.str("auto_pad"); ap {
	case "", "NOTSET":
		p := a.ints("pads", 0, 0, 0, 0)
		if len(p) != 4 {
			return w, fmt.Errorf("pads %v: want 4 values (2-D)", p)
		}
		w.pads = [4]int{p[0], p[2], p[1], p[3]}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := range 2 {
			lo, hi := model.SamePadding(in[i], kernel[i], w.strides[i], w.dilations[i])
			if ap == "SAME_LOWER" {
				lo, hi = hi, lo
			}
			w.pads[2*i], w.pads[2*i+1] = lo, hi
		}
	default:
		return w, fmt.Errorf("auto_pad %q", ap)
	}
	return w, nil
}

// padding picks the graph's padding for explicit pads: none, TensorFlow's SAME (unless an
// average pool counts its padding), or an explicit zero-padding layer in front (returned as the
// new input).
func (im *importer) padding(n *onnxpb.NodeProto, x string, op model.Op, w window, countsPad bool) (string, string, error) {
	if w.pads == [4]int{} {
		return x, model.PadValid, nil
	}
	probe := &model.Layer{Op: op, Kernel: w.kernel, Strides: w.strides, Dilation: w.dilations, Padding: model.PadSame}
	if model.Pads(probe, im.shapes[x]) == w.pads && !countsPad {
		return x, model.PadSame, nil
	}
	l := &model.Layer{Name: im.layerName(n.GetName()+"_pad", "pad"), Op: model.OpZeroPad, Inputs: []string{x}, Pad: w.pads}
	if err := im.add(l); err != nil {
		return "", "", err
	}
	im.nonneg[l.Name] = im.nonneg[x]
	return l.Name, model.PadValid, nil
}

func (im *importer) conv(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	wv, wd, err := im.constFloats(n, 1)
	if err != nil || len(wd) != 4 {
		return fmt.Errorf("weights %v: want a constant [O, I/groups, kh, kw] (%v)", wd, err)
	}
	bv, _, err := im.constFloats(n, 2)
	if err != nil {
		return err
	}
	a := attrsOf(n)
	o, ig, kh, kw := wd[0], wd[1], wd[2], wd[3]
	groups := a.int("group", 1)
	cin := im.shapes[x].Channels()
	if ig*groups != cin {
		return fmt.Errorf("weights for %d input channels in %d groups, the input has %d", ig, groups, cin)
	}
	win, err := windowOf(a, [2]int{kh, kw}, im.shapes[x])
	if err != nil {
		return err
	}
	x, pad, err := im.padding(n, x, model.OpConv, win, false)
	if err != nil {
		return err
	}
	l := &model.Layer{Kernel: win.kernel, Strides: win.strides, Dilation: win.dilations, Padding: pad, UseBias: bv != nil}
	var kernel *model.Tensor
	if groups > 1 && groups == cin && ig == 1 {
		l.Op, l.DepthMultiplier = model.OpDepthwiseConv, o/cin
		kernel = depthwiseKernel(wv, o, cin, kh, kw)
	} else {
		l.Op, l.Filters = model.OpConv, o
		if groups > 1 {
			l.Groups = groups
		}
		kernel = convKernel(wv, o, ig, kh, kw)
	}
	if err := im.emit(n, l, x); err != nil {
		return err
	}
	im.w[model.ParamKey(l.Name, "kernel")] = kernel
	if bv != nil {
		im.w[model.ParamKey(l.Name, "bias")] = &model.Tensor{Shape: []int{o}, Data: bv}
	}
	return nil
}

// convKernel turns ONNX weights [O, I, kh, kw] into HWIO [kh, kw, I, O].
func convKernel(w []float32, o, in, kh, kw int) *model.Tensor {
	t := model.NewTensor(kh, kw, in, o)
	for oc := range o {
		for ic := range in {
			for y := range kh {
				for x := range kw {
					t.Data[((y*kw+x)*in+ic)*o+oc] = w[((oc*in+ic)*kh+y)*kw+x]
				}
			}
		}
	}
	return t
}

// depthwiseKernel turns ONNX depthwise weights [C*M, 1, kh, kw] into [kh, kw, C, M].
func depthwiseKernel(w []float32, o, c, kh, kw int) *model.Tensor {
	m := o / c
	t := model.NewTensor(kh, kw, c, m)
	for oc := range o {
		for y := range kh {
			for x := range kw {
				t.Data[(y*kw+x)*o+oc] = w[(oc*kh+y)*kw+x] // (c, m) = (oc/m, oc%m): index c*m+m' = oc
			}
		}
	}
	return t
}

func (im *importer) batchNorm(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	c := im.shapes[x].Channels()
	params := []string{"gamma", "beta", "moving_mean", "moving_variance"}
	vals := make([][]float32, 4)
	for i := range params {
		v, _, err := im.constFloats(n, i+1)
		if err != nil {
			return err
		}
		if len(v) != c {
			return fmt.Errorf("%s has %d values for %d channels", params[i], len(v), c)
		}
		vals[i] = v
	}
	a := attrsOf(n)
	l := &model.Layer{Op: model.OpBatchNorm, Epsilon: a.float("epsilon", 1e-5), Momentum: a.float("momentum", 0.9)}
	if err := im.emit(n, l, x); err != nil {
		return err
	}
	for i, p := range params {
		im.w[model.ParamKey(l.Name, p)] = &model.Tensor{Shape: []int{c}, Data: vals[i]}
	}
	return nil
}

func (im *importer) activation(n *onnxpb.NodeProto) error {
	if im.fused[n.GetOutput()[0]] {
		im.nodes = append(im.nodes, ImportedNode{Name: n.GetName(), Op: n.GetOpType(), Note: "folded into the activation of the Mul that reads it"})
		return nil
	}
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	l := &model.Layer{Op: model.OpActivation}
	a := attrsOf(n)
	switch n.GetOpType() {
	case "Relu":
		l.Activation = model.ActReLU
	case "LeakyRelu":
		l.Activation, l.Alpha = model.ActLeakyReLU, a.float("alpha", 0.01)
	case "Sigmoid":
		l.Activation = model.ActSigmoid
	case "Tanh":
		l.Activation = model.ActTanh
	case "Softplus":
		return fmt.Errorf("operator Softplus is supported only inside mish, x * Tanh(Softplus(x))")
	case "Softmax":
		if axis := a.int("axis", -1); axis != 1 && axis != -1 {
			return fmt.Errorf("softmax over axis %d: only the class axis is supported", axis)
		}
		l.Activation = model.ActSoftmax
	case "Clip":
		if l.Activation, err = im.clip(n, a); err != nil {
			return err
		}
	}
	if err := im.emit(n, l, x); err != nil {
		return err
	}
	im.nonneg[l.Name] = l.Activation == model.ActReLU || l.Activation == model.ActReLU6 || l.Activation == model.ActSigmoid
	return nil
}

// clip maps Clip(0, 6) to relu6 and Clip(0, inf) to relu; bounds come from inputs (opset 11+)
// or attributes.
func (im *importer) clip(n *onnxpb.NodeProto, a attrs) (string, error) {
	lo, hi := a.float("min", float32(math.Inf(-1))), a.float("max", float32(math.Inf(1)))
	for i, dst := range []*float32{&lo, &hi} {
		v, _, err := im.constFloats(n, i+1)
		if err != nil {
			return "", err
		}
		if len(v) == 1 {
			*dst = v[0]
		}
	}
	switch {
	case lo == 0 && hi == 6:
		return model.ActReLU6, nil
	case lo == 0 && math.IsInf(float64(hi), 1):
		return model.ActReLU, nil
	}
	return "", fmt.Errorf("clipping to [%g, %g] is not supported (Clip(0, 6) is relu6, Clip(0, inf) relu)", lo, hi)
}

// findFusedActivations finds x * Sigmoid(x) (swish) and x * Tanh(Softplus(x)) (mish) where
// the inner nodes feed only that Mul, and marks the inner nodes as folded into it.
func (im *importer) findFusedActivations(g *onnxpb.GraphProto) {
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Mul" || len(n.GetInput()) != 2 {
			continue
		}
		for i, in := range n.GetInput() {
			x := n.GetInput()[1-i]
			if chain := im.chain(in, x, "Sigmoid"); chain != nil {
				im.fuse(n, model.ActSwish, chain)
			} else if chain := im.chain(in, x, "Tanh", "Softplus"); chain != nil {
				im.fuse(n, model.ActMish, chain)
			}
		}
	}
}

// chain returns the outputs of the single-reader nodes ops[0](ops[1](...(x))) ending in t, or
// nil when t is not computed that way.
func (im *importer) chain(t, x string, ops ...string) []string {
	var outs []string
	for _, op := range ops {
		p := im.producer[t]
		if p == nil || p.GetOpType() != op || len(p.GetInput()) != 1 || im.consumers[t] != 1 {
			return nil
		}
		outs = append(outs, t)
		t = p.GetInput()[0]
	}
	if t != x {
		return nil
	}
	return outs
}

func (im *importer) fuse(mul *onnxpb.NodeProto, act string, chain []string) {
	im.fusedAct[mul.GetName()+"\x00"+mul.GetOutput()[0]] = act
	for _, t := range chain {
		im.fused[t] = true
	}
}

// mul is x * sigmoid(x) (swish), x * tanh(softplus(x)) (mish) or a feature map scaled per
// channel (squeeze-and-excitation).
func (im *importer) mul(n *onnxpb.NodeProto) error {
	if act, ok := im.fusedAct[n.GetName()+"\x00"+n.GetOutput()[0]]; ok {
		for i, in := range n.GetInput() {
			if im.fused[in] {
				x, err := im.in(n, 1-i)
				if err != nil {
					return err
				}
				return im.emit(n, &model.Layer{Op: model.OpActivation, Activation: act}, x)
			}
		}
	}
	ins, err := im.inputs(n)
	if err != nil {
		return err
	}
	return im.emit(n, &model.Layer{Op: model.OpMultiply}, ins...)
}

// addNode is a residual sum of two computed tensors, or a bias after MatMul.
func (im *importer) addNode(n *onnxpb.NodeProto) error {
	for i := range 2 {
		if _, isConst := im.consts[n.GetInput()[i]]; isConst {
			return im.matmulBias(n, i)
		}
	}
	ins, err := im.inputs(n)
	if err != nil {
		return err
	}
	return im.emit(n, &model.Layer{Op: model.OpAdd}, ins...)
}

// matmulBias folds a constant added to a bias-free dense layer into its bias.
func (im *importer) matmulBias(n *onnxpb.NodeProto, constIdx int) error {
	x, err := im.in(n, 1-constIdx)
	if err != nil {
		return err
	}
	l := im.g.Index()[x]
	bias, _, err := im.constFloats(n, constIdx)
	if err != nil {
		return err
	}
	if l == nil || l.Op != model.OpDense || l.UseBias || im.consumers[n.GetInput()[1-constIdx]] != 1 || len(bias) != l.Units {
		return fmt.Errorf("adding a constant is supported only as the bias of a MatMul")
	}
	l.UseBias = true
	im.w[model.ParamKey(l.Name, "bias")] = &model.Tensor{Shape: []int{l.Units}, Data: bias}
	im.alias(n, l.Name, "bias of "+l.Name)
	return nil
}

func (im *importer) pool(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	a := attrsOf(n)
	k := a.ints("kernel_shape")
	if len(k) != 2 {
		return fmt.Errorf("kernel_shape %v: want 2-D", k)
	}
	if a.int("ceil_mode", 0) != 0 {
		return fmt.Errorf("ceil_mode 1 is not supported")
	}
	win, err := windowOf(a, [2]int{k[0], k[1]}, im.shapes[x])
	if err != nil {
		return err
	}
	if win.dilations != [2]int{1, 1} {
		return fmt.Errorf("dilated pooling is not supported")
	}
	op := model.OpMaxPool
	if n.GetOpType() == "AveragePool" {
		op = model.OpAvgPool
	}
	probe := &model.Layer{Op: op, Kernel: win.kernel, Strides: win.strides, Padding: model.PadSame}
	tfSame := model.Pads(probe, im.shapes[x]) == win.pads
	countsPad := op == model.OpAvgPool && a.int("count_include_pad", 0) == 1
	switch {
	case win.pads == [4]int{} || tfSame || countsPad:
		// no padding, TensorFlow's SAME (the graph's pools leave it out), or zeros averaged in
	case op == model.OpAvgPool:
		return fmt.Errorf("pads %v that leave the padding out of the average are supported only as TensorFlow's SAME", win.pads)
	case !im.nonneg[x]:
		return fmt.Errorf("max pooling with pads %v is supported after a ReLU (the graph pads with zeros)", win.pads)
	}
	nonneg := im.nonneg[x]
	x, pad, err := im.padding(n, x, op, win, countsPad)
	if err != nil {
		return err
	}
	if err := im.emit(n, &model.Layer{Op: op, Kernel: win.kernel, Strides: win.strides, Padding: pad}, x); err != nil {
		return err
	}
	im.nonneg[im.values[n.GetOutput()[0]]] = nonneg
	return nil
}

// pad is a constant zero padding of the spatial axes.
func (im *importer) pad(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	a := attrsOf(n)
	if m := a.str("mode"); m != "" && m != "constant" {
		return fmt.Errorf("mode %q: only constant padding is supported", m)
	}
	p := a.ints("pads")
	if len(n.GetInput()) > 1 && n.GetInput()[1] != "" {
		t, ok := im.consts[n.GetInput()[1]]
		if !ok {
			return fmt.Errorf("pads must be a constant")
		}
		p = nil
		for _, v := range int64Data(t) {
			p = append(p, int(v))
		}
	}
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		v, _, err := im.constFloats(n, 2)
		if err != nil || (len(v) == 1 && v[0] != 0) {
			return fmt.Errorf("only zero padding is supported")
		}
	}
	if len(p) != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 {
		return fmt.Errorf("pads %v: only the spatial axes of [N, C, H, W] may be padded", p)
	}
	err = im.emit(n, &model.Layer{Op: model.OpZeroPad, Pad: [4]int{p[2], p[6], p[3], p[7]}}, x)
	im.nonneg[im.values[n.GetOutput()[0]]] = im.nonneg[x]
	return err
}

// int64Data reads an int64 tensor (shapes, pads).
func int64Data(t *onnxpb.TensorProto) []int64 {
	if len(t.GetRawData()) == 0 {
		return t.GetInt64Data()
	}
	raw := t.GetRawData()
	out := make([]int64, len(raw)/8)
	for i := range out {
		var v uint64
		for b := range 8 {
			v |= uint64(raw[8*i+b]) << (8 * b)
		}
		out[i] = int64(v)
	}
	return out
}

func (im *importer) concat(n *onnxpb.NodeProto) error {
	if axis := attrsOf(n).int("axis", 1); axis != 1 && axis != -3 {
		return fmt.Errorf("concatenation along axis %d: only channels (axis 1) are supported", axis)
	}
	ins, err := im.inputs(n)
	if err != nil {
		return err
	}
	return im.emit(n, &model.Layer{Op: model.OpConcat}, ins...)
}

// slice takes a range of channels (axis 1, step 1): CSPDarknet-tiny's split.
func (im *importer) slice(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	get := func(i int, attr string) []int64 {
		if i < len(n.GetInput()) && n.GetInput()[i] != "" {
			if t, ok := im.consts[n.GetInput()[i]]; ok {
				return int64Data(t)
			}
			return nil
		}
		var out []int64
		for _, v := range attrsOf(n).ints(attr) {
			out = append(out, int64(v))
		}
		return out
	}
	starts, ends, axes, steps := get(1, "starts"), get(2, "ends"), get(3, "axes"), get(4, "steps")
	if len(axes) == 0 {
		axes = []int64{0}
	}
	if len(starts) != 1 || len(ends) != 1 || len(axes) != 1 || (axes[0] != 1 && axes[0] != -3) || (len(steps) > 0 && steps[0] != 1) {
		return fmt.Errorf("only a constant slice of channels (axis 1, step 1) is supported")
	}
	c := int64(im.shapes[x].Channels())
	lo, hi := clampIndex(starts[0], c), clampIndex(ends[0], c)
	return im.emit(n, &model.Layer{Op: model.OpChannelSlice, ChannelStart: int(lo), ChannelEnd: int(hi)}, x)
}

// clampIndex resolves a negative index and clamps it to [0, n], as Slice does.
func clampIndex(i, n int64) int64 {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// flatten is Flatten(axis 1), or a Reshape to [N, -1] / [N, C*H*W].
func (im *importer) flatten(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	s := im.shapes[x]
	size := 1
	for _, d := range s {
		size *= d
	}
	if n.GetOpType() == "Flatten" {
		if axis := attrsOf(n).int("axis", 1); axis != 1 {
			return fmt.Errorf("flatten at axis %d: only axis 1 is supported", axis)
		}
	} else {
		t, ok := im.consts[n.GetInput()[1]]
		if !ok {
			return fmt.Errorf("the target shape must be a constant")
		}
		to := int64Data(t)
		if len(to) != 2 || (to[1] != -1 && int(to[1]) != size) {
			return fmt.Errorf("reshape to %v: only flattening to [N, -1] is supported", to)
		}
	}
	if len(s) == 1 {
		im.alias(n, x, "already flat")
		return nil
	}
	if err := im.emit(n, &model.Layer{Op: model.OpFlatten}, x); err != nil {
		return err
	}
	if s[0]*s[1] > 1 {
		im.flatCHW[im.values[n.GetOutput()[0]]] = [3]int{s[2], s[0], s[1]}
	}
	return nil
}

// dense is Gemm (A [N, in] times B, plus C) or MatMul by a constant [in, units].
func (im *importer) dense(n *onnxpb.NodeProto) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	if len(im.shapes[x]) != 1 {
		return fmt.Errorf("input of shape %v: only flat inputs (after Flatten or global pooling) are supported", im.shapes[x])
	}
	in := im.shapes[x][0]
	bv, bd, err := im.constFloats(n, 1)
	if err != nil || len(bd) != 2 {
		return fmt.Errorf("weights %v: want a constant matrix (%v)", bd, err)
	}
	a := attrsOf(n)
	if a.int("transA", 0) != 0 {
		return fmt.Errorf("transA is not supported")
	}
	transB := n.GetOpType() == "Gemm" && a.int("transB", 0) == 1
	units := bd[1]
	if transB {
		units = bd[0]
	}
	if bd[0]*bd[1] != in*units {
		return fmt.Errorf("weights %v for %d inputs", bd, in)
	}
	kernel := model.NewTensor(in, units)
	alpha := a.float("alpha", 1)
	for k := range in {
		for u := range units {
			v := bv[k*units+u]
			if transB {
				v = bv[u*in+k]
			}
			kernel.Data[k*units+u] = alpha * v
		}
	}
	if chw, ok := im.flatCHW[x]; ok {
		if kernel, err = model.PermuteFlattenRows(kernel, chw[0], chw[1], chw[2]); err != nil {
			return err
		}
	}
	cv, _, err := im.constFloats(n, 2)
	if err != nil {
		return err
	}
	if cv != nil && len(cv) != units {
		return fmt.Errorf("bias of %d values for %d units (only a per-unit bias is supported)", len(cv), units)
	}
	l := &model.Layer{Op: model.OpDense, Units: units, UseBias: cv != nil}
	if err := im.emit(n, l, x); err != nil {
		return err
	}
	im.w[model.ParamKey(l.Name, "kernel")] = kernel
	if cv != nil {
		beta := a.float("beta", 1)
		b := make([]float32, units)
		for i, v := range cv {
			b[i] = beta * v
		}
		im.w[model.ParamKey(l.Name, "bias")] = &model.Tensor{Shape: []int{units}, Data: b}
	}
	return nil
}
