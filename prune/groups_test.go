package prune

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

func build(t *testing.T, cfg arch.Config) *model.Graph {
	t.Helper()
	if cfg.InputSize == [3]int{} {
		cfg.InputSize = [3]int{3, 32, 32}
	}
	if cfg.NumClasses == 0 {
		cfg.NumClasses = 5
	}
	cfg.UseBatchNorm = true
	g, err := arch.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// groupsOf returns the equalization groups (sorted member lists, sorted) of a graph.
func groupsOf(t *testing.T, g *model.Graph) [][]string {
	t.Helper()
	a, err := analyze(g, randomWeights(t, g, 1), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	members, ids := a.groups()
	var out [][]string
	for root, names := range members {
		if ids[root] > 0 {
			out = append(out, slices.Sorted(slices.Values(names)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func TestGroupsResNetIdentityShortcutsTieAStage(t *testing.T) {
	got := groupsOf(t, build(t, arch.Config{Arch: "resnet", NLayers: 18}))
	var want [][]string
	for s := 1; s <= 4; s++ {
		p := func(n string) string { return "block_" + string(rune('0'+s)) + n }
		want = append(want, []string{p("a_conv_2"), p("a_conv_shortcut"), p("b_conv_2")})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resnet18 groups:\n got %v\nwant %v", got, want)
	}
}

func TestGroupsResNetAllProjectionsDecouple(t *testing.T) {
	got := groupsOf(t, build(t, arch.Config{Arch: "resnet", NLayers: 18, AllProjections: true}))
	var want [][]string
	for s := 1; s <= 4; s++ {
		for _, b := range []string{"a", "b"} {
			p := "block_" + string(rune('0'+s)) + b
			want = append(want, []string{p + "_conv_2", p + "_conv_shortcut"})
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resnet18 all_projections groups:\n got %v\nwant %v", got, want)
	}
}

func TestGroupsMobileNetV2(t *testing.T) {
	got := groupsOf(t, build(t, arch.Config{Arch: "mobilenet_v2"}))
	has := func(members ...string) bool {
		slices.Sort(members)
		for _, g := range got {
			if slices.Equal(g, members) {
				return true
			}
		}
		return false
	}
	// Depthwise convs are tied to the conv before them.
	for _, want := range [][]string{
		{"conv1", "expanded_conv_depthwise"},
		{"block_1_expand", "block_1_depthwise"},
		{"block_16_expand", "block_16_depthwise"},
		// Identity adds tie the projections of a stage: 24 (blocks 1-2), 32 (3-5), 64 (6-9),
		// 96 (10-12), 160 (13-15).
		{"block_1_project", "block_2_project"},
		{"block_3_project", "block_4_project", "block_5_project"},
		{"block_6_project", "block_7_project", "block_8_project", "block_9_project"},
		{"block_10_project", "block_11_project", "block_12_project"},
		{"block_13_project", "block_14_project", "block_15_project"},
	} {
		if !has(want...) {
			t.Errorf("mobilenet_v2: no group %v in %v", want, got)
		}
	}
	if len(got) != 17+5 {
		t.Errorf("mobilenet_v2: %d groups, want 22 (17 depthwise pairs + 5 stages)", len(got))
	}
	proj := groupsOf(t, build(t, arch.Config{Arch: "mobilenet_v2", AllProjections: true}))
	found := false
	for _, g := range proj {
		if slices.Equal(g, []string{"block_2_project", "block_2_projected_inputs"}) {
			found = true
		}
		if slices.Contains(g, "block_1_project") {
			t.Errorf("all_projections: block_1_project is still tied: %v", g)
		}
	}
	if !found {
		t.Errorf("all_projections: no group {block_2_project, block_2_projected_inputs} in %v", proj)
	}
}

func TestGroupsEfficientNetSqueezeExcite(t *testing.T) {
	got := groupsOf(t, build(t, arch.Config{Arch: "efficientnet_b0"}))
	want := []string{"block2a_dwconv", "block2a_expand_conv", "block2a_se_expand"}
	if !slices.ContainsFunc(got, func(g []string) bool { return slices.Equal(g, want) }) {
		t.Errorf("efficientnet_b0: no group %v (expand, depthwise and SE expand meet in a multiply) in %v", want, got)
	}
}

// Concat-based blocks form no groups; the concat's kept channels are its inputs', offset, and the
// convs after it lose the matching input rows.
func TestConcatOffsets(t *testing.T) {
	for _, cfg := range []arch.Config{{Arch: "googlenet"}, {Arch: "cspdarknet", NLayers: 19}, {Arch: "cspdarknet_tiny"}} {
		g := build(t, cfg)
		if gr := groupsOf(t, g); len(gr) != 0 {
			t.Errorf("%s: unexpected groups %v", cfg.Arch, gr)
		}
		w := randomWeights(t, g, 2)
		opts := DefaultOptions()
		opts.Threshold = 0.5
		kept, err := KeptChannels(g, w, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Prune(g, w, opts)
		if err != nil {
			t.Fatal(err)
		}
		shapes, _ := g.Shapes()
		newShapes, _ := res.Graph.Shapes()
		for _, l := range g.Layers {
			if l.Op != model.OpConcat {
				continue
			}
			var want []int
			offset := 0
			for _, in := range l.Inputs {
				for _, c := range kept[in] {
					want = append(want, c+offset)
				}
				offset += shapes[in].Channels()
			}
			if !slices.Equal(kept[l.Name], want) {
				t.Errorf("%s %s: kept %v, want %v", cfg.Arch, l.Name, kept[l.Name], want)
			}
			if newShapes[l.Name].Channels() != len(want) {
				t.Errorf("%s %s: pruned width %d, want %d", cfg.Arch, l.Name, newShapes[l.Name].Channels(), len(want))
			}
		}
		if res.After.Params >= res.Before.Params {
			t.Errorf("%s: nothing pruned (%d params)", cfg.Arch, res.After.Params)
		}
	}
}

func TestChannelSliceFeederKeepsAll(t *testing.T) {
	g := build(t, arch.Config{Arch: "cspdarknet_tiny"})
	opts := DefaultOptions()
	opts.Threshold = 0.9
	res, err := Prune(g, randomWeights(t, g, 3), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Layers {
		feeds := strings.HasSuffix(r.Name, "_conv_0") && r.Name != "conv_0"
		if feeds != strings.HasPrefix(r.Pinned, "feeds channel_slice") || (feeds && r.After != r.Before) {
			t.Errorf("%s: %d -> %d, pinned %q", r.Name, r.Before, r.After, r.Pinned)
		}
	}
	idx := res.Graph.Index()
	if s := idx["conv_2_split_0"]; s.ChannelStart != 32 || s.ChannelEnd != 64 {
		t.Errorf("conv_2_split_0 range [%d,%d), want [32,64)", s.ChannelStart, s.ChannelEnd)
	}
}

func TestExcludedLayerPinsItsGroup(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 18})
	opts := DefaultOptions()
	opts.Threshold = 0.9
	opts.Excluded = []string{"block_2b_conv_2", "conv1"}
	res, err := Prune(g, randomWeights(t, g, 4), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Layers {
		pinned := r.Name == "conv1" || r.Name == "predictions" || strings.HasPrefix(r.Name, "block_2a_conv_2") ||
			r.Name == "block_2a_conv_shortcut" || r.Name == "block_2b_conv_2"
		if pinned != (r.Pinned != "") || (pinned && r.After != r.Before) {
			t.Errorf("%s: %d -> %d, pinned %q", r.Name, r.Before, r.After, r.Pinned)
		}
	}
	if res.Ratio() > 0.9 {
		t.Errorf("ratio %.3f: the layers that are not excluded should have been pruned", res.Ratio())
	}
	if _, err := Prune(g, randomWeights(t, g, 4), Options{Excluded: []string{"block_9z_conv_1"}}); err == nil {
		t.Error("unknown -el layer: no error")
	}
}

func TestGroupedConvRefused(t *testing.T) {
	g := &model.Graph{Input: [3]int{4, 8, 8}, Output: "d", Layers: []*model.Layer{
		{Name: "in", Op: model.OpInput},
		{Name: "c", Op: model.OpConv, Inputs: []string{"in"}, Filters: 8, Groups: 2, Kernel: [2]int{1, 1}, Padding: model.PadSame},
		{Name: "f", Op: model.OpFlatten, Inputs: []string{"c"}},
		{Name: "d", Op: model.OpDense, Inputs: []string{"f"}, Units: 2},
	}}
	_, err := Prune(g, randomWeights(t, g, 1), DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "grouped convolution") {
		t.Errorf("grouped conv: %v", err)
	}
}

// SqueezeNet's retain_head ends in conv10 -> relu -> global pool: conv10's channels are the
// classes and must stay although it is not the output layer itself.
func TestOutputChannelsKeptThroughPooling(t *testing.T) {
	g := build(t, arch.Config{Arch: "squeezenet", RetainHead: true})
	o := DefaultOptions()
	o.Threshold = 0.99
	res, err := Prune(g, randomWeights(t, g, 9), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Layers {
		if r.Name == "conv10" && (r.After != 5 || r.Pinned != "its channels are the output pool10") {
			t.Errorf("conv10: %d -> %d, pinned %q", r.Before, r.After, r.Pinned)
		}
	}
}
