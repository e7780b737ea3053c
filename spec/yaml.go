package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// maxYAMLNodes bounds the work of one YAML file, aliases expanded.
const maxYAMLNodes = 100000

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// decodeYAML fills m from a YAML document whose keys are the proto field
// names (TAO 5 style) and indexes field positions.
func decodeYAML(path string, data []byte, m *specpb.Experiment) (*positions, error) {
	var doc yaml.Node
	second, err := unmarshalYAML(data, &doc)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if sub := yamlLineRE.FindStringSubmatch(msg); sub != nil {
			line, _ := strconv.Atoi(sub[1])
			return nil, &Error{File: path, Line: line, Msg: "yaml: " + sub[2]}
		}
		return nil, &Error{File: path, Msg: "yaml: " + msg}
	}
	if second > 0 {
		return nil, &Error{File: path, Line: second, Msg: "a second YAML document starts here; a spec is one document (remove the \"---\" and what follows, or merge it into the first)"}
	}
	d := &yamlDecoder{file: path, pos: newPositions()}
	if len(doc.Content) == 0 {
		return d.pos, nil // empty file
	}
	if err := d.message(doc.Content[0], m.ProtoReflect(), ""); err != nil {
		return nil, err
	}
	return d.pos, nil
}

// unmarshalYAML parses YAML's first document into a node tree, turning a panic
// inside the YAML library into an error so that no input can crash Bonsai. It
// returns the line where a second document starts (0: there is none).
func unmarshalYAML(data []byte, doc *yaml.Node) (second int, err error) {
	defer func() {
		if r := recover(); r != nil {
			second, err = 0, fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil // empty file
		}
		return 0, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return max(next.Line, 1), nil
	case !errors.Is(err, io.EOF):
		return 0, err
	}
	return 0, nil
}

type yamlDecoder struct {
	file  string
	pos   *positions
	nodes int
}

func (d *yamlDecoder) errAt(n *yaml.Node, field, format string, args ...any) *Error {
	return &Error{File: d.file, Line: n.Line, Col: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// deref follows aliases and counts the node against the work budget.
func (d *yamlDecoder) deref(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 100 {
			return nil, d.errAt(n, "", "yaml: alias cannot be resolved")
		}
		n = n.Alias
	}
	d.nodes++
	if d.nodes > maxYAMLNodes {
		return nil, d.errAt(n, "", "yaml: document too large (more than %d values after expanding aliases)", maxYAMLNodes)
	}
	return n, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// message decodes a mapping node into msg, whose field path is path.
func (d *yamlDecoder) message(n *yaml.Node, msg protoreflect.Message, path string) error {
	n, err := d.deref(n)
	if err != nil {
		return err
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "expected a mapping of fields, found %s", kindName(n))
	}
	seen := map[string]bool{}
	md := msg.Descriptor()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return d.errAt(k, path, "expected a field name, found %s", kindName(k))
		}
		name := k.Value
		d.pos.add(path, name, pos{k.Line, k.Column})
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return d.errAt(k, "", "%s", unknownFieldMessage(name, path))
		}
		fpath := joinPath(path, name)
		if seen[name] {
			return d.errAt(k, "", "field %q is set twice; remove one", name)
		}
		seen[name] = true
		if od := fd.ContainingOneof(); od != nil {
			if other := msg.WhichOneof(od); other != nil {
				return d.errAt(k, fpath, "conflicts with %q; set only one of %s",
					other.Name(), strings.Join(oneofFieldNames(od), ", "))
			}
		}
		if err := d.field(v, msg, fd, fpath); err != nil {
			return err
		}
	}
	return nil
}

// field decodes one field's value node.
func (d *yamlDecoder) field(n *yaml.Node, msg protoreflect.Message, fd protoreflect.FieldDescriptor, path string) error {
	n, err := d.deref(n)
	if err != nil {
		return err
	}
	switch {
	case isNull(n):
		return nil
	case fd.IsMap():
		return d.mapField(n, msg.Mutable(fd).Map(), fd, path)
	case fd.IsList():
		return d.listField(n, msg.Mutable(fd).List(), fd, path)
	case fd.Message() != nil:
		return d.message(n, msg.Mutable(fd).Message(), path)
	}
	v, err := d.scalar(n, fd, path)
	if err != nil {
		return err
	}
	msg.Set(fd, v)
	return nil
}

func (d *yamlDecoder) listField(n *yaml.Node, list protoreflect.List, fd protoreflect.FieldDescriptor, path string) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for _, item := range items {
		if fd.Message() != nil {
			elem := list.NewElement()
			if err := d.message(item, elem.Message(), path); err != nil {
				return err
			}
			list.Append(elem)
			continue
		}
		item, err := d.deref(item)
		if err != nil {
			return err
		}
		v, err := d.scalar(item, fd, path)
		if err != nil {
			return err
		}
		list.Append(v)
	}
	return nil
}

func (d *yamlDecoder) mapField(n *yaml.Node, m protoreflect.Map, fd protoreflect.FieldDescriptor, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "expected a mapping of keys to values, found %s", kindName(n))
	}
	kd, vd := fd.MapKey(), fd.MapValue()
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, err := d.deref(n.Content[i])
		if err != nil {
			return err
		}
		d.pos.add(path, "key", pos{kn.Line, kn.Column})
		k, err := d.scalar(kn, kd, path)
		if err != nil {
			return err
		}
		if m.Has(k.MapKey()) {
			return d.errAt(kn, path, "key %q is set twice", kn.Value)
		}
		vn, err := d.deref(n.Content[i+1])
		if err != nil {
			return err
		}
		if vd.Message() != nil {
			val := m.NewValue()
			if err := d.message(vn, val.Message(), path); err != nil {
				return err
			}
			m.Set(k.MapKey(), val)
			continue
		}
		v, err := d.scalar(vn, vd, path)
		if err != nil {
			return err
		}
		m.Set(k.MapKey(), v)
	}
	return nil
}

// scalar converts a scalar node to the value of field fd.
func (d *yamlDecoder) scalar(n *yaml.Node, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	if n.Kind != yaml.ScalarNode {
		return protoreflect.Value{}, d.errAt(n, path, "expected a single value, found %s", kindName(n))
	}
	bad := func(want string) (protoreflect.Value, error) {
		return protoreflect.Value{}, d.errAt(n, path, "invalid value %q; expected %s", n.Value, want)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(n.Value), nil
	case protoreflect.BoolKind:
		var b bool
		if n.Decode(&b) != nil {
			return bad("true or false")
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		var f float64
		if n.Decode(&f) != nil {
			return bad("a number")
		}
		if fd.Kind() == protoreflect.FloatKind {
			if math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
				return bad("a number within float32 range")
			}
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		var u uint64
		if n.Decode(&u) != nil || u > math.MaxUint32 {
			return bad("a whole number from 0 to 4294967295")
		}
		return protoreflect.ValueOfUint32(uint32(u)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		var u uint64
		if n.Decode(&u) != nil {
			return bad("a whole number >= 0")
		}
		return protoreflect.ValueOfUint64(u), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var i int64
		if n.Decode(&i) != nil || i < math.MinInt32 || i > math.MaxInt32 {
			return bad("a 32-bit whole number")
		}
		return protoreflect.ValueOfInt32(int32(i)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var i int64
		if n.Decode(&i) != nil {
			return bad("a whole number")
		}
		return protoreflect.ValueOfInt64(i), nil
	case protoreflect.EnumKind:
		return d.enum(n, fd, path)
	}
	return bad("a supported value")
}

// enum accepts an enum value by name (any case, TAO 5 YAML writes "bilinear")
// or by number.
func (d *yamlDecoder) enum(n *yaml.Node, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, error) {
	ed := fd.Enum()
	for i := 0; i < ed.Values().Len(); i++ {
		ev := ed.Values().Get(i)
		if strings.EqualFold(string(ev.Name()), n.Value) {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
	}
	if num, err := strconv.ParseInt(n.Value, 10, 32); err == nil {
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(num)), nil
	}
	names := enumNames(ed)
	return protoreflect.Value{}, d.errAt(n, path, "invalid value %q; allowed: %s%s",
		n.Value, strings.Join(names, ", "), didYouMean(n.Value, names))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "an unsupported YAML node"
}
