package train

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
)

// TransferReport says what Transfer did with each layer of the pretrained model.
type TransferReport struct {
	Copied  []string // layers whose weights were copied
	Skipped []string // "layer: reason" for layers not copied
	// Pruned is set when a layer before the output differs in shape: the pretrained model is
	// then a pruned model and training continues on its own graph (TAO's retrain).
	Pruned bool
}

// String lists the copied and skipped layers on a few lines.
func (r TransferReport) String() string {
	var b strings.Builder
	if r.Pruned {
		b.WriteString("pretrained model has a different (pruned) graph: training it as it is\n")
		return b.String()
	}
	fmt.Fprintf(&b, "pretrained weights: copied %d layers", len(r.Copied))
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, ", skipped %d:\n", len(r.Skipped))
		for _, s := range r.Skipped {
			b.WriteString("  " + s + "\n")
		}
	} else {
		b.WriteString("\n")
	}
	return b.String()
}

// Transfer picks the pretrained weights that fit the new model dst, layer by layer, by layer
// name, as TAO does: a layer is copied when it exists in both models and all its parameters
// have the same shapes. The result holds only the copied tensors (the engine initialises the
// rest). A shape mismatch in a layer that comes before the output layer (in the pretrained
// graph's order) means the pretrained model is a pruned one: Transfer then copies nothing and
// sets Pruned, and the caller trains the pretrained graph itself. Mismatches at or after the
// output layer (a new class count) are skipped. srcGraph may be nil (a plain safetensors file
// from another tool): layers are then taken in name order and never mark a pruned model.
func Transfer(dst *model.Graph, srcGraph *model.Graph, src model.Weights) (model.Weights, TransferReport, error) {
	_, dstParams, err := dst.AllParams()
	if err != nil {
		return nil, TransferReport{}, fmt.Errorf("model graph: %w", err)
	}
	var rep TransferReport
	out := model.Weights{}
	dstLayers := dst.Index()
	strict := srcGraph != nil
	for _, name := range sourceLayers(srcGraph, src) {
		if srcGraph != nil && (name == srcGraph.Output || name == "predictions") {
			strict = false
		}
		params := layerParams(src, name)
		if len(params) == 0 {
			continue
		}
		if _, ok := dstLayers[name]; !ok {
			rep.Skipped = append(rep.Skipped, name+": not in the new model")
			continue
		}
		if reason := mismatch(dstParams, src, name, params); reason != "" {
			if strict {
				return nil, TransferReport{Pruned: true}, nil
			}
			rep.Skipped = append(rep.Skipped, name+": "+reason)
			continue
		}
		for _, key := range params {
			t := src[key]
			out[key] = &model.Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
		}
		rep.Copied = append(rep.Copied, name)
	}
	return out, rep, nil
}

// sourceLayers lists the pretrained layers in graph order, or by name without a graph.
func sourceLayers(g *model.Graph, w model.Weights) []string {
	var names []string
	if g != nil {
		for _, l := range g.Layers {
			if l.Op != model.OpInput {
				names = append(names, l.Name)
			}
		}
		return names
	}
	seen := map[string]bool{}
	for k := range w {
		if i := strings.LastIndex(k, "/"); i > 0 && !seen[k[:i]] {
			seen[k[:i]] = true
			names = append(names, k[:i])
		}
	}
	slices.Sort(names)
	return names
}

// layerParams returns the sorted Weights keys of a layer.
func layerParams(w model.Weights, layer string) []string {
	var keys []string
	for k := range w {
		if strings.HasPrefix(k, layer+"/") && !strings.Contains(k[len(layer)+1:], "/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// mismatch says why the layer's params cannot be copied, or "" when they can.
func mismatch(dst map[string]model.Param, src model.Weights, layer string, keys []string) string {
	n := 0
	for k := range dst {
		if strings.HasPrefix(k, layer+"/") {
			n++
		}
	}
	if n != len(keys) {
		return "different parameters"
	}
	for _, k := range keys {
		d, ok := dst[k]
		if !ok {
			return "no " + strings.TrimPrefix(k, layer+"/") + " in the new model"
		}
		if !slices.Equal(d.Shape, src[k].Shape) {
			return fmt.Sprintf("%s shape %v, new model has %v", strings.TrimPrefix(k, layer+"/"), src[k].Shape, d.Shape)
		}
	}
	return ""
}

// ApplyModelConfig re-applies model_config's training options to a graph that comes from a
// file (a pruned model being retrained): the convolutions of freeze_blocks are frozen, every
// batch norm runs in inference mode when freezeBN is set, and batch-norm momentum and epsilon
// take the given values when they are non-zero.
func ApplyModelConfig(g *model.Graph, freezeBlocks []int, freezeBN bool, bnMomentum, bnEpsilon float32) {
	for _, l := range g.Layers {
		switch l.Op {
		case model.OpConv:
			l.Frozen = slices.Contains(freezeBlocks, l.Block)
		case model.OpBatchNorm:
			l.FrozenBN = freezeBN
			if bnMomentum != 0 {
				l.Momentum = bnMomentum
			}
			if bnEpsilon != 0 {
				l.Epsilon = bnEpsilon
			}
		}
	}
}
