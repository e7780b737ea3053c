package spec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// Format is the syntax of a spec file.
type Format int

const (
	// TextFormat is protobuf text format, TAO's .cfg / .txt spec files.
	TextFormat Format = iota
	// YAML holds the same fields as nested YAML mappings (.yaml, .yml).
	YAML
)

func (f Format) String() string {
	if f == YAML {
		return "yaml"
	}
	return "protobuf text"
}

// FormatOf picks the syntax from the file name: .yaml and .yml are YAML,
// anything else (.cfg, .txt, ...) is protobuf text format.
func FormatOf(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return YAML
	}
	return TextFormat
}

// Load reads, parses and checks the spec file at path. It applies the value
// rules that hold for every task (ranges, allowed names); call Validate for the
// fields a given task requires, or use LoadFor.
func Load(path string) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec file: %w", err)
	}
	return Parse(path, data)
}

// LoadFor loads the spec at path and validates it for task.
func LoadFor(path string, task Task) (*Experiment, error) {
	e, err := Load(path)
	if err != nil {
		return nil, err
	}
	if err := e.Validate(task); err != nil {
		return nil, err
	}
	return e, nil
}

// Parse is Load for a spec already in memory; path names it in errors,
// picks its syntax (see FormatOf) and anchors its relative paths.
func Parse(path string, data []byte) (*Experiment, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte-order mark
	e := &Experiment{Proto: &specpb.Experiment{}, Path: path, Format: FormatOf(path)}
	var err error
	if e.Format == YAML {
		e.pos, err = decodeYAML(path, data, e.Proto)
	} else {
		e.pos, err = decodeText(path, data, e.Proto)
	}
	if err != nil {
		return nil, err
	}
	if err := e.checkValues(); err != nil {
		return nil, err
	}
	return e, nil
}

var textErrRE = regexp.MustCompile(`(syntax error )?\(line (\d+):(\d+)\): (.*)$`)

// decodeText parses protobuf text format into m and indexes field positions.
func decodeText(path string, data []byte, m *specpb.Experiment) (*positions, error) {
	err := prototext.Unmarshal(data, m)
	p := scanTextPositions(data)
	if err == nil {
		return p, nil
	}
	sub := textErrRE.FindStringSubmatch(err.Error())
	if sub == nil {
		return nil, unlocatedTextError(path, data, p, err)
	}
	line, _ := strconv.Atoi(sub[2])
	col, _ := strconv.Atoi(sub[3])
	at := pos{line, col}
	msg := explainTextError(p, at, sub[4])
	if sub[1] != "" && !strings.HasPrefix(msg, "syntax error") {
		msg = "syntax error: " + msg
	}
	return nil, &Error{File: path, Line: line, Col: col, Msg: msg}
}

// unlocatedTextError explains a prototext error that carries no position,
// which in practice is an unexpected end of file.
func unlocatedTextError(path string, data []byte, p *positions, err error) error {
	msg := strings.TrimPrefix(cleanProtoErr(err), "proto: ")
	if !strings.Contains(msg, "EOF") {
		return &Error{File: path, Msg: "cannot parse spec: " + msg}
	}
	if n := len(p.unclosed); n > 0 {
		open := p.unclosed[n-1]
		return &Error{File: path, Line: open.At.Line, Col: open.At.Col, Field: open.Path,
			Msg: "block is not closed before the end of the file; add a '}'"}
	}
	line := bytes.Count(data, []byte("\n")) + 1
	return &Error{File: path, Line: line, Msg: "unexpected end of file; a value is missing"}
}

// cleanProtoErr normalizes the non-breaking spaces protobuf-go puts in its
// error prefix.
func cleanProtoErr(err error) string {
	return strings.ReplaceAll(err.Error(), "\u00a0", " ")
}

var (
	unknownFieldRE = regexp.MustCompile(`^unknown field: (.*)$`)
	unknownEntryRE = regexp.MustCompile(`^unknown map entry field "(.*)"$`)
	repeatedRE     = regexp.MustCompile(`^non-repeated field "(.*)" is repeated$`)
	oneofRE        = regexp.MustCompile(`^error parsing "(.*)", oneof (\S+) is already set$`)
	invalidValueRE = regexp.MustCompile(`^invalid value for (\w+) type: (.*)$`)
)

// explainTextError rewrites a prototext error message at position at into one
// that names the field, and the closest known name for a misspelling.
func explainTextError(p *positions, at pos, msg string) string {
	if sub := unknownFieldRE.FindStringSubmatch(msg); sub != nil {
		if f, ok := p.at(at); ok {
			return unknownFieldMessage(sub[1], f.Parent)
		}
		return fmt.Sprintf("unknown field %s", sub[1]) // position not indexed: no context to suggest from
	}
	if sub := unknownEntryRE.FindStringSubmatch(msg); sub != nil {
		return fmt.Sprintf("unknown map entry field %q; a map entry has only \"key\" and \"value\"%s",
			sub[1], didYouMean(sub[1], []string{"key", "value"}))
	}
	if sub := repeatedRE.FindStringSubmatch(msg); sub != nil {
		return fmt.Sprintf("field %q is set twice; remove one (TAO silently keeps the last)", sub[1])
	}
	if sub := oneofRE.FindStringSubmatch(msg); sub != nil {
		od := oneofByName(sub[2])
		return fmt.Sprintf("%q conflicts with another choice already set; set only one of %s",
			sub[1], strings.Join(oneofFieldNames(od), ", "))
	}
	if msg == "invalid field name: }" || msg == "invalid field name: >" {
		return "unexpected '" + msg[len(msg)-1:] + "': no block is open here"
	}
	if sub := invalidValueRE.FindStringSubmatch(msg); sub != nil {
		f, ok := p.lastBefore(at)
		if !ok {
			return msg
		}
		return invalidValueMessage(f.Path, sub[1], sub[2])
	}
	return msg
}

// lastBefore returns the last field name written before position a: the
// field whose value sits at a.
func (p *positions) lastBefore(a pos) (fieldAt, bool) {
	var best fieldAt
	found := false
	for _, f := range p.fields {
		if f.At.Line < a.Line || (f.At.Line == a.Line && f.At.Col < a.Col) {
			best, found = f, true
		}
	}
	return best, found
}

// unknownFieldMessage explains an unknown field name inside the message at
// parentPath, suggesting the nearest real field.
func unknownFieldMessage(name, parentPath string) string {
	where := "at top level"
	if parentPath != "" {
		where = "in " + parentPath
	}
	msg := fmt.Sprintf("unknown field %q %s", name, where)
	md := messageAt(parentPath)
	if md == nil {
		return msg
	}
	if s := didYouMean(name, fieldNames(md)); s != "" {
		return msg + s
	}
	if parentPath != "" && messageAt("").Fields().ByName(protoreflect.Name(name)) != nil {
		return fmt.Sprintf("%s; %q is a top-level block: is a '}' missing before it?", msg, name)
	}
	if other := whereFieldLives(name); other != "" {
		return fmt.Sprintf("%s; %q belongs in %s", msg, name, other)
	}
	return msg + "; known fields: " + strings.Join(fieldNames(md), ", ")
}

// invalidValueMessage explains a value of the wrong type or an unknown enum
// name for the field at path.
func invalidValueMessage(path, kind, value string) string {
	fd := fieldAtPath(path)
	if kind == "enum" && fd != nil && fd.Enum() != nil {
		names := enumNames(fd.Enum())
		return fmt.Sprintf("%s: invalid value %s; allowed: %s%s", path, value,
			strings.Join(names, ", "), didYouMean(value, names))
	}
	hint := map[string]string{
		"string": "; text must be quoted, e.g. \"3,224,224\"",
		"uint32": "; expected a whole number >= 0",
		"float":  "; expected a number",
		"bool":   "; expected true or false",
	}[kind]
	return fmt.Sprintf("%s: invalid %s value %s%s", path, kind, value, hint)
}

// messageAt resolves a dotted path of message fields to its descriptor; ""
// is the Experiment itself. Map entries resolve to their entry message.
func messageAt(path string) protoreflect.MessageDescriptor {
	md := (&specpb.Experiment{}).ProtoReflect().Descriptor()
	if path == "" {
		return md
	}
	for _, name := range strings.Split(path, ".") {
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil || fd.Message() == nil {
			return nil
		}
		md = fd.Message()
	}
	return md
}

// fieldAtPath resolves a dotted path to its field descriptor.
func fieldAtPath(path string) protoreflect.FieldDescriptor {
	i := strings.LastIndexByte(path, '.')
	parent, name := "", path
	if i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	md := messageAt(parent)
	if md == nil {
		return nil
	}
	return md.Fields().ByName(protoreflect.Name(name))
}

func fieldNames(md protoreflect.MessageDescriptor) []string {
	fs := md.Fields()
	names := make([]string, fs.Len())
	for i := range names {
		names[i] = string(fs.Get(i).Name())
	}
	return names
}

func enumNames(ed protoreflect.EnumDescriptor) []string {
	vs := ed.Values()
	names := make([]string, vs.Len())
	for i := range names {
		names[i] = string(vs.Get(i).Name())
	}
	return names
}

// whereFieldLives names the message paths (outside the one searched) that
// have a field called name, e.g. "eval_config" for "top_k".
func whereFieldLives(name string) string {
	var found []string
	var walk func(md protoreflect.MessageDescriptor, path string, depth int)
	walk = func(md protoreflect.MessageDescriptor, path string, depth int) {
		if depth > 6 {
			return
		}
		fs := md.Fields()
		for i := 0; i < fs.Len(); i++ {
			fd := fs.Get(i)
			if string(fd.Name()) == name && path != "" {
				found = append(found, path)
			}
			if fd.Message() != nil && !fd.IsMap() {
				walk(fd.Message(), joinPath(path, string(fd.Name())), depth+1)
			}
		}
	}
	walk((&specpb.Experiment{}).ProtoReflect().Descriptor(), "", 0)
	return strings.Join(found, " or ")
}

func oneofByName(full string) protoreflect.OneofDescriptor {
	var od protoreflect.OneofDescriptor
	var walk func(md protoreflect.MessageDescriptor, depth int)
	walk = func(md protoreflect.MessageDescriptor, depth int) {
		if depth > 6 || od != nil {
			return
		}
		for i := 0; i < md.Oneofs().Len(); i++ {
			if string(md.Oneofs().Get(i).FullName()) == full {
				od = md.Oneofs().Get(i)
			}
		}
		for i := 0; i < md.Fields().Len(); i++ {
			if sub := md.Fields().Get(i).Message(); sub != nil {
				walk(sub, depth+1)
			}
		}
	}
	walk((&specpb.Experiment{}).ProtoReflect().Descriptor(), 0)
	return od
}

func oneofFieldNames(od protoreflect.OneofDescriptor) []string {
	if od == nil {
		return nil
	}
	names := make([]string, od.Fields().Len())
	for i := range names {
		names[i] = string(od.Fields().Get(i).Name())
	}
	return names
}
