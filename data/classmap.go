package data

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/internal/readfile"
)

// ClassMapFile is the name TAO gives the class map it writes next to a trained model.
const ClassMapFile = "classmap.json"

// ClassMap maps class names to indices, as in TAO's classmap.json: {"cat": 0, "dog": 1}.
type ClassMap map[string]int

// ClassesFromMap returns the class names in index order; the indices must be exactly 0..n-1.
func ClassesFromMap(m map[string]int) ([]string, error) {
	classes := make([]string, len(m))
	for name, idx := range m {
		if idx < 0 || idx >= len(m) {
			return nil, fmt.Errorf("class %q has index %d; indices must run from 0 to %d", name, idx, len(m)-1)
		}
		if classes[idx] != "" {
			return nil, fmt.Errorf("classes %q and %q share index %d", classes[idx], name, idx)
		}
		if err := ValidClassName(name); err != nil {
			return nil, err
		}
		classes[idx] = name
	}
	return classes, nil
}

// MapFromClasses numbers classes in the given order.
func MapFromClasses(classes []string) ClassMap {
	m := ClassMap{}
	for i, c := range classes {
		m[c] = i
	}
	return m
}

// ReadClassMap reads a classmap.json file and checks its indices.
func ReadClassMap(path string) (ClassMap, error) {
	raw, err := readfile.Read(path, "classmap", 1<<20)
	if err != nil {
		return nil, fmt.Errorf("reading classmap: %w", err)
	}
	var m ClassMap
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("classmap %s is not a JSON object of class -> index (like {\"cat\": 0, \"dog\": 1}): %w", path, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("classmap %s names no classes", path)
	}
	if _, err := ClassesFromMap(m); err != nil {
		return nil, fmt.Errorf("classmap %s: %w", path, err)
	}
	return m, nil
}

// WriteClassMap writes classes (in label order) as a classmap.json file, atomically.
func WriteClassMap(path string, classes []string) error {
	m := MapFromClasses(classes)
	if _, err := ClassesFromMap(m); err != nil || len(m) != len(classes) {
		return fmt.Errorf("writing classmap %s: class names must be unique and valid (%v)", path, err)
	}
	raw, err := marshalSorted(classes)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, raw)
}

// marshalSorted writes the map with keys in label order, as TAO does.
func marshalSorted(classes []string) ([]byte, error) {
	buf := []byte("{")
	for i, c := range classes {
		key, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, key...)
		buf = append(buf, fmt.Sprintf(": %d", i)...)
	}
	return append(buf, "}\n"...), nil
}

// ValidClassName checks that name can be used as a folder name on every common file system.
func ValidClassName(name string) error {
	if name == "" {
		return fmt.Errorf("empty class name")
	}
	if name == "." || name == ".." || name[0] == '.' {
		return fmt.Errorf("class name %q may not start with a dot", name)
	}
	if len(name) > 200 {
		return fmt.Errorf("class name %.20q... is longer than 200 bytes", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("class name %q contains a control or invalid character", name)
		}
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|':
			return fmt.Errorf("class name %q contains %q, which is not allowed in folder names", name, r)
		}
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
