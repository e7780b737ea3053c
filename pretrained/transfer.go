package pretrained

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bonsai-ml/bonsai/model"
)

// Status is what happened to one layer when pretrained weights were loaded.
type Status string

// Layer statuses of a load table.
const (
	Loaded  Status = "loaded"              // every parameter copied from the source
	Head    Status = "re-initialised head" // the classifier, of another shape (class count)
	New     Status = "new"                 // no such layer in the source: initialised
	Skipped Status = "skipped"             // in the source with other shapes: initialised
	Unused  Status = "unused"              // a source layer the model does not have
)

// Row is one line of a load table.
type Row struct {
	Layer  string // the model's layer ("" for an unused source layer)
	Source string // the source layer its weights come from ("" when none)
	Status Status
	Detail string
}

// Table says, layer by layer, how pretrained weights were loaded into a model.
type Table struct {
	Rows []Row
	// Pruned is set when a Bonsai source differs in shape before its output layer: it is a
	// pruned model, and training continues on its own graph (TAO's retrain) instead.
	Pruned bool
	// Notes are remarks printed before the summary (a padding mode that differs).
	Notes []string
}

// count returns the number of rows with status s.
func (t *Table) count(s Status) int {
	n := 0
	for _, r := range t.Rows {
		if r.Status == s {
			n++
		}
	}
	return n
}

// Loaded lists the model layers whose weights were copied.
func (t *Table) Loaded() []string {
	var out []string
	for _, r := range t.Rows {
		if r.Status == Loaded {
			out = append(out, r.Layer)
		}
	}
	return out
}

// Summary is a one-line count of the statuses.
func (t *Table) Summary() string {
	if t.Pruned {
		return "the pretrained model is a pruned version of this architecture: training its own graph"
	}
	return fmt.Sprintf("%d layers loaded, %d re-initialised head, %d new, %d skipped, %d source layers unused",
		t.count(Loaded), t.count(Head), t.count(New), t.count(Skipped), t.count(Unused))
}

// Print writes the table and its summary.
func (t *Table) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tfrom\tstatus")
	for _, r := range t.Rows {
		status := string(r.Status)
		if r.Detail != "" {
			status += ": " + r.Detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", dash(r.Layer), dash(r.Source), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range t.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	_, err := fmt.Fprintln(w, t.Summary())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ErrStrict is wrapped by Strict's error.
var ErrStrict = errors.New("--strict: not every layer was loaded")

// Strict returns an error naming the layers that were skipped, new or unused (a re-initialised
// head is expected and allowed).
func (t *Table) Strict() error {
	var bad []string
	for _, r := range t.Rows {
		switch r.Status {
		case Skipped, New, Unused:
			bad = append(bad, fmt.Sprintf("%s (%s)", dash(r.Layer+r.sourceSuffix()), r.Status))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if len(bad) > 6 {
		bad = append(bad[:6], fmt.Sprintf("and %d more", len(bad)-6))
	}
	return fmt.Errorf("%w: %s", ErrStrict, strings.Join(bad, ", "))
}

func (r Row) sourceSuffix() string {
	if r.Layer == "" {
		return r.Source
	}
	return ""
}

// Transfer picks the source weights that fit the model dst, layer by layer, by name as TAO
// does (exact name first, then the same name in another case: Keras' "bn_Conv1" is TAO's
// "bn_conv1"): a layer is loaded when all its parameters exist with the same shapes. The result
// holds only the loaded tensors (copies); the engine initialises the rest. Layers that lead to
// the output through parameter-free layers only are the head: a shape mismatch there (another
// class count) re-initialises them. A Bonsai source whose layers differ before its head is a
// pruned model: Transfer then loads nothing and sets Table.Pruned.
func Transfer(dst *model.Graph, src *Source) (model.Weights, *Table, error) {
	_, dstParams, err := dst.AllParams()
	if err != nil {
		return nil, nil, fmt.Errorf("model graph: %w", err)
	}
	srcLayers := sourceLayers(src)
	byName := map[string]string{}
	lower := map[string][]string{}
	for _, n := range srcLayers {
		byName[n] = n
		lower[strings.ToLower(n)] = append(lower[strings.ToLower(n)], n)
	}
	heads := headLayers(dst)
	srcHeads := map[string]bool{}
	if src.Graph != nil {
		srcHeads = headLayers(src.Graph)
	}
	t := &Table{}
	out := model.Weights{}
	used := map[string]bool{}
	for _, l := range dst.Layers {
		keys := layerKeys(dstParams, l.Name)
		if len(keys) == 0 {
			continue
		}
		from, ok := byName[l.Name]
		if !ok && len(lower[strings.ToLower(l.Name)]) == 1 {
			from, ok = lower[strings.ToLower(l.Name)][0], true
		}
		if !ok {
			t.Rows = append(t.Rows, Row{Layer: l.Name, Status: New, Detail: "not in the source"})
			continue
		}
		used[from] = true
		reason := mismatch(dstParams, src.Weights, l.Name, from, keys)
		switch {
		case reason == "":
			for _, k := range keys {
				s := src.Weights[model.ParamKey(from, strings.TrimPrefix(k, l.Name+"/"))]
				out[k] = &model.Tensor{Shape: slices.Clone(s.Shape), Data: slices.Clone(s.Data)}
			}
			t.Rows = append(t.Rows, Row{Layer: l.Name, Source: from, Status: Loaded})
		case src.Format == FormatBonsai && src.Graph != nil && !srcHeads[from]:
			return model.Weights{}, &Table{Pruned: true}, nil
		case heads[l.Name]:
			t.Rows = append(t.Rows, Row{Layer: l.Name, Source: from, Status: Head, Detail: reason})
		default:
			t.Rows = append(t.Rows, Row{Layer: l.Name, Source: from, Status: Skipped, Detail: reason})
		}
	}
	for _, n := range srcLayers {
		if !used[n] {
			t.Rows = append(t.Rows, Row{Source: n, Status: Unused, Detail: "the model has no such layer"})
		}
	}
	if src.Graph != nil && src.Graph.PaddingMode() != dst.PaddingMode() {
		t.Notes = append(t.Notes, fmt.Sprintf("the source pads as %q, the model as %q: strided layers see the image shifted by a pixel (model_config.padding_mode sets the model's)",
			src.Graph.PaddingMode(), dst.PaddingMode()))
	}
	return out, t, nil
}

// sourceLayers lists the source's layers with weights, in graph order (or by name without a
// graph).
func sourceLayers(src *Source) []string {
	var names []string
	seen := map[string]bool{}
	if src.Graph != nil {
		for _, l := range src.Graph.Layers {
			if hasWeights(src.Weights, l.Name) {
				names = append(names, l.Name)
				seen[l.Name] = true
			}
		}
	}
	var rest []string
	for k := range src.Weights {
		if i := strings.LastIndex(k, "/"); i > 0 && !seen[k[:i]] {
			seen[k[:i]] = true
			rest = append(rest, k[:i])
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

func hasWeights(w model.Weights, layer string) bool {
	for k := range w {
		if strings.HasPrefix(k, layer+"/") {
			return true
		}
	}
	return false
}

// layerKeys returns the sorted parameter keys of a layer.
func layerKeys(params map[string]model.Param, layer string) []string {
	var keys []string
	for k := range params {
		if strings.HasPrefix(k, layer+"/") && !strings.Contains(k[len(layer)+1:], "/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// mismatch says why source layer from cannot fill layer's parameters, or "" when it can.
func mismatch(dst map[string]model.Param, src model.Weights, layer, from string, keys []string) string {
	n := 0
	for k := range src {
		if strings.HasPrefix(k, from+"/") && !strings.Contains(k[len(from)+1:], "/") {
			n++
		}
	}
	if n != len(keys) {
		return fmt.Sprintf("%d parameters in the source, %d in the model", n, len(keys))
	}
	for _, k := range keys {
		param := strings.TrimPrefix(k, layer+"/")
		s, ok := src[model.ParamKey(from, param)]
		if !ok {
			return "the source has no " + param
		}
		if want := dst[k].Shape; !slices.Equal(want, s.Shape) {
			return fmt.Sprintf("%s %v in the source, %v in the model", param, s.Shape, want)
		}
	}
	return ""
}

// headLayers are the layers with parameters from which the output is reached through
// parameter-free layers only (the classifier: "predictions", or darknet's last 1x1 conv).
func headLayers(g *model.Graph) map[string]bool {
	consumers := map[string][]string{}
	for _, l := range g.Layers {
		for _, in := range l.Inputs {
			consumers[in] = append(consumers[in], l.Name)
		}
	}
	idx := g.Index()
	heads := map[string]bool{}
	for _, l := range g.Layers {
		if hasParams(l.Op) && reachesOutput(g, idx, consumers, l.Name) {
			heads[l.Name] = true
		}
	}
	return heads
}

func hasParams(op model.Op) bool {
	return op == model.OpConv || op == model.OpDepthwiseConv || op == model.OpDense || op == model.OpBatchNorm
}

// reachesOutput follows single consumers without parameters from name to the output.
func reachesOutput(g *model.Graph, idx map[string]*model.Layer, consumers map[string][]string, name string) bool {
	for range len(g.Layers) + 1 {
		if name == g.Output {
			return true
		}
		next := consumers[name]
		if len(next) != 1 || hasParams(idx[next[0]].Op) {
			return false
		}
		name = next[0]
	}
	return false
}
