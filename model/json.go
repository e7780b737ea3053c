package model

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/readfile"
)

// MarshalIndent encodes the graph as indented JSON (the IR format of model files).
func (g *Graph) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding model graph: %w", err)
	}
	return append(b, '\n'), nil
}

// MarshalJSON writes the graph with Version set to FormatVersion, however it was built.
func (g Graph) MarshalJSON() ([]byte, error) {
	type plain Graph // no methods: no recursion
	p := plain(g)
	p.Version = FormatVersion
	return json.Marshal(p)
}

// ParseJSON decodes a graph, rejecting unknown fields and newer format versions, and validates
// it. The graph it returns has Version 0, like one built in memory.
func ParseJSON(data []byte) (*Graph, error) {
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err == nil && v.Version > FormatVersion {
		return nil, fmt.Errorf("model graph format version %d is newer than this Bonsai's (%d): upgrade Bonsai to read it", v.Version, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Graph
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("decoding model graph JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding model graph JSON: trailing data after the graph")
	}
	for i, l := range g.Layers {
		if l == nil {
			return nil, fmt.Errorf("decoding model graph JSON: layer %d is null", i)
		}
	}
	if err := checkWrittenWindows(data); err != nil {
		return nil, fmt.Errorf("invalid model graph: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("invalid model graph: %w", err)
	}
	g.Version = 0
	return &g, nil
}

// checkWrittenWindows refuses kernel, strides and dilation values below 1 written in the JSON:
// in memory 0 stands for "unset" (stride and dilation 1), which a writer leaves out, so a 0 or
// a negative value in the file is damage.
func checkWrittenWindows(data []byte) error {
	var raw struct {
		Layers []map[string]json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for _, l := range raw.Layers {
		for _, key := range []string{"kernel", "strides", "dilation"} {
			v, ok := l[key]
			if !ok {
				continue
			}
			var pair [2]int
			if err := json.Unmarshal(v, &pair); err != nil || pair[0] < 1 || pair[1] < 1 {
				return fmt.Errorf("layer %s: %s %s must be two positive integers", l["name"], key, v)
			}
		}
	}
	return nil
}

// ReadFile reads and validates a graph JSON file.
func ReadFile(path string) (*Graph, error) {
	data, err := readfile.Read(path, "model graph", 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reading model graph: %w", err)
	}
	g, err := ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// WriteFile writes the graph as JSON atomically: to a temporary file in the same folder,
// then renamed into place.
func (g *Graph) WriteFile(path string) error {
	data, err := g.MarshalIndent()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return fmt.Errorf("writing model graph: %w", err)
	}
	return nil
}

// Clone returns a deep copy of the graph; rewriting the copy leaves g unchanged.
func (g *Graph) Clone() *Graph {
	c := *g
	c.Layers = make([]*Layer, len(g.Layers))
	for i, l := range g.Layers {
		lc := *l
		lc.Inputs = append([]string(nil), l.Inputs...)
		c.Layers[i] = &lc
	}
	return &c
}
