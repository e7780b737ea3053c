// Package keras reads Keras models into Bonsai's model graph: the model_config JSON (Functional,
// Sequential and nested models, Keras 2 and 3 configs) becomes a graph of the layer types Bonsai
// has, and Keras weights ("conv1/kernel:0", "bn_conv1/moving_mean:0", ...) become the graph's
// parameters. It also reads Keras' HDF5 files (.h5 / .hdf5, the format of TAO's pretrained
// models) through package hdf5; package tfjs reuses the converter for TensorFlow.js models.
//
// Keras layouts are Bonsai's: conv kernels HWIO whatever the data format, depthwise
// [kh, kw, C, multiplier], dense [in, units], batch norm gamma / beta / moving_mean /
// moving_variance. Two things do change:
//   - channels_first models (TAO's) run in the graph's NHWC layout; a Dense after a Flatten of a
//     map larger than 1x1 has its kernel rows permuted from (C, H, W) to (H, W, C) order;
//   - a final softmax is dropped (the graph's output is the logits; Bonsai applies softmax).
//
// Layer names are kept, so weights match TAO's names (conv1, bn_conv1, block_1a_conv_1, ...).
package keras

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
)

// Options adjust a conversion.
type Options struct {
	// InputSize [C, H, W], when set, replaces the input's height and width (a fully
	// convolutional model runs at any size); an unspecified (None) size is otherwise 224x224.
	InputSize [3]int
	// PaddingMode is the graph's padding mode: model.PaddingTF, model.PaddingTAO, or "" to
	// guess: TAO for channels_first models (TAO trains NCHW with its symmetric padding),
	// TensorFlow's otherwise.
	PaddingMode string
}

// LayerInfo says what became of one Keras layer.
type LayerInfo struct {
	Name  string
	Class string // Keras class
	Op    string // the graph op it became ("" when dropped)
	Note  string // why it was dropped or changed
}

// Conversion is a Keras model config converted to a model graph, ready to take weights.
type Conversion struct {
	Graph *model.Graph
	// Layers lists the Keras layers in order with what each became.
	Layers []LayerInfo
	// ChannelsFirst is set for models in the channels_first (NCHW) data format.
	ChannelsFirst bool
	// Name is the Keras model's name.
	Name  string
	plans map[string]*plan
}

// ParseConfig reads a model config: {"class_name": "Functional" | "Model" | "Sequential",
// "config": {...}} as Keras' model.to_json() and the model_config HDF5 attribute hold it.
func ParseConfig(data []byte, opts Options) (*Conversion, error) {
	var top layerJSON
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("model config is not JSON: %w", err)
	}
	if top.ClassName == "" && len(top.Config) == 0 {
		return nil, fmt.Errorf("model config has no class_name and config")
	}
	return convertConfig(top, opts)
}

func convertConfig(top layerJSON, opts Options) (*Conversion, error) {
	fl, outs, err := flatten(top)
	if err != nil {
		return nil, err
	}
	if len(outs) != 1 {
		return nil, fmt.Errorf("the model has %d outputs; one is supported", len(outs))
	}
	c := &converter{g: &model.Graph{Arch: archName(fl.name)}, shapes: map[string]model.Shape{},
		opts: opts, plans: map[string]*plan{}, tail: map[string]string{}}
	for _, n := range fl.nodes {
		if df, _ := n.config["data_format"].(string); df == "channels_first" {
			c.channelsFirst = true
		}
	}
	for _, n := range fl.nodes {
		if err := c.convert(n); err != nil {
			return nil, err
		}
	}
	if len(c.g.Layers) == 0 || c.g.Layers[0].Op != model.OpInput {
		return nil, fmt.Errorf("the model has no input layer")
	}
	c.g.Output = c.output(outs[0])
	conv := &Conversion{Graph: c.g, Layers: c.layers, ChannelsFirst: c.channelsFirst, Name: fl.name, plans: c.plans}
	conv.dropFinalSoftmax()
	mode := opts.PaddingMode
	if mode == "" && c.channelsFirst {
		mode = model.PaddingTAO
	}
	if err := conv.Graph.SetPaddingMode(mode); err != nil {
		return nil, fmt.Errorf("converted graph: %w", err)
	}
	return conv, nil
}

// archName makes a model name usable as the graph's arch (and in checkpoint file names).
func archName(name string) string {
	s := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(name, "_")
	if s == "" {
		return "keras"
	}
	return s
}

// dropFinalSoftmax removes trailing softmax activations: the graph's output is the logits.
func (c *Conversion) dropFinalSoftmax() {
	g := c.Graph
	for {
		idx := g.Index()
		out := idx[g.Output]
		if out == nil || out.Op != model.OpActivation || out.Activation != model.ActSoftmax || consumed(g, out.Name) {
			return
		}
		g.Output = out.Inputs[0]
		g.Layers = slices.DeleteFunc(g.Layers, func(l *model.Layer) bool { return l == out })
		for i := range c.Layers {
			switch {
			case c.Layers[i].Name == out.Name:
				c.Layers[i].Op, c.Layers[i].Note = "", "final softmax dropped: the graph outputs logits"
			case out.Name == c.Layers[i].Name+"_softmax":
				c.Layers[i].Note = "fused softmax dropped: the graph outputs logits"
			}
		}
	}
}

func consumed(g *model.Graph, name string) bool {
	for _, l := range g.Layers {
		if slices.Contains(l.Inputs, name) {
			return true
		}
	}
	return false
}

// Weights converts Keras weights into the graph's parameters. src is keyed "layer/param" with
// Keras' parameter names (":0" suffixes and name-scope prefixes removed, see SplitWeightName).
// Every graph parameter must be found (batch norms without center or scale get beta 0 or
// gamma 1); unused source tensors are returned as "layer/param: reason".
func (c *Conversion) Weights(src map[string]*model.Tensor) (model.Weights, []string, error) {
	keys, params, err := c.Graph.AllParams()
	if err != nil {
		return nil, nil, err
	}
	out := model.Weights{}
	used := map[string]bool{}
	for _, k := range keys {
		layer, param, _ := strings.Cut(k, "/")
		t, from, err := c.source(src, layer, param, params[k])
		if err != nil {
			return nil, nil, err
		}
		if from != "" {
			used[from] = true
		}
		if !slices.Equal(t.Shape, params[k].Shape) {
			return nil, nil, fmt.Errorf("weight %s has shape %v; the layer needs %v", from, t.Shape, params[k].Shape)
		}
		out[k] = t
	}
	var unused []string
	for k := range src {
		if !used[k] {
			unused = append(unused, k+": no such parameter in the graph")
		}
	}
	slices.Sort(unused)
	return out, unused, nil
}

// source finds the Keras tensor of a graph parameter and converts it to the graph's layout.
func (c *Conversion) source(src map[string]*model.Tensor, layer, param string, p model.Param) (*model.Tensor, string, error) {
	pl := c.plans[layer]
	names := []string{param}
	if param == "kernel" && pl != nil && pl.depthwiseKey {
		names = []string{"depthwise_kernel", "kernel"}
	}
	for _, n := range names {
		key := layer + "/" + n
		if t, ok := src[key]; ok {
			if pl != nil && pl.flattenCHW != [3]int{} && n == "kernel" {
				var err error
				if t, err = model.PermuteFlattenRows(t, pl.flattenCHW[0], pl.flattenCHW[1], pl.flattenCHW[2]); err != nil {
					return nil, "", fmt.Errorf("weight %s: %w", key, err)
				}
			}
			return t, key, nil
		}
	}
	if pl != nil && pl.class == "BatchNormalization" {
		if param == "gamma" && !pl.scale {
			return filled(p.Shape, 1), "", nil
		}
		if param == "beta" && !pl.center {
			return filled(p.Shape, 0), "", nil
		}
	}
	return nil, "", fmt.Errorf("layer %q: the weights have no %s", layer, param)
}

func filled(shape []int, v float32) *model.Tensor {
	t := model.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// SplitWeightName splits a Keras weight name ("block_1/conv1/kernel:0", "conv1/kernel") into
// its layer and parameter names: the last two path components, without the ":0" suffix. A
// name with one component belongs to layer def.
func SplitWeightName(name, def string) (layer, param string) {
	name = strings.TrimSuffix(name, ":0")
	if i := strings.LastIndexByte(name, ':'); i > 0 {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	if len(parts) == 1 {
		return def, parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// GenericWeights renames Keras weights for a file without a model config: depthwise_kernel
// becomes kernel; everything else keeps its name (model.Weights keys "layer/param").
func GenericWeights(src map[string]*model.Tensor) model.Weights {
	out := model.Weights{}
	for k, t := range src {
		layer, param, _ := strings.Cut(k, "/")
		if param == "depthwise_kernel" {
			param = "kernel"
		}
		out[model.ParamKey(layer, param)] = t
	}
	return out
}
