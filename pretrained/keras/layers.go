package keras

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
)

// Supported lists the Keras layer classes the converter maps to the model graph.
var Supported = []string{
	"InputLayer", "Conv2D", "DepthwiseConv2D", "Dense", "BatchNormalization", "Activation",
	"ReLU", "LeakyReLU", "Softmax", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
	"Flatten", "Dropout", "SpatialDropout2D", "Add", "Multiply", "Concatenate", "ZeroPadding2D",
}

// aliases are other spellings of supported classes.
var aliases = map[string]string{
	"Convolution2D": "Conv2D", "MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
	"AveragePooling2D": "AveragePooling2D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
}

// converter turns flattened Keras nodes into model graph layers.
type converter struct {
	g             *model.Graph
	shapes        map[string]model.Shape
	channelsFirst bool
	opts          Options
	plans         map[string]*plan
	layers        []LayerInfo
	// tail maps a Keras layer with a fused activation to the activation's graph layer, which
	// holds the Keras layer's output.
	tail map[string]string
}

// output is the graph layer holding a Keras layer's output.
func (c *converter) output(name string) string {
	if t, ok := c.tail[name]; ok {
		return t
	}
	return name
}

// plan says how a Keras layer's weights become the graph's.
type plan struct {
	class        string
	center       bool   // batch norm has beta
	scale        bool   // batch norm has gamma
	flattenCHW   [3]int // dense after a channels_first flatten of [C, H, W] (zero: none)
	depthwiseKey bool
}

func (c *converter) convert(n *node) error {
	class := n.class
	if a, ok := aliases[class]; ok {
		class = a
	}
	var err error
	switch class {
	case "InputLayer":
		err = c.input(n)
	case "Conv2D":
		err = c.conv(n)
	case "DepthwiseConv2D":
		err = c.depthwise(n)
	case "Dense":
		err = c.dense(n)
	case "BatchNormalization":
		err = c.batchNorm(n)
	case "Activation", "ReLU", "LeakyReLU", "Softmax":
		err = c.activationLayer(n, class)
	case "MaxPooling2D", "AveragePooling2D":
		err = c.pool(n, class)
	case "GlobalAveragePooling2D":
		keep, _ := n.config["keepdims"].(bool)
		err = c.add(n, &model.Layer{Op: model.OpGlobalAvgPool, KeepDims: keep})
	case "Flatten":
		err = c.add(n, &model.Layer{Op: model.OpFlatten})
	case "Dropout", "SpatialDropout2D":
		err = c.add(n, &model.Layer{Op: model.OpDropout, Rate: float32(num(n.config, "rate", 0))})
	case "Add":
		err = c.add(n, &model.Layer{Op: model.OpAdd})
	case "Multiply":
		err = c.add(n, &model.Layer{Op: model.OpMultiply})
	case "Concatenate":
		err = c.concat(n)
	case "ZeroPadding2D":
		err = c.zeroPad(n)
	default:
		err = fmt.Errorf("layer type %s is not supported (supported: %s)", n.class, strings.Join(Supported, ", "))
	}
	if err != nil {
		return fmt.Errorf("layer %q (%s): %w", n.name, n.class, err)
	}
	return nil
}

// add appends l under the node's name and inputs, infers its shape and records the layer.
func (c *converter) add(n *node, l *model.Layer) error {
	l.Name, l.Block = n.name, -1
	for _, in := range n.inputs {
		l.Inputs = append(l.Inputs, c.output(in))
	}
	if err := c.append(l); err != nil {
		return err
	}
	c.layers = append(c.layers, LayerInfo{Name: n.name, Class: n.class, Op: string(l.Op)})
	return nil
}

func (c *converter) append(l *model.Layer) error {
	if strings.Contains(l.Name, "/") {
		return fmt.Errorf("layer name contains '/'")
	}
	ins := make([]model.Shape, len(l.Inputs))
	for i, in := range l.Inputs {
		s, ok := c.shapes[in]
		if !ok {
			return fmt.Errorf("input %q is not an earlier layer", in)
		}
		ins[i] = s
	}
	s, err := model.OutputShape(l, ins)
	if err != nil {
		return err
	}
	c.shapes[l.Name] = s
	c.g.Layers = append(c.g.Layers, l)
	return nil
}

func (c *converter) input(n *node) error {
	if len(c.g.Layers) > 0 {
		return fmt.Errorf("a second input layer: models with several inputs are not supported")
	}
	shape := ints(n.config["batch_input_shape"])
	if shape == nil {
		shape = ints(n.config["batch_shape"])
	}
	if len(shape) != 4 {
		return fmt.Errorf("input shape %v: want [batch, H, W, C] (or [batch, C, H, W])", n.config["batch_input_shape"])
	}
	ch, h, w := shape[3], shape[1], shape[2]
	if c.channelsFirst {
		ch, h, w = shape[1], shape[2], shape[3]
	}
	if ch <= 0 {
		return fmt.Errorf("input shape %v has no channel count", shape)
	}
	if size := c.opts.InputSize; size[1] > 0 && size[2] > 0 {
		if size[0] != ch {
			return fmt.Errorf("input size %v: the model takes %d channels", size, ch)
		}
		h, w = size[1], size[2]
	}
	if h <= 0 || w <= 0 { // variable size
		h, w = 224, 224
	}
	c.g.Input = [3]int{ch, h, w}
	l := &model.Layer{Name: n.name, Op: model.OpInput, Block: -1}
	c.g.Layers = append(c.g.Layers, l)
	c.shapes[n.name] = model.Shape{h, w, ch}
	c.layers = append(c.layers, LayerInfo{Name: n.name, Class: n.class, Op: string(model.OpInput)})
	return nil
}

// window reads kernel or pool size, strides, dilation and padding.
func window(cfg map[string]any, sizeKey string) (k, s, d [2]int, pad string, err error) {
	k, err = pair(cfg[sizeKey], sizeKey)
	if err != nil {
		return
	}
	s, d = k, [2]int{1, 1}
	if sizeKey == "kernel_size" {
		s = [2]int{1, 1}
	}
	if v, ok := cfg["strides"]; ok && v != nil {
		if s, err = pair(v, "strides"); err != nil {
			return
		}
	}
	if v, ok := cfg["dilation_rate"]; ok && v != nil {
		if d, err = pair(v, "dilation_rate"); err != nil {
			return
		}
	}
	pad, _ = cfg["padding"].(string)
	switch pad {
	case "same":
		pad = model.PadSame
	case "valid", "":
		pad = model.PadValid
	default:
		err = fmt.Errorf("padding %q is not supported (same and valid are)", pad)
	}
	return
}

func (c *converter) conv(n *node) error {
	k, s, d, pad, err := window(n.config, "kernel_size")
	if err != nil {
		return err
	}
	l := &model.Layer{Op: model.OpConv, Filters: int(num(n.config, "filters", 0)), Kernel: k,
		Strides: s, Dilation: d, Padding: pad, UseBias: flag(n.config, "use_bias", true)}
	if g := int(num(n.config, "groups", 1)); g > 1 {
		l.Groups = g
	}
	return c.withActivation(n, l)
}

func (c *converter) depthwise(n *node) error {
	k, s, d, pad, err := window(n.config, "kernel_size")
	if err != nil {
		return err
	}
	l := &model.Layer{Op: model.OpDepthwiseConv, Kernel: k, Strides: s, Dilation: d, Padding: pad,
		DepthMultiplier: int(num(n.config, "depth_multiplier", 1)), UseBias: flag(n.config, "use_bias", true)}
	c.plans[n.name] = &plan{class: "DepthwiseConv2D", depthwiseKey: true}
	return c.withActivation(n, l)
}

func (c *converter) dense(n *node) error {
	l := &model.Layer{Op: model.OpDense, Units: int(num(n.config, "units", 0)), UseBias: flag(n.config, "use_bias", true)}
	if len(n.inputs) == 1 && len(c.shapes[c.output(n.inputs[0])]) != 1 {
		return fmt.Errorf("input shape %v: Dense is supported on flat inputs (after Flatten or global pooling)", c.shapes[c.output(n.inputs[0])])
	}
	p := &plan{class: "Dense"}
	if c.channelsFirst && len(n.inputs) == 1 {
		p.flattenCHW = c.flattenedCHW(c.output(n.inputs[0]))
	}
	c.plans[n.name] = p
	return c.withActivation(n, l)
}

// flattenedCHW follows a dense layer's input back through shape-preserving layers to a
// Flatten of a map larger than 1x1, whose channels_first order (C, H, W) the kernel rows follow.
func (c *converter) flattenedCHW(name string) [3]int {
	idx := c.g.Index()
	for l := idx[name]; l != nil; {
		switch l.Op {
		case model.OpDropout, model.OpActivation, model.OpBatchNorm:
			l = idx[l.Inputs[0]]
			continue
		case model.OpFlatten:
			s := c.shapes[l.Inputs[0]]
			if len(s) == 3 && s[0]*s[1] > 1 {
				return [3]int{s[2], s[0], s[1]}
			}
		}
		return [3]int{}
	}
	return [3]int{}
}

// withActivation adds the layer and, for a fused activation other than linear, an activation
// layer after it named <layer>_<activation>.
func (c *converter) withActivation(n *node, l *model.Layer) error {
	act, _ := n.config["activation"].(string)
	if act == "" || act == "linear" {
		return c.add(n, l)
	}
	name, alpha, err := kerasActivation(act)
	if err != nil {
		return err
	}
	if err := c.add(n, l); err != nil {
		return err
	}
	a := &model.Layer{Name: n.name + "_" + act, Op: model.OpActivation, Inputs: []string{n.name},
		Activation: name, Alpha: alpha, Block: -1}
	c.tail[n.name] = a.Name
	c.layers[len(c.layers)-1].Note = "fused " + act + " activation: layer " + a.Name
	return c.append(a)
}

// kerasActivation maps a Keras activation name to the graph's.
func kerasActivation(name string) (string, float32, error) {
	switch name {
	case "relu", "sigmoid", "tanh", "softmax", "linear", "swish", "relu6", "mish":
		return name, 0, nil
	case "silu":
		return model.ActSwish, 0, nil
	case "leaky_relu":
		return model.ActLeakyReLU, 0.2, nil // tf.nn.leaky_relu's default
	}
	return "", 0, fmt.Errorf("activation %q is not supported (known: %s)", name, strings.Join(model.Activations(), ", "))
}

func (c *converter) activationLayer(n *node, class string) error {
	l := &model.Layer{Op: model.OpActivation}
	switch class {
	case "Activation":
		act, _ := n.config["activation"].(string)
		var err error
		if l.Activation, l.Alpha, err = kerasActivation(act); err != nil {
			return err
		}
	case "Softmax":
		l.Activation = model.ActSoftmax
	case "LeakyReLU":
		l.Activation = model.ActLeakyReLU
		l.Alpha = float32(num(n.config, "alpha", num(n.config, "negative_slope", 0.3)))
	case "ReLU":
		maxValue := num(n.config, "max_value", math.Inf(1))
		slope, threshold := num(n.config, "negative_slope", 0), num(n.config, "threshold", 0)
		switch {
		case threshold != 0:
			return fmt.Errorf("ReLU threshold %g is not supported", threshold)
		case slope == 0 && maxValue == 6:
			l.Activation = model.ActReLU6
		case slope == 0 && math.IsInf(maxValue, 1):
			l.Activation = model.ActReLU
		case slope > 0 && math.IsInf(maxValue, 1):
			l.Activation, l.Alpha = model.ActLeakyReLU, float32(slope)
		default:
			return fmt.Errorf("ReLU with max_value %g and negative_slope %g is not supported", maxValue, slope)
		}
	}
	return c.add(n, l)
}

func (c *converter) batchNorm(n *node) error {
	axis := int(num(n.config, "axis", -1))
	if ax := ints(n.config["axis"]); len(ax) == 1 { // Keras 2.2 may write a list
		axis = ax[0]
	}
	channel := axis == -1 || axis == 3
	if c.channelsFirst {
		channel = axis == 1 || axis == -3
	}
	if !channel {
		return fmt.Errorf("axis %d is not the channel axis", axis)
	}
	c.plans[n.name] = &plan{class: "BatchNormalization", center: flag(n.config, "center", true), scale: flag(n.config, "scale", true)}
	return c.add(n, &model.Layer{Op: model.OpBatchNorm, Epsilon: float32(num(n.config, "epsilon", 1e-3)),
		Momentum: float32(num(n.config, "momentum", 0.99))})
}

func (c *converter) pool(n *node, class string) error {
	k, s, _, pad, err := window(n.config, "pool_size")
	if err != nil {
		return err
	}
	op := model.OpMaxPool
	if class == "AveragePooling2D" {
		op = model.OpAvgPool
	}
	return c.add(n, &model.Layer{Op: op, Kernel: k, Strides: s, Padding: pad})
}

func (c *converter) concat(n *node) error {
	axis := int(num(n.config, "axis", -1))
	ok := axis == -1 || axis == 3
	if c.channelsFirst {
		ok = axis == 1 || axis == -3
	}
	if !ok {
		return fmt.Errorf("concatenation along axis %d: only the channel axis is supported", axis)
	}
	return c.add(n, &model.Layer{Op: model.OpConcat})
}

// zeroPad reads ZeroPadding2D's padding: p, (ph, pw) or ((top, bottom), (left, right)).
func (c *converter) zeroPad(n *node) error {
	var pad [4]int
	switch v := n.config["padding"].(type) {
	case float64:
		p := int(v)
		pad = [4]int{p, p, p, p}
	case []any:
		if len(v) != 2 {
			return fmt.Errorf("padding %v", v)
		}
		for i, e := range v {
			switch e := e.(type) {
			case float64:
				pad[2*i], pad[2*i+1] = int(e), int(e)
			case []any:
				p := ints(e)
				if len(p) != 2 {
					return fmt.Errorf("padding %v", v)
				}
				pad[2*i], pad[2*i+1] = p[0], p[1]
			}
		}
	default:
		return fmt.Errorf("padding %v", n.config["padding"])
	}
	return c.add(n, &model.Layer{Op: model.OpZeroPad, Pad: pad})
}

// num reads a number from a config, def when absent or null.
func num(cfg map[string]any, key string, def float64) float64 {
	switch v := cfg[key].(type) {
	case float64:
		return v
	case []any:
		if len(v) == 1 {
			if f, ok := v[0].(float64); ok {
				return f
			}
		}
	}
	return def
}

func flag(cfg map[string]any, key string, def bool) bool {
	if v, ok := cfg[key].(bool); ok {
		return v
	}
	return def
}

// ints reads a JSON list of numbers; null entries become -1.
func ints(v any) []int {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]int, len(list))
	for i, e := range list {
		f, ok := e.(float64)
		if !ok {
			out[i] = -1
			continue
		}
		out[i] = int(f)
	}
	return out
}

// pair reads an int or a 2-list.
func pair(v any, what string) ([2]int, error) {
	if f, ok := v.(float64); ok {
		return [2]int{int(f), int(f)}, nil
	}
	p := ints(v)
	if len(p) != 2 || slices.Contains(p, -1) {
		return [2]int{}, fmt.Errorf("%s %v: want two numbers", what, v)
	}
	return [2]int{p[0], p[1]}, nil
}
