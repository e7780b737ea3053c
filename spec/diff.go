package spec

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// ParseRecorded parses a spec's text as recorded in a model file, whose file name (and so
// its syntax) is not known: protobuf text format first, then YAML.
func ParseRecorded(text string) (*Experiment, error) {
	e, err := Parse("recorded.cfg", []byte(text))
	if err == nil {
		return e, nil
	}
	if y, yerr := Parse("recorded.yaml", []byte(text)); yerr == nil {
		return y, nil
	}
	return nil, err
}

// ModelDiff lists what differs between two specs in the fields that decide the model and
// what a checkpoint of it means: every model_config field (n_layers as its effective depth),
// train_config.preprocess_mode and the optimizer kind. Each entry reads
// "field: OLD -> NEW"; none means the same model.
func ModelDiff(old, cur *Experiment) []string {
	var out []string
	a, b := modelConfigOf(old), modelConfigOf(cur)
	diffMessage("model_config", a.ProtoReflect(), b.ProtoReflect(), &out)
	if x, y := old.PreprocessMode(), cur.PreprocessMode(); x != y {
		out = append(out, fmt.Sprintf("train_config.preprocess_mode: %q -> %q", x, y))
	}
	if x, y := old.Optimizer().Kind, cur.Optimizer().Kind; x != y {
		out = append(out, fmt.Sprintf("train_config.optimizer: %s -> %s", x, y))
	}
	return out
}

// modelConfigOf is model_config with n_layers set to its effective value.
func modelConfigOf(e *Experiment) *specpb.ModelConfig {
	mc, _ := proto.Clone(e.Proto.GetModelConfig()).(*specpb.ModelConfig)
	if mc == nil {
		mc = &specpb.ModelConfig{}
	}
	mc.NLayers = uint32(e.NLayers())
	return mc
}

// diffMessage appends the fields of a and b (same type) that differ, recursing into
// sub-messages.
func diffMessage(prefix string, a, b protoreflect.Message, out *[]string) {
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := prefix + "." + string(fd.Name())
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			if a.Has(fd) || b.Has(fd) {
				diffMessage(name, a.Get(fd).Message(), b.Get(fd).Message(), out)
			}
			continue
		}
		if !a.Get(fd).Equal(b.Get(fd)) {
			*out = append(*out, fmt.Sprintf("%s: %s -> %s", name, fieldText(a, fd), fieldText(b, fd)))
		}
	}
}

// fieldText formats one field's value as the spec would write it.
func fieldText(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if !m.Has(fd) {
		return "(unset)"
	}
	one := m.New()
	one.Set(fd, m.Get(fd))
	b, err := prototext.MarshalOptions{}.Marshal(one.Interface())
	if err != nil {
		return m.Get(fd).String()
	}
	text := strings.TrimSpace(string(b))
	return strings.TrimSpace(strings.TrimPrefix(text, string(fd.Name())+":"))
}
