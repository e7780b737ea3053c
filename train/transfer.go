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

// Transfer copies pretrained weights into dst (the new model's initial weights, graph dst
// graph) layer by layer, by layer name, as TAO does: a layer is copied when it exists in both
// models and all its parameters have the same shapes. A shape mismatch in a layer that comes
// before the output layer (in the pretrained graph's order) means the pretrained model is a
// pruned one: Transfer then copies nothing and sets Pruned, and the caller trains the
// pretrained graph itself. Mismatches at or after the output layer (a new class count) are
// skipped.
func Transfer(dstGraph *model.Graph, dst model.Weights, srcGraph *model.Graph, src model.Weights) TransferReport {
	var rep TransferReport
	dstLayers := dstGraph.Index()
	strict := true
	for _, l := range srcGraph.Layers {
		if l.Op == model.OpInput {
			continue
		}
		if l.Name == srcGraph.Output || l.Name == "predictions" {
			strict = false
		}
		params := layerParams(src, l.Name)
		if len(params) == 0 {
			continue
		}
		if _, ok := dstLayers[l.Name]; !ok {
			rep.Skipped = append(rep.Skipped, l.Name+": not in the new model")
			continue
		}
		if reason := mismatch(dst, src, l.Name, params); reason != "" {
			if strict {
				return TransferReport{Pruned: true}
			}
			rep.Skipped = append(rep.Skipped, l.Name+": "+reason)
			continue
		}
		for _, key := range params {
			t := src[key]
			dst[key] = &model.Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
		}
		rep.Copied = append(rep.Copied, l.Name)
	}
	return rep
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
func mismatch(dst, src model.Weights, layer string, keys []string) string {
	if len(layerParams(dst, layer)) != len(keys) {
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
