package spec

import (
	"bytes"
	"fmt"
)

// Limits on a spec file, far above any real spec (TAO's samples are 2 KB and 4 levels deep),
// so that no file makes parsing slow or large.
const (
	MaxSpecBytes = 1 << 20 // 1 MiB
	MaxNesting   = 32      // blocks within blocks (text) or mappings and lists within each other (YAML)
)

// checkSize refuses a spec over MaxSpecBytes or nested deeper than MaxNesting.
func checkSize(path string, data []byte, f Format) error {
	if len(data) > MaxSpecBytes {
		return &Error{File: path, Msg: fmt.Sprintf("%d bytes is over the %d-byte limit for a spec file", len(data), MaxSpecBytes)}
	}
	depth, line := textNesting(data)
	if f == YAML {
		depth, line = yamlNesting(data)
	}
	if depth > MaxNesting {
		return &Error{File: path, Line: line, Msg: fmt.Sprintf("nested more than %d levels deep; a spec needs a handful", MaxNesting)}
	}
	return nil
}

// textNesting is the deepest nesting of {}, <> and [] in protobuf text outside strings and
// comments, and the line where it is reached.
func textNesting(data []byte) (deepest, at int) {
	depth, line := 0, 1
	var quote byte
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			line++
			comment = false
		case comment:
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			comment = true
		case c == '{' || c == '<' || c == '[':
			depth++
			if depth > deepest {
				deepest, at = depth, line
			}
		case c == '}' || c == '>' || c == ']':
			depth--
		}
	}
	return deepest, at
}

// yamlNesting is the deepest nesting of a YAML file: the indentation levels of block
// mappings and lists plus the flow brackets inside a line, and the line where it is reached.
// It over-counts odd constructs (brackets inside strings), which only real abuse reaches.
func yamlNesting(data []byte) (deepest, at int) {
	var indents []int
	for n, raw := range bytes.Split(data, []byte("\n")) {
		body := bytes.TrimLeft(raw, " -")
		if len(bytes.TrimSpace(body)) == 0 || body[0] == '#' {
			continue
		}
		indent := len(raw) - len(body)
		for len(indents) > 0 && indents[len(indents)-1] >= indent {
			indents = indents[:len(indents)-1]
		}
		indents = append(indents, indent)
		flow, deepestFlow := 0, 0
		for _, c := range body {
			switch c {
			case '{', '[':
				flow++
				deepestFlow = max(deepestFlow, flow)
			case '}', ']':
				flow--
			}
		}
		if d := len(indents) + deepestFlow; d > deepest {
			deepest, at = d, n+1
		}
	}
	return deepest, at
}
