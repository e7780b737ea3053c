package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tinyResidual is a small graph with a residual add, a depthwise conv and a dense head.
func tinyResidual() *Graph {
	return &Graph{Arch: "tiny", Input: [3]int{3, 8, 6}, Output: "predictions", Layers: []*Layer{
		{Name: "input_1", Op: OpInput, Block: -1},
		{Name: "conv1", Op: OpConv, Inputs: []string{"input_1"}, Filters: 4, Kernel: [2]int{3, 3}, Padding: PadSame, UseBias: true},
		{Name: "bn_conv1", Op: OpBatchNorm, Inputs: []string{"conv1"}, Epsilon: 1e-5, Momentum: 0.9},
		{Name: "relu", Op: OpActivation, Inputs: []string{"bn_conv1"}, Activation: ActReLU},
		{Name: "dw", Op: OpDepthwiseConv, Inputs: []string{"relu"}, Kernel: [2]int{3, 3}, Padding: PadSame, Block: 1},
		{Name: "add_1", Op: OpAdd, Inputs: []string{"dw", "relu"}, Block: 1},
		{Name: "pool", Op: OpMaxPool, Inputs: []string{"add_1"}, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: PadValid, Block: 1},
		{Name: "avg_pool", Op: OpGlobalAvgPool, Inputs: []string{"pool"}, Block: -1},
		{Name: "predictions", Op: OpDense, Inputs: []string{"avg_pool"}, Units: 3, UseBias: true, Block: -1},
	}}
}

func TestJSONRoundTrip(t *testing.T) {
	g := tinyResidual()
	data, err := g.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, back) {
		t.Fatalf("round trip changed the graph:\n%s", data)
	}
	if bytes.Contains(data, []byte(`"pad"`)) || !bytes.Contains(data, []byte(`"block": -1`)) || !bytes.Contains(data, []byte(`"version": 1`)) {
		t.Errorf("want version 1, zero arrays omitted and block -1 kept:\n%s", data)
	}
	// json.Marshal (as other packages embed the graph) writes the version too.
	if b, err := json.Marshal(g); err != nil || !bytes.Contains(b, []byte(`"version":1`)) {
		t.Errorf("json.Marshal: %v %s", err, b)
	}
	path := filepath.Join(t.TempDir(), "g.json")
	if err := g.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fromFile, err := ReadFile(path)
	if err != nil || !reflect.DeepEqual(g, fromFile) {
		t.Fatalf("file round trip: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestParseJSONErrors(t *testing.T) {
	good, _ := tinyResidual().MarshalIndent()
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"unknown field", `"units": 3`, `"unit": 3`, "unknown field"},
		{"unknown op", `"op": "max_pool"`, `"op": "max_pool3d"`, "unknown op"},
		{"unknown activation", `"activation": "relu"`, `"activation": "gelu"`, "unknown activation"},
		{"bad input", `"dw",`, `"dw2",`, "not an earlier layer"},
		{"shape mismatch", `"name": "dw",`, `"name": "dw", "depth_multiplier": 2,`, "do not match"},
		{"bad block", `"block": 1`, `"block": -3`, "block id"},
		{"syntax", `"arch": "tiny"`, `"arch": tiny`, "decoding"},
		{"slash in name", `"name": "relu"`, `"name": "re/lu"`, "'/'"},
		{"newer version", `"version": 1`, `"version": 2, "future_field": 1`, "upgrade Bonsai"},
	} {
		bad := strings.Replace(string(good), c.old, c.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: edit %q not found", c.name, c.old)
		}
		if _, err := ParseJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file error %v", err)
	}
}

func TestClone(t *testing.T) {
	g := tinyResidual()
	c := g.Clone()
	c.Layers[1].Filters = 9
	c.Layers[5].Inputs[0] = "x"
	c.Layers = c.Layers[:3]
	if g.Layers[1].Filters != 4 || g.Layers[5].Inputs[0] != "dw" || len(g.Layers) != 9 {
		t.Fatal("editing the clone changed the original")
	}
}

// TestCostsByHand counts the tiny graph's work by hand (8x6 feature maps, 4 channels).
func TestCostsByHand(t *testing.T) {
	costs, total, err := tinyResidual().Costs()
	if err != nil {
		t.Fatal(err)
	}
	const n = 8 * 6 * 4
	want := []Cost{
		{},
		{MACs: n * 3 * 3 * 3, FLOPs: 2*n*27 + n}, // conv + bias
		{FLOPs: 2 * n},                           // bn
		{FLOPs: n},                               // relu
		{MACs: n * 9, FLOPs: 2 * n * 9},          // depthwise
		{FLOPs: n},                               // add
		{FLOPs: 4 * 3 * 4 * 4},                   // 2x2 max pool -> 4x3x4
		{FLOPs: 4 * 3 * 4},                       // global average
		{MACs: 4 * 3, FLOPs: 2*12 + 3},           // dense + bias
	}
	if !reflect.DeepEqual(costs, want) {
		t.Fatalf("costs %v\nwant  %v", costs, want)
	}
	if total.MACs != n*27+n*9+12 {
		t.Errorf("total MACs %d", total.MACs)
	}
}

func TestSummary(t *testing.T) {
	g := tinyResidual()
	g.Layers[1].Frozen = true
	s, err := g.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	conv, bn, dw, dense := 3*3*3*4+4, 4*4, 3*3*4, 4*3+3
	if s.TotalParams != conv+bn+dw+dense || s.Trainable != 8+dw+dense || s.NonTrainable != conv+8 {
		t.Errorf("params total %d trainable %d non-trainable %d", s.TotalParams, s.Trainable, s.NonTrainable)
	}
	var b bytes.Buffer
	if err := s.Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"conv1 (Conv2D)", "(4, 8, 6)", "add_1 (Add)", "dw, relu", "Total params: 179", "Trainable params: 59", " 0*  "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 11689512: "11,689,512", -1234: "-1,234"} {
		if got := Group(n); got != want {
			t.Errorf("Group(%d) = %q, want %q", n, got, want)
		}
	}
}
