package spec

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/readfile"
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
	data, err := readfile.Read(path, "spec file", MaxSpecBytes)
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
	if err := checkSize(path, data, e.Format); err != nil {
		return nil, err
	}
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
