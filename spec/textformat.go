package spec

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

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
