package spec

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

var (
	protoBlockRE = regexp.MustCompile(`^\s*(message|enum|oneof)\s+(\w+)\s*\{`)
	protoFieldRE = regexp.MustCompile(`^\s*(?:repeated\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;`)
)

// protoFields reads proto/experiment.proto and returns, per message, its
// fields as "name=number". It is a small reader for this one file's style.
func protoFields(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("proto/experiment.proto")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	type block struct{ kind, name string }
	var stack []block
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if m := protoBlockRE.FindStringSubmatch(line); m != nil {
			stack = append(stack, block{m[1], m[2]})
			continue
		}
		if strings.Contains(line, "}") && len(stack) > 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		m := protoFieldRE.FindStringSubmatch(line)
		if m == nil || len(stack) == 0 {
			continue
		}
		// A oneof's fields belong to the message around it; enum values are skipped.
		owner := ""
		for i := len(stack) - 1; i >= 0 && owner == ""; i-- {
			switch stack[i].kind {
			case "enum":
				i = -1
			case "message":
				owner = stack[i].name
			}
		}
		if owner != "" {
			out[owner] = append(out[owner], m[1]+"="+m[2])
		}
	}
	return out
}

// TestGeneratedCodeMatchesProto fails when experiment.proto was edited
// without running `go generate ./spec`.
func TestGeneratedCodeMatchesProto(t *testing.T) {
	fromFile := protoFields(t)
	msgs := specpb.File_experiment_proto.Messages()
	if len(fromFile) != msgs.Len() {
		t.Errorf(".proto has %d messages, generated code %d", len(fromFile), msgs.Len())
	}
	for i := 0; i < msgs.Len(); i++ {
		md := msgs.Get(i)
		var gen []string
		for j := 0; j < md.Fields().Len(); j++ {
			fd := md.Fields().Get(j)
			gen = append(gen, fmt.Sprintf("%s=%d", fd.Name(), fd.Number()))
		}
		if got, want := strings.Join(gen, " "), strings.Join(fromFile[string(md.Name())], " "); got != want {
			t.Errorf("%s: generated %q, .proto %q; run go generate ./spec", md.Name(), got, want)
		}
	}
}

// TestTAOFieldNumbers pins the field numbers that differ from declaration
// order in TAO's protos, so a renumbering cannot slip in.
func TestTAOFieldNumbers(t *testing.T) {
	want := map[string]protoreflect.FieldNumber{
		"ModelConfig.resize_interpolation_method": 12,
		"ModelConfig.n_layers":                    3,
		"ModelConfig.batch_norm_config":           13,
		"ModelConfig.activation":                  14,
		"ModelConfig.byom_model":                  15,
		"TrainConfig.label_smoothing":             12,
		"TrainConfig.preprocess_mode":             13,
		"TrainConfig.enable_center_crop":          14,
		"TrainConfig.enable_color_augmentation":   15,
		"TrainConfig.image_mean":                  18,
		"TrainConfig.visualizer":                  20,
		"SoftAnnealLrConfig.annealing_points":     7,
		"WandBConfig.mode":                        10,
		"EvalConfig.enable_center_crop":           6,
		"Experiment.eval_config":                  1,
		"Experiment.model_config":                 2,
	}
	for name, num := range want {
		msg, field, _ := strings.Cut(name, ".")
		md := specpb.File_experiment_proto.Messages().ByName(protoreflect.Name(msg))
		if md == nil {
			t.Errorf("no message %s", msg)
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(field))
		if fd == nil || fd.Number() != num {
			t.Errorf("%s: want field number %d, got %v", name, num, fd)
		}
	}
}
