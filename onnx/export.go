package onnx

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Names of the graph's input and output, as TAO's exporter writes them.
const (
	InputName  = "input_1"
	OutputName = "predictions"
)

// Opsets Export writes: DefaultOpset unless asked, any from MinOpset to MaxOpset (the newest the
// ONNX checker shipped with Debian's python3-onnx 1.12 knows).
const (
	DefaultOpset = 12
	MinOpset     = 12
	MaxOpset     = 17
)

// BatchParam is the name of the symbolic batch dimension of a dynamic-batch export.
const BatchParam = "N"

// Options control Export.
type Options struct {
	// Opset is the ONNX opset version (0: DefaultOpset).
	Opset int
	// BatchSize > 0 fixes the batch dimension; otherwise it is symbolic (BatchParam).
	BatchSize int
	// InputScale, when set, holds one factor per input channel by which input_1 is multiplied
	// before it enters the network: the exported model takes x/InputScale where the Bonsai model
	// takes x. The factors are folded into the input-channel weights of the first convolutions
	// where every reader of the input is one (exact: zero padding stays zero), else applied by
	// a Mul node. DeepStream configs use it for per-channel standard deviations.
	InputScale []float32
	// Metadata are written as the model's metadata_props (sorted by key).
	Metadata map[string]string
	// ProducerVersion is written as producer_version.
	ProducerVersion string
}

// Exported is an exported model and, for calibration, where each of its activation tensors
// comes from in the Bonsai model.
type Exported struct {
	Model *onnxpb.ModelProto
	// Tensors lists the graph input and every node output, in node order.
	Tensors []Tensor
}

// Tensor is one activation tensor of an exported graph.
type Tensor struct {
	Name string
	// Layer is the IR layer whose output (NHWC) holds this tensor's values (NCHW), before Fn and
	// Divisor; "" when no layer does (the tensor then gets no calibration).
	Layer string
	// Fn is an element-wise function applied to the layer's output: "" (none), FnSigmoid,
	// FnSoftplus, FnTanhSoftplus or FnSoftmax (over the last axis).
	Fn string
	// Divisor, when set, divides channel c of the layer's output (the graph input under
	// Options.InputScale).
	Divisor []float32
}

// Element-wise functions of Tensor.Fn.
const (
	FnSigmoid      = "sigmoid"
	FnSoftplus     = "softplus"
	FnTanhSoftplus = "tanh_softplus"
	FnSoftmax      = "softmax"
)

// IRVersion is the ONNX IR version that goes with an opset (ONNX's versioning table).
func IRVersion(opset int) int64 {
	if opset >= 15 {
		return 8
	}
	return 7
}

// Export writes the model graph g with weights w as an ONNX model: input input_1 float32 NCHW,
// output predictions (softmax probabilities). Batch norm is folded into the convolution or
// dense layer before it when that layer feeds nothing else; dropout and drop-path disappear;
// TensorFlow SAME padding becomes explicit pads (extra at the bottom and right) and zero-padding
// layers merge into the convolutions that read them.
func Export(g *model.Graph, w model.Weights, opts Options) (*Exported, error) {
	if opts.Opset == 0 {
		opts.Opset = DefaultOpset
	}
	if opts.Opset < MinOpset || opts.Opset > MaxOpset {
		return nil, fmt.Errorf("opset %d is not supported: choose %d to %d", opts.Opset, MinOpset, MaxOpset)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("model graph: %w", err)
	}
	if n := len(opts.InputScale); n != 0 && n != g.Input[0] {
		return nil, fmt.Errorf("input scale has %d factors for %d input channels", n, g.Input[0])
	}
	e, err := newExporter(g, w, opts)
	if err != nil {
		return nil, err
	}
	if err := e.run(); err != nil {
		return nil, err
	}
	return &Exported{Model: e.modelProto(), Tensors: e.tensors}, nil
}

// exporter walks the IR in order and appends ONNX nodes.
type exporter struct {
	g         *model.Graph
	w         model.Weights
	opts      Options
	shapes    map[string]model.Shape
	index     map[string]*model.Layer
	consumers map[string][]*model.Layer
	batch     int // -1: symbolic

	gp      *onnxpb.GraphProto
	out     map[string]string // IR layer -> ONNX tensor holding its output (NCHW)
	done    map[string]bool   // layers emitted as part of another (folded batch norm)
	padInto map[string]bool   // zero-pad layers merged into the convolutions reading them
	used    map[string]bool   // tensor and initializer names taken
	tensors []Tensor
	// scaleInput is set when Options.InputScale is folded into the first convolutions.
	scaleInput bool
}

func newExporter(g *model.Graph, w model.Weights, opts Options) (*exporter, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	if len(shapes[g.Output]) != 1 {
		return nil, fmt.Errorf("output layer %q has shape %v, want [classes]", g.Output, shapes[g.Output])
	}
	e := &exporter{
		g: g, w: w, opts: opts, shapes: shapes, index: g.Index(),
		consumers: map[string][]*model.Layer{}, batch: -1,
		gp:  &onnxpb.GraphProto{Name: proto.String(graphName(g))},
		out: map[string]string{}, done: map[string]bool{}, padInto: map[string]bool{},
		used: map[string]bool{InputName: true, OutputName: true},
	}
	if opts.BatchSize > 0 {
		e.batch = opts.BatchSize
	}
	for _, l := range g.Layers {
		for _, in := range l.Inputs {
			e.consumers[in] = append(e.consumers[in], l)
		}
	}
	return e, nil
}

func graphName(g *model.Graph) string {
	if g.NLayers > 0 {
		return fmt.Sprintf("%s%d", g.Arch, g.NLayers)
	}
	if g.Arch == "" {
		return "bonsai"
	}
	return g.Arch
}

// run emits every layer, then the softmax output.
func (e *exporter) run() error {
	for _, l := range e.g.Layers {
		if e.done[l.Name] {
			continue
		}
		if err := e.layer(l); err != nil {
			return fmt.Errorf("exporting layer %q (%s): %w", l.Name, l.Op, err)
		}
	}
	e.gp.Node = append(e.gp.Node, Node("Softmax", OutputName, []string{e.out[e.g.Output]}, []string{OutputName}, AttrInt("axis", 1)))
	e.tensors = append(e.tensors, Tensor{Name: OutputName, Layer: e.g.Output, Fn: FnSoftmax})
	e.gp.Output = []*onnxpb.ValueInfoProto{
		TensorValueInfo(OutputName, onnxpb.TensorProto_FLOAT, BatchParam, e.outputDims(e.g.Output)...),
	}
	return nil
}

func (e *exporter) modelProto() *onnxpb.ModelProto {
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(IRVersion(e.opts.Opset)),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(e.opts.Opset))}},
		ProducerName:    proto.String("bonsai"),
		ProducerVersion: proto.String(e.opts.ProducerVersion),
		Graph:           e.gp,
	}
	keys := make([]string, 0, len(e.opts.Metadata))
	for k := range e.opts.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{
			Key: proto.String(k), Value: proto.String(e.opts.Metadata[k])})
	}
	return m
}

// outputDims is the NCHW (or [N, units]) shape of a layer's output, batch first.
func (e *exporter) outputDims(layer string) []int {
	s := e.shapes[layer]
	if len(s) == 3 {
		return []int{e.batch, s[2], s[0], s[1]}
	}
	return append([]int{e.batch}, s...)
}

// name returns a tensor or initializer name based on base that is not taken yet, and takes it.
// ':' is replaced: TensorRT's calibration cache splits lines there.
func (e *exporter) name(base string) string {
	base = strings.ReplaceAll(base, ":", "_")
	n := base
	for i := 1; e.used[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	e.used[n] = true
	return n
}

// node appends a node with one output named after base (made unique), declares the output's
// shape, records where its values come from, and returns the output name.
func (e *exporter) node(op string, inputs []string, base string, dims []int, src Tensor, attrs ...*onnxpb.AttributeProto) string {
	out := e.name(base)
	e.gp.Node = append(e.gp.Node, Node(op, out, inputs, []string{out}, attrs...))
	e.gp.ValueInfo = append(e.gp.ValueInfo, TensorValueInfo(out, onnxpb.TensorProto_FLOAT, BatchParam, dims...))
	src.Name = out
	e.tensors = append(e.tensors, src)
	return out
}

// initializer adds a float32 constant and returns its name.
func (e *exporter) initializer(base string, dims []int, data []float32) string {
	n := e.name(base)
	e.gp.Initializer = append(e.gp.Initializer, FloatTensor(n, dims, data))
	return n
}

// int64Initializer adds an int64 constant and returns its name.
func (e *exporter) int64Initializer(base string, data ...int64) string {
	n := e.name(base)
	e.gp.Initializer = append(e.gp.Initializer, Int64Tensor(n, []int{len(data)}, data))
	return n
}

// param returns a layer's weight tensor or an error naming it.
func (e *exporter) param(l *model.Layer, name string) (*model.Tensor, error) {
	t := e.w[model.ParamKey(l.Name, name)]
	if t == nil {
		return nil, fmt.Errorf("weights lack %s", model.ParamKey(l.Name, name))
	}
	if len(t.Data) != t.Size() {
		return nil, fmt.Errorf("weight %s has %d values for shape %v", model.ParamKey(l.Name, name), len(t.Data), t.Shape)
	}
	return t, nil
}
