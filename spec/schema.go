package spec

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// Helpers over the schema's descriptors, used to explain errors.

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
		"string": fmt.Sprintf("; text must be quoted: %q", value),
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
