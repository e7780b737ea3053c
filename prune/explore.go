package prune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
)

// unit is one prunable layer (conv2d, dense or depthwise_conv2d): its output channels can go.
type unit struct {
	layer    *model.Layer
	channels int
	stat     []float64 // normalised filter norms
	pin      string    // why all channels stay ("" when the threshold decides)
}

// analysis is a graph with its filter statistics and equalization groups, which do not depend
// on the threshold; decide can then run at any threshold.
type analysis struct {
	g        *model.Graph
	idx      map[string]*model.Layer
	shapes   map[string]model.Shape
	w        model.Weights
	opts     Options
	units    map[string]*unit
	order    []string          // prunable layer names in graph order
	parent   map[string]string // union-find over unit names
	warnings []string
	// planned: channel counts come from an allocation, not a threshold (the report then has no
	// threshold columns).
	planned bool
}

func isPrunable(op model.Op) bool {
	return op == model.OpConv || op == model.OpDense || op == model.OpDepthwiseConv
}

// traversable layers are looked through when searching the prunable parents of an element-wise
// layer or a depthwise convolution (TAO's TRAVERSABLE_LAYERS).
func traversable(op model.Op) bool {
	switch op {
	case model.OpBatchNorm, model.OpActivation, model.OpDropout, model.OpDropPath, model.OpMaxPool,
		model.OpAvgPool, model.OpZeroPad, model.OpAdd, model.OpMultiply:
		return true
	}
	return false
}

// analyze computes every prunable layer's statistic and the equalization groups.
func analyze(g *model.Graph, w model.Weights, opts Options) (*analysis, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	shapes, err := g.Shapes()
	if err != nil {
		return nil, fmt.Errorf("model graph: %w", err)
	}
	a := &analysis{g: g, idx: g.Index(), shapes: shapes, w: w, opts: opts,
		units: map[string]*unit{}, parent: map[string]string{}}
	for _, l := range g.Layers {
		if !isPrunable(l.Op) {
			continue
		}
		u, err := a.newUnit(l)
		if err != nil {
			return nil, err
		}
		a.units[l.Name] = u
		a.order = append(a.order, l.Name)
		a.parent[l.Name] = l.Name
	}
	if err := a.pinExcluded(); err != nil {
		return nil, err
	}
	if err := a.buildGroups(); err != nil {
		return nil, err
	}
	return a, nil
}

// newUnit checks a prunable layer's kind and weights and computes its statistic.
func (a *analysis) newUnit(l *model.Layer) (*unit, error) {
	switch {
	case l.Op == model.OpConv && l.Groups > 1:
		return nil, fmt.Errorf("layer %q is a grouped convolution (groups %d): pruning grouped convolutions is not supported", l.Name, l.Groups)
	case l.Op == model.OpDepthwiseConv && l.DepthMultiplier > 1:
		return nil, fmt.Errorf("layer %q: depthwise convolutions can only be pruned with depth_multiplier 1 (it has %d), as in TAO", l.Name, l.DepthMultiplier)
	}
	k := a.w[model.ParamKey(l.Name, "kernel")]
	if k == nil {
		return nil, fmt.Errorf("layer %q has no kernel in the weights", l.Name)
	}
	channels := a.shapes[l.Name].Channels()
	norms, err := filterNorms(l, k, channels)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", l.Name, err)
	}
	if a.opts.Criterion == CriterionBN {
		if err := a.bnScale(l, norms); err != nil {
			return nil, err
		}
	}
	return &unit{layer: l, channels: channels, stat: normalize(norms, a.opts.Normalizer)}, nil
}

// filterNorms is the L2 norm of each output channel's filter (TAO's get_L2_norm): over all axes
// but the last for conv2d [kh,kw,cin,cout] and dense [in,units]; over kh, kw and the multiplier
// for depthwise [kh,kw,C,1].
func filterNorms(l *model.Layer, k *model.Tensor, channels int) ([]float64, error) {
	if len(k.Data) != k.Size() || len(k.Shape) < 2 {
		return nil, fmt.Errorf("kernel shape %v does not match its %d values", k.Shape, len(k.Data))
	}
	sums := make([]float64, channels)
	if l.Op == model.OpDepthwiseConv {
		c, m := k.Shape[2], k.Shape[3]
		if c*m != channels {
			return nil, fmt.Errorf("depthwise kernel %v does not give %d channels", k.Shape, channels)
		}
		for i, v := range k.Data {
			sums[(i/m)%c] += float64(v) * float64(v)
		}
	} else {
		if k.Shape[len(k.Shape)-1] != channels {
			return nil, fmt.Errorf("kernel %v does not have %d output channels", k.Shape, channels)
		}
		for i, v := range k.Data {
			sums[i%channels] += float64(v) * float64(v)
		}
	}
	for i := range sums {
		sums[i] = math.Sqrt(sums[i])
	}
	return sums, nil
}

// bnScale replaces the filter norms of l by |gamma| of the batch norm that reads l's output,
// when l has exactly one reader and it is a batch norm.
func (a *analysis) bnScale(l *model.Layer, norms []float64) error {
	var readers []*model.Layer
	for _, x := range a.g.Layers {
		if slices.Contains(x.Inputs, l.Name) {
			readers = append(readers, x)
		}
	}
	if len(readers) != 1 || readers[0].Op != model.OpBatchNorm {
		return nil
	}
	gamma := a.w[model.ParamKey(readers[0].Name, "gamma")]
	if gamma == nil || len(gamma.Data) != len(norms) {
		return fmt.Errorf("batch norm %q after %q lacks a gamma of %d channels", readers[0].Name, l.Name, len(norms))
	}
	for c := range norms {
		norms[c] = math.Abs(float64(gamma.Data[c]))
	}
	return nil
}

// pinExcluded keeps all channels of the -el layers, the output layer and the convolutions that
// feed a channel_slice (TAO excludes the conv before each Split).
func (a *analysis) pinExcluded() error {
	for _, name := range a.opts.Excluded {
		l, ok := a.idx[name]
		switch {
		case !ok:
			return fmt.Errorf("excluded layer %q is not in the model%s", name, suggest(name, a.g))
		case !isPrunable(l.Op):
			a.warnings = append(a.warnings, fmt.Sprintf("excluded layer %q is a %s layer, which has no channels of its own to prune; ignored", name, l.Op))
		default:
			a.pin(name, "excluded (-el)")
		}
	}
	a.pinOutput()
	for _, l := range a.g.Layers {
		if l.Op != model.OpChannelSlice {
			continue
		}
		parents, _, err := a.prunableParents(l.Inputs)
		if err != nil {
			return err
		}
		for _, p := range parents {
			a.pin(p, "feeds channel_slice "+l.Name)
		}
	}
	return nil
}

// pinOutput keeps the model's output channels (the classes): the output layer when it is
// prunable, else every prunable layer its channels come from (SqueezeNet's conv10 before the
// pool10 output).
func (a *analysis) pinOutput() {
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		l := a.idx[name]
		switch {
		case isPrunable(l.Op):
			reason := "output layer"
			if name != a.g.Output {
				reason = "its channels are the output " + a.g.Output
			}
			a.pin(name, reason)
			if l.Op != model.OpDepthwiseConv {
				return
			}
			fallthrough
		case l.Op != model.OpInput && l.Op != model.OpFlatten && l.Op != model.OpDense:
			for _, in := range l.Inputs {
				walk(in)
			}
		}
	}
	walk(a.g.Output)
}

func (a *analysis) pin(name, reason string) {
	if u := a.units[name]; u != nil && u.pin == "" {
		u.pin = reason
	}
}

// suggest names layers whose name contains the given one, for a typo in -el.
func suggest(name string, g *model.Graph) string {
	var near []string
	for _, l := range g.Layers {
		if isPrunable(l.Op) && (strings.Contains(l.Name, name) || strings.Contains(name, l.Name)) {
			near = append(near, l.Name)
		}
	}
	if len(near) == 0 {
		return "; run with -v to list its layers"
	}
	if len(near) > 5 {
		near = append(near[:5], "...")
	}
	return "; similar: " + strings.Join(near, ", ")
}

// prunableParents walks up from the given layers through traversable layers and returns the
// prunable layers reached, in graph order, and whether the model input was reached.
func (a *analysis) prunableParents(from []string) ([]string, bool, error) {
	found := map[string]bool{}
	seen := map[string]bool{}
	input := false
	var walk func(name string) error
	walk = func(name string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		l := a.idx[name]
		switch {
		case isPrunable(l.Op):
			found[name] = true
		case l.Op == model.OpInput:
			input = true
		case traversable(l.Op):
			for _, in := range l.Inputs {
				if err := walk(in); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("pruning cannot look through layer %q (%s) to find the layers whose channels must match; exclude the layers before it from pruning: %w", l.Name, l.Op, ErrExcludeLayer)
		}
		return nil
	}
	for _, name := range from {
		if err := walk(name); err != nil {
			return nil, false, err
		}
	}
	var out []string
	for _, name := range a.order {
		if found[name] {
			out = append(out, name)
		}
	}
	return out, input, nil
}

// buildGroups unions the prunable parents of every add/multiply (broadcast single-channel
// parents left out) and every depthwise conv with its prunable parents.
func (a *analysis) buildGroups() error {
	for _, l := range a.g.Layers {
		switch l.Op {
		case model.OpDepthwiseConv:
			parents, input, err := a.prunableParents(l.Inputs)
			if err != nil {
				return fmt.Errorf("depthwise conv %q: %w", l.Name, err)
			}
			if input {
				a.pin(l.Name, "depthwise conv on the model input")
			}
			for _, p := range parents {
				a.union(l.Name, p)
			}
		case model.OpAdd, model.OpMultiply:
			parents, input, err := a.prunableParents(l.Inputs)
			if err != nil {
				return fmt.Errorf("%s %q: %w", l.Op, l.Name, err)
			}
			parents = slices.DeleteFunc(parents, func(p string) bool { return a.units[p].channels == 1 })
			for _, p := range parents {
				if input {
					a.pin(p, "element-wise with the model input in "+l.Name)
				}
				a.union(parents[0], p)
			}
		}
	}
	return nil
}

func (a *analysis) find(name string) string {
	for a.parent[name] != name {
		a.parent[name] = a.parent[a.parent[name]]
		name = a.parent[name]
	}
	return name
}

func (a *analysis) union(x, y string) {
	rx, ry := a.find(x), a.find(y)
	if rx != ry {
		a.parent[ry] = rx
	}
}

// groups returns the members of each union-find set in graph order, keyed by root, and the
// 1-based id of every set with two or more members (numbered by first member).
func (a *analysis) groups() (map[string][]string, map[string]int) {
	members := map[string][]string{}
	var roots []string
	for _, name := range a.order {
		r := a.find(name)
		if len(members[r]) == 0 {
			roots = append(roots, r)
		}
		members[r] = append(members[r], name)
	}
	ids := map[string]int{}
	for _, r := range roots {
		if len(members[r]) > 1 {
			ids[r] = len(ids) + 1
		}
	}
	return members, ids
}
