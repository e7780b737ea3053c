package spec

import (
	"strings"
	"unicode/utf8"
)

// pos is a 1-based line and column (in runes) in the spec file.
type pos struct{ Line, Col int }

// fieldAt records where a field name was written.
type fieldAt struct {
	Path   string // dotted path, e.g. "train_config.reg_config.type"
	Parent string // path of the enclosing message ("" at top level)
	Name   string // the name as written
	At     pos
}

// positions indexes where each field path appears in the file. Map entries
// and repeated fields keep every occurrence, in file order.
type positions struct {
	fields   []fieldAt
	byPath   map[string][]pos
	unclosed []fieldAt // text format: blocks still open at the end of the file
}

func newPositions() *positions { return &positions{byPath: map[string][]pos{}} }

func (p *positions) add(parent, name string, at pos) {
	path := joinPath(parent, name)
	p.fields = append(p.fields, fieldAt{Path: path, Parent: parent, Name: name, At: at})
	p.byPath[path] = append(p.byPath[path], at)
}

// find returns where path was first written, falling back to its nearest
// written ancestor, so that "must be set" errors point into the right block.
func (p *positions) find(path string) (pos, bool) {
	if p == nil {
		return pos{}, false
	}
	for path != "" {
		if ps := p.byPath[path]; len(ps) > 0 {
			return ps[0], true
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return pos{}, false
}

// at returns the field written exactly at position a.
func (p *positions) at(a pos) (fieldAt, bool) {
	for _, f := range p.fields {
		if f.At == a {
			return f, true
		}
	}
	return fieldAt{}, false
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// token kinds of the protobuf text format, as far as locating fields needs.
const (
	tokName  = iota // identifier, or a [bracketed.extension/name]
	tokValue        // number, string or other scalar
	tokPunct        // one of { } < > [ ] : , ;
)

type textToken struct {
	kind int
	text string
	at   pos
}

// scanTextPositions indexes the field names of a protobuf text-format file.
// It runs on text that prototext accepted (or on text up to a reported error)
// and tolerates anything it does not understand.
func scanTextPositions(src []byte) *positions {
	p := newPositions()
	toks := tokenizeText(src)
	type frame struct {
		path   string
		isList bool
		opener fieldAt
	}
	stack := []frame{{}}
	defer func() {
		for _, f := range stack[1:] {
			p.unclosed = append(p.unclosed, f.opener)
		}
	}()
	for i := 0; i < len(toks); {
		top := stack[len(stack)-1]
		t := toks[i]
		i++
		if top.isList {
			switch t.text {
			case "]":
				stack = stack[:len(stack)-1]
			case "{", "<":
				stack = append(stack, frame{path: top.path, opener: top.opener})
			}
			continue
		}
		if t.kind == tokPunct {
			if (t.text == "}" || t.text == ">") && len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if t.kind != tokName {
			continue
		}
		p.add(top.path, t.text, t.at)
		path := joinPath(top.path, t.text)
		opener := p.fields[len(p.fields)-1]
		if i < len(toks) && toks[i].text == ":" && toks[i].kind == tokPunct {
			i++
		}
		if i >= len(toks) {
			break
		}
		next := toks[i]
		switch {
		case next.kind == tokPunct && (next.text == "{" || next.text == "<"):
			stack = append(stack, frame{path: path, opener: opener})
			i++
		case next.kind == tokPunct && next.text == "[":
			stack = append(stack, frame{path: path, isList: true, opener: opener})
			i++
		case next.kind != tokPunct:
			i++ // the scalar value; adjacent strings are one value
			for i < len(toks) && toks[i].kind == tokValue && isQuote(toks[i].text[0]) {
				i++
			}
		}
	}
	return p
}

func isQuote(c byte) bool { return c == '"' || c == '\'' }

// tokenizeText splits protobuf text format into tokens with positions.
// Identifiers that follow a ':' are scalar values (enum names, true, inf).
func tokenizeText(src []byte) []textToken {
	var toks []textToken
	line, lineStart := 1, 0
	col, colAt := 1, 0 // rune column of byte offset colAt, counted incrementally
	posOf := func(i int) pos {
		if colAt < lineStart {
			col, colAt = 1, lineStart
		}
		col += utf8.RuneCount(src[colAt:i])
		colAt = i
		return pos{line, col}
	}
	afterColon := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			i++
			line, lineStart = line+1, i
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case isQuote(c):
			start := i
			i = skipString(src, i)
			toks = append(toks, textToken{tokValue, string(src[start:i]), posOf(start)})
			afterColon = false
		case strings.IndexByte("{}<>[]:,;", c) >= 0:
			if c == '[' && !afterColon && lastIsFieldStart(toks) {
				start := i
				for i < len(src) && src[i] != ']' && src[i] != '\n' {
					i++
				}
				if i < len(src) && src[i] == ']' {
					i++
				}
				toks = append(toks, textToken{tokName, string(src[start:i]), posOf(start)})
				continue
			}
			toks = append(toks, textToken{tokPunct, string(c), posOf(i)})
			afterColon = c == ':'
			i++
		default:
			start := i
			i = skipWord(src, i)
			if i == start {
				i++ // a byte that fits nowhere
			}
			kind := tokValue
			if isIdentStart(c) && !afterColon {
				kind = tokName
			}
			toks = append(toks, textToken{kind, string(src[start:i]), posOf(start)})
			afterColon = false
		}
	}
	return toks
}

// lastIsFieldStart reports whether a '[' here opens an extension name rather
// than a list, i.e. whether it stands where a field name is expected.
func lastIsFieldStart(toks []textToken) bool {
	if len(toks) == 0 {
		return true
	}
	switch last := toks[len(toks)-1]; last.kind {
	case tokName:
		return false // "name [ ... ]": a list of messages
	case tokValue:
		return true
	default:
		return strings.Contains("{<,;", last.text)
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// skipWord skips an identifier or number, including a leading '-' with
// optional spaces ("- inf") so that signed values stay one token.
func skipWord(src []byte, i int) int {
	if src[i] == '-' {
		i++
		for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		if isIdentStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
			(c == '-' && i > 0 && (src[i-1] == 'e' || src[i-1] == 'E')) {
			i++
			continue
		}
		break
	}
	return i
}

// skipString returns the index just past the quoted string starting at i.
func skipString(src []byte, i int) int {
	q := src[i]
	i++
	for i < len(src) && src[i] != q && src[i] != '\n' {
		if src[i] == '\\' {
			i++
		}
		i++
	}
	if i < len(src) && src[i] == q {
		i++
	}
	return min(i, len(src))
}
