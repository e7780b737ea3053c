package quant

import (
	"fmt"
	"math"

	"github.com/bonsai-ml/bonsai/onnx"
	"github.com/bonsai-ml/bonsai/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// MinQDQOpset is the first opset whose DequantizeLinear takes per-channel scales (axis).
const MinQDQOpset = 13

// weightedOps are the ops whose second input is a weight quantized per output channel.
var weightedOps = map[string]bool{"Conv": true, "Gemm": true}

// QDQ returns a copy of an FP32 export with explicit INT8 quantization: every activation
// tensor that has an amax (the graph input and node outputs, not the graph outputs) passes
// through QuantizeLinear/DequantizeLinear with scale amax/127 and zero point 0, and the weights
// of Conv and Gemm are stored as int8 with one scale per output channel (axis 0: max|w|/127,
// values in [-127, 127]) behind a DequantizeLinear. Biases and other constants stay float.
func QDQ(m *onnxpb.ModelProto, amax map[string]float64) (*onnxpb.ModelProto, error) {
	if v := onnx.Opset(m); v < MinQDQOpset {
		return nil, fmt.Errorf("a QDQ model needs opset %d or later (per-channel weight scales); the model has opset %d", MinQDQOpset, v)
	}
	out := proto.Clone(m).(*onnxpb.ModelProto)
	r := &rewriter{g: out.GetGraph(), amax: amax, inits: map[string]*onnxpb.TensorProto{},
		renamed: map[string]string{}, outputs: map[string]bool{}}
	for _, t := range r.g.GetInitializer() {
		r.inits[t.GetName()] = t
	}
	for _, o := range r.g.GetOutput() {
		r.outputs[o.GetName()] = true
	}
	if err := r.rewrite(); err != nil {
		return nil, err
	}
	return out, nil
}

// rewriter rebuilds a graph's node list with Q/DQ nodes.
type rewriter struct {
	g       *onnxpb.GraphProto
	amax    map[string]float64
	inits   map[string]*onnxpb.TensorProto
	renamed map[string]string // tensor -> its dequantized copy
	outputs map[string]bool
	nodes   []*onnxpb.NodeProto
	drop    map[string]bool // float weight initializers replaced by int8 ones
	used    map[string]bool // names of tensors and initializers
}

// name returns base, or base with a number, that no tensor or initializer has yet, and takes it.
func (r *rewriter) name(base string) string {
	n := base
	for i := 1; r.used[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	r.used[n] = true
	return n
}

// takeNames records every name the graph uses.
func (r *rewriter) takeNames() {
	r.used = map[string]bool{}
	for _, v := range r.g.GetInput() {
		r.used[v.GetName()] = true
	}
	for _, t := range r.g.GetInitializer() {
		r.used[t.GetName()] = true
	}
	for _, n := range r.g.GetNode() {
		for _, o := range n.GetOutput() {
			r.used[o] = true
		}
	}
}

func (r *rewriter) rewrite() error {
	r.drop = map[string]bool{}
	r.takeNames()
	for _, in := range r.g.GetInput() {
		r.quantizeActivation(in.GetName())
	}
	for _, n := range r.g.GetNode() {
		for i, in := range n.Input {
			if dq, ok := r.renamed[in]; ok {
				n.Input[i] = dq
			}
		}
		if weightedOps[n.GetOpType()] && len(n.Input) > 1 {
			dq, err := r.quantizeWeight(n.Input[1])
			if err != nil {
				return fmt.Errorf("node %s: %w", n.GetName(), err)
			}
			n.Input[1] = dq
		}
		r.nodes = append(r.nodes, n)
		for _, o := range n.GetOutput() {
			r.quantizeActivation(o)
		}
	}
	r.g.Node = r.nodes
	kept := r.g.Initializer[:0]
	for _, t := range r.g.Initializer {
		if !r.drop[t.GetName()] {
			kept = append(kept, t)
		}
	}
	r.g.Initializer = kept
	return nil
}

// quantizeActivation appends Q and DQ nodes after tensor t when it has an amax.
func (r *rewriter) quantizeActivation(t string) {
	a, ok := r.amax[t]
	if !ok || r.outputs[t] {
		return
	}
	scale := r.addInit(onnx.FloatTensor(r.name(t+"_scale"), nil, []float32{float32(a / 127)}))
	zero := r.addInit(onnx.Int8Tensor(r.name(t+"_zero_point"), nil, []int8{0}))
	q, dq := r.name(t+"_quantized"), r.name(t+"_dequantized")
	r.nodes = append(r.nodes,
		onnx.Node("QuantizeLinear", q, []string{t, scale, zero}, []string{q}),
		onnx.Node("DequantizeLinear", dq, []string{q, scale, zero}, []string{dq}))
	r.renamed[t] = dq
}

// quantizeWeight replaces a float weight initializer by int8 values with per-output-channel
// scales and appends their DequantizeLinear; it returns the dequantized tensor's name.
func (r *rewriter) quantizeWeight(name string) (string, error) {
	if dq, ok := r.renamed[name]; ok {
		return dq, nil
	}
	w := r.inits[name]
	if w == nil {
		return "", fmt.Errorf("weight %q is not an initializer", name)
	}
	data, err := onnx.FloatData(w)
	if err != nil {
		return "", err
	}
	dims := onnx.TensorDims(w)
	q, scales := quantizePerChannel(data, dims[0])
	qn := r.addInit(onnx.Int8Tensor(r.name(name+"_quantized"), dims, q))
	sn := r.addInit(onnx.FloatTensor(r.name(name+"_scale"), []int{dims[0]}, scales))
	zn := r.addInit(onnx.Int8Tensor(r.name(name+"_zero_point"), []int{dims[0]}, make([]int8, dims[0])))
	dq := r.name(name + "_dequantized")
	r.nodes = append(r.nodes, onnx.Node("DequantizeLinear", dq, []string{qn, sn, zn}, []string{dq}, onnx.AttrInt("axis", 0)))
	r.renamed[name] = dq
	r.drop[name] = true
	return dq, nil
}

// addInit adds an initializer and returns its name.
func (r *rewriter) addInit(t *onnxpb.TensorProto) string {
	r.g.Initializer = append(r.g.Initializer, t)
	return t.GetName()
}

// quantizePerChannel quantizes data laid out as [channels, ...] symmetrically per channel:
// scale max|w|/127 (1 for an all-zero channel), values rounded half to even into [-127, 127].
func quantizePerChannel(data []float32, channels int) ([]int8, []float32) {
	per := len(data) / channels
	q := make([]int8, len(data))
	scales := make([]float32, channels)
	for c := range channels {
		row := data[c*per : (c+1)*per]
		m := 0.0
		for _, x := range row {
			m = math.Max(m, math.Abs(float64(x)))
		}
		s := float32(1)
		if m > 0 {
			s = float32(m / 127)
		}
		scales[c] = s
		for i, x := range row {
			v := math.RoundToEven(float64(x / s))
			q[c*per+i] = int8(math.Max(-127, math.Min(127, v)))
		}
	}
	return q, scales
}
