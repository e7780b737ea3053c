package keras

import (
	"encoding/json"
	"fmt"
	"strings"
)

// layerJSON is one entry of a model config's "layers".
type layerJSON struct {
	ClassName    string          `json:"class_name"`
	Config       json.RawMessage `json:"config"`
	Name         string          `json:"name"`
	InboundNodes json.RawMessage `json:"inbound_nodes"`
}

// functionalConfig is the config of a Functional model ("Model", "Functional").
type functionalConfig struct {
	Name         string          `json:"name"`
	Layers       []layerJSON     `json:"layers"`
	InputLayers  json.RawMessage `json:"input_layers"`
	OutputLayers json.RawMessage `json:"output_layers"`
}

// node is a Keras layer of the flattened model: nested models are expanded and their input
// layers replaced by the tensors that feed them.
type node struct {
	name   string
	class  string
	config map[string]any
	inputs []string
}

// flattener expands a (possibly nested) model config into nodes in topological order.
type flattener struct {
	nodes []*node
	names map[string]bool
	// alias maps a layer name to the node holding its output (input layers of nested models,
	// nested models themselves).
	alias map[string]string
	name  string // the outermost model's name
}

func isModelClass(c string) bool {
	return c == "Model" || c == "Functional" || c == "Sequential"
}

// flatten parses a model config ({"class_name": ..., "config": ...}) into nodes.
func flatten(top layerJSON) (*flattener, []string, error) {
	fl := &flattener{names: map[string]bool{}, alias: map[string]string{}}
	if !isModelClass(top.ClassName) {
		return nil, nil, fmt.Errorf("model config class %q is not a Keras model (Model, Functional or Sequential)", top.ClassName)
	}
	outs, err := fl.model(top, nil)
	if err != nil {
		return nil, nil, err
	}
	return fl, outs, nil
}

// model adds a model's layers fed by inputs (nil for the outermost model) and returns its
// output node names.
func (fl *flattener) model(m layerJSON, inputs []string) ([]string, error) {
	if m.ClassName == "Sequential" {
		return fl.sequential(m, inputs)
	}
	var cfg functionalConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	if fl.name == "" {
		fl.name = cfg.Name
	}
	inNames, err := tensorRefs(cfg.InputLayers)
	if err != nil {
		return nil, fmt.Errorf("model %q input_layers: %w", cfg.Name, err)
	}
	if inputs != nil && len(inputs) != len(inNames) {
		return nil, fmt.Errorf("model %q takes %d inputs, called with %d", cfg.Name, len(inNames), len(inputs))
	}
	for _, l := range cfg.Layers {
		if err := fl.functionalLayer(l, inNames, inputs); err != nil {
			return nil, err
		}
	}
	outNames, err := tensorRefs(cfg.OutputLayers)
	if err != nil {
		return nil, fmt.Errorf("model %q output_layers: %w", cfg.Name, err)
	}
	return fl.resolveAll(outNames), nil
}

// functionalLayer adds one layer of a Functional model.
func (fl *flattener) functionalLayer(l layerJSON, inNames, inputs []string) error {
	name := l.Name
	if name == "" {
		name = configName(l.Config)
	}
	if l.ClassName == "InputLayer" && inputs != nil {
		for i, in := range inNames {
			if in == name {
				fl.alias[name] = inputs[i]
				return nil
			}
		}
		return fmt.Errorf("input layer %q of a nested model is not among its inputs", name)
	}
	ins, err := inboundNames(l.InboundNodes)
	if err != nil {
		return fmt.Errorf("layer %q: %w", name, err)
	}
	ins = fl.resolveAll(ins)
	if isModelClass(l.ClassName) {
		outs, err := fl.model(l, ins)
		if err != nil {
			return err
		}
		if len(outs) != 1 {
			return fmt.Errorf("nested model %q has %d outputs; one is supported", name, len(outs))
		}
		fl.alias[name] = outs[0]
		return nil
	}
	return fl.add(name, l, ins)
}

// sequential adds a Sequential model's layers in a chain.
func (fl *flattener) sequential(m layerJSON, inputs []string) ([]string, error) {
	var layers []layerJSON
	if err := json.Unmarshal(m.Config, &layers); err != nil {
		var cfg functionalConfig
		if err := json.Unmarshal(m.Config, &cfg); err != nil {
			return nil, fmt.Errorf("sequential model %q: %w", m.Name, err)
		}
		layers = cfg.Layers
		if fl.name == "" {
			fl.name = cfg.Name
		}
	}
	prev := inputs
	for i, l := range layers {
		name := l.Name
		if name == "" {
			name = configName(l.Config)
		}
		switch {
		case l.ClassName == "InputLayer" && prev != nil:
			fl.alias[name] = prev[0]
			continue
		case l.ClassName == "InputLayer":
			if err := fl.add(name, l, nil); err != nil {
				return nil, err
			}
			prev = []string{name}
			continue
		case prev == nil && i == 0 && !isModelClass(l.ClassName):
			in, err := fl.implicitInput(l)
			if err != nil {
				return nil, err
			}
			prev = []string{in}
		}
		if isModelClass(l.ClassName) {
			outs, err := fl.model(l, prev)
			if err != nil {
				return nil, err
			}
			prev = outs
			continue
		}
		if err := fl.add(name, l, prev); err != nil {
			return nil, err
		}
		prev = []string{name}
	}
	return prev, nil
}

// implicitInput creates the input layer of a Sequential model whose first layer carries
// batch_input_shape.
func (fl *flattener) implicitInput(first layerJSON) (string, error) {
	cfg := map[string]any{}
	if err := json.Unmarshal(first.Config, &cfg); err != nil {
		return "", fmt.Errorf("layer %q: %w", first.Name, err)
	}
	shape, ok := cfg["batch_input_shape"]
	if !ok {
		return "", fmt.Errorf("sequential model: the first layer %q has no batch_input_shape", configName(first.Config))
	}
	raw, _ := json.Marshal(map[string]any{"batch_input_shape": shape, "name": "input_1"})
	return "input_1", fl.add("input_1", layerJSON{ClassName: "InputLayer", Config: raw}, nil)
}

func (fl *flattener) add(name string, l layerJSON, inputs []string) error {
	if fl.names[name] {
		return fmt.Errorf("layer %q appears twice (shared layers are not supported)", name)
	}
	cfg := map[string]any{}
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			return fmt.Errorf("layer %q config: %w", name, err)
		}
	}
	var ins []string
	for _, in := range inputs {
		if in != "" {
			ins = append(ins, in)
		}
	}
	fl.names[name] = true
	fl.nodes = append(fl.nodes, &node{name: name, class: l.ClassName, config: cfg, inputs: ins})
	return nil
}

func (fl *flattener) resolve(name string) string {
	for range 100 {
		a, ok := fl.alias[name]
		if !ok {
			return name
		}
		name = a
	}
	return name
}

func (fl *flattener) resolveAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fl.resolve(n)
	}
	return out
}

func configName(raw json.RawMessage) string {
	var c struct {
		Name string `json:"name"`
	}
	json.Unmarshal(raw, &c)
	return c.Name
}

// tensorRefs reads input_layers / output_layers: [[name, node, tensor], ...] or one
// [name, node, tensor].
func tensorRefs(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var many [][]any
	if err := json.Unmarshal(raw, &many); err == nil {
		var out []string
		for _, r := range many {
			if len(r) == 0 {
				continue
			}
			s, _ := r[0].(string)
			out = append(out, s)
		}
		return out, nil
	}
	var one []any
	if err := json.Unmarshal(raw, &one); err != nil || len(one) == 0 {
		return nil, fmt.Errorf("cannot read %s", abbreviate(raw))
	}
	s, _ := one[0].(string)
	return []string{s}, nil
}

// inboundNames reads a layer's inbound_nodes: Keras 2's [[[name, node, tensor, kwargs], ...]]
// or Keras 3's [{"args": [{"config": {"keras_history": [name, node, tensor]}}, ...]}]. A layer
// called more than once (a shared layer) is an error.
func inboundNames(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("inbound_nodes: %w", err)
	}
	if len(nodes) == 0 {
		return nil, nil
	}
	if len(nodes) > 1 {
		return nil, fmt.Errorf("the layer is called %d times (shared layers are not supported)", len(nodes))
	}
	var refs [][]any
	if err := json.Unmarshal(nodes[0], &refs); err == nil {
		var out []string
		for _, r := range refs {
			if len(r) > 0 {
				s, _ := r[0].(string)
				out = append(out, s)
			}
		}
		return out, nil
	}
	var k3 struct {
		Args []json.RawMessage `json:"args"`
	}
	if err := json.Unmarshal(nodes[0], &k3); err != nil {
		return nil, fmt.Errorf("cannot read inbound node %s", abbreviate(nodes[0]))
	}
	return kerasHistory(k3.Args), nil
}

// kerasHistory collects the layer names of Keras 3 tensor references, in lists too.
func kerasHistory(args []json.RawMessage) []string {
	var out []string
	for _, a := range args {
		var t struct {
			Config struct {
				History []any `json:"keras_history"`
			} `json:"config"`
		}
		if json.Unmarshal(a, &t) == nil && len(t.Config.History) > 0 {
			s, _ := t.Config.History[0].(string)
			out = append(out, s)
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(a, &list) == nil {
			out = append(out, kerasHistory(list)...)
		}
	}
	return out
}

func abbreviate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
