package prune

import (
	"github.com/bonsai-ml/bonsai/internal/pyfmt"

	"github.com/bonsai-ml/bonsai/model"
)

// Size is what a graph costs: parameters (Keras' count, batch-norm statistics included, as
// TAO's ratio uses) and per-example inference compute.
type Size struct {
	Params int
	MACs   int64
	FLOPs  int64
}

// SizeOf measures a graph.
func SizeOf(g *model.Graph) (Size, error) {
	params, _, err := g.ParamCount()
	if err != nil {
		return Size{}, err
	}
	_, total, err := g.Costs()
	if err != nil {
		return Size{}, err
	}
	return Size{Params: params, MACs: total.MACs, FLOPs: total.FLOPs}, nil
}

// Result is a pruned model and what pruning did.
type Result struct {
	Graph   *model.Graph
	Weights model.Weights
	Options Options
	// Allocation is how the channel counts were chosen: AllocThreshold (TAO: Options.Threshold
	// decides), AllocUniform or AllocSensitivity (a plan; the threshold plays no part).
	Allocation string
	Before     Size
	After      Size
	Layers     []LayerReport // one per conv2d, dense and depthwise_conv2d, in graph order
	// Warnings are notes about the options (e.g. an -el name that is not prunable).
	Warnings []string
}

// Ratio is TAO's pruning ratio: parameters of the pruned model / parameters of the original.
func (r *Result) Ratio() float64 { return float64(r.After.Params) / float64(r.Before.Params) }

// FLOPsRatio is pruned FLOPs / original FLOPs.
func (r *Result) FLOPsRatio() float64 { return float64(r.After.FLOPs) / float64(r.Before.FLOPs) }

// Groups returns the number of equalization groups.
func (r *Result) Groups() int {
	n := 0
	for _, l := range r.Layers {
		n = max(n, l.Group)
	}
	return n
}

// Prune prunes a model with TAO's min-weight rule (see the package doc) and returns the smaller
// graph with its sliced weights. The input graph and weights are not modified.
func Prune(g *model.Graph, w model.Weights, opts Options) (*Result, error) {
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, err
	}
	return a.prune(a.opts)
}

// prune decides at opts.Threshold and builds the pruned model.
func (a *analysis) prune(opts Options) (*Result, error) {
	d, err := a.decide(opts)
	if err != nil {
		return nil, err
	}
	r, err := a.build(d)
	if err != nil {
		return nil, err
	}
	r.Options = opts
	return r, nil
}

// build rewrites the graph and slices the weights to a decision.
func (a *analysis) build(d *decision) (*Result, error) {
	kept, err := a.propagate(d)
	if err != nil {
		return nil, err
	}
	pg, err := a.rewriteGraph(kept)
	if err != nil {
		return nil, err
	}
	pw, err := a.sliceWeights(kept)
	if err != nil {
		return nil, err
	}
	r := &Result{Graph: pg, Weights: pw, Options: a.opts, Allocation: AllocThreshold, Layers: d.reports, Warnings: a.warnings}
	if r.Before, err = SizeOf(a.g); err != nil {
		return nil, err
	}
	if r.After, err = SizeOf(pg); err != nil {
		return nil, err
	}
	return r, nil
}

// sizeAt measures the pruned graph at a threshold without slicing weights (for the search).
func (a *analysis) sizeAt(opts Options) (Size, error) {
	d, err := a.decide(opts)
	if err != nil {
		return Size{}, err
	}
	return a.sizeOf(d)
}

// sizeOf measures the graph a decision gives, without slicing weights.
func (a *analysis) sizeOf(d *decision) (Size, error) {
	kept, err := a.propagate(d)
	if err != nil {
		return Size{}, err
	}
	pg, err := a.rewriteGraph(kept)
	if err != nil {
		return Size{}, err
	}
	return SizeOf(pg)
}

// KeptChannels returns, for every layer of the original graph, the output channels the pruned
// model keeps (original numbering). Tests use it to zero the removed channels of the original.
func KeptChannels(g *model.Graph, w model.Weights, opts Options) (map[string][]int, error) {
	a, err := analyze(g, w, opts)
	if err != nil {
		return nil, err
	}
	d, err := a.decide(a.opts)
	if err != nil {
		return nil, err
	}
	return a.propagate(d)
}

// String is TAO's log line, the ratio printed as Python prints a float ("1.0", "0.635...").
func (r *Result) String() string {
	return "Pruning ratio (pruned model / original model): " + pyfmt.Float(r.Ratio())
}

// StatusKPI is the kpi of TAO's prune status.json event, in TAO's units: pruning_ratio, size
// (the pruned model file in MB of 2^20 bytes) and param_count (millions of parameters).
func (r *Result) StatusKPI(fileBytes int64) map[string]any {
	return map[string]any{
		"pruning_ratio": r.Ratio(),
		"size":          float64(fileBytes) / (1 << 20),
		"param_count":   float64(r.After.Params) / 1e6,
	}
}
