package data

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxAnnotationBytes bounds the size of one VOC annotation file (real ones are about 1 KB).
const maxAnnotationBytes = 4 << 20

// VOCAnnotation is the part of a PASCAL VOC annotation file that classification needs.
type VOCAnnotation struct {
	Filename string
	Objects  []VOCObject
}

// VOCObject is one annotated object; parts (head, hand, foot) are not objects.
type VOCObject struct {
	Name      string
	Difficult bool
	Truncated bool
}

type vocXML struct {
	XMLName  xml.Name `xml:"annotation"`
	Filename string   `xml:"filename"`
	Objects  []struct {
		Name      string `xml:"name"`
		Difficult string `xml:"difficult"`
		Truncated string `xml:"truncated"`
	} `xml:"object"`
}

// ParseVOCAnnotation reads a VOC annotation (<annotation> with <object><name>, <difficult>).
func ParseVOCAnnotation(r io.Reader) (*VOCAnnotation, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxAnnotationBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxAnnotationBytes {
		return nil, fmt.Errorf("annotation is larger than %d bytes", maxAnnotationBytes)
	}
	var doc vocXML
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not a VOC annotation: %w", err)
	}
	ann := &VOCAnnotation{Filename: strings.TrimSpace(doc.Filename)}
	for i, o := range doc.Objects {
		difficult, err := parseFlag(o.Difficult)
		if err != nil {
			return nil, fmt.Errorf("object %d (%q): <difficult>: %w", i+1, o.Name, err)
		}
		truncated, err := parseFlag(o.Truncated)
		if err != nil {
			return nil, fmt.Errorf("object %d (%q): <truncated>: %w", i+1, o.Name, err)
		}
		ann.Objects = append(ann.Objects, VOCObject{Name: strings.TrimSpace(o.Name), Difficult: difficult, Truncated: truncated})
	}
	return ann, nil
}

// parseFlag reads a VOC 0/1 flag; an absent flag is 0.
func parseFlag(s string) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return false, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return false, fmt.Errorf("want 0 or 1, got %q", s)
	}
	return v != 0, nil
}
