package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzVOCAnnotation feeds arbitrary bytes to the VOC XML reader: it must return an error or a
// well-formed annotation, never panic or hang.
func FuzzVOCAnnotation(f *testing.F) {
	for _, year := range []string{"VOC2007", "VOC2012"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "data", "voc-mini", "VOCdevkit", year, "Annotations", "*.xml"))
		for _, file := range files {
			if raw, err := os.ReadFile(file); err == nil {
				f.Add(raw)
			}
		}
	}
	f.Add([]byte(`<annotation><filename>a.jpg</filename><object><name> cat </name><difficult>1</difficult><part><name>head</name></part></object></annotation>`))
	f.Add([]byte(`<annotation><object><name>a/b</name><truncated>x</truncated></object></annotation>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotation>&x;</annotation>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ann, err := ParseVOCAnnotation(bytes.NewReader(raw))
		if err != nil {
			return
		}
		for _, o := range ann.Objects {
			if o.Name != strings.TrimSpace(o.Name) {
				t.Fatalf("name %q not trimmed", o.Name)
			}
			if ValidClassName(o.Name) != nil {
				continue
			}
			if strings.ContainsAny(o.Name, "/\\\x00") || filepath.Dir(filepath.Join("root", o.Name)) != "root" {
				t.Fatalf("unsafe class name %q accepted as a folder name", o.Name)
			}
		}
	})
}

// FuzzIDX feeds arbitrary bytes to the IDX readers: an error, or data that matches its header.
func FuzzIDX(f *testing.F) {
	for _, name := range []string{"tiny-images-idx3-ubyte", "tiny-images-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", "tiny-labels-idx1-ubyte.gz"} {
		if raw, err := os.ReadFile(filepath.Join("testdata", "idx", name)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if imgs, err := ReadIDXImages(bytes.NewReader(raw)); err == nil {
			if len(imgs.Pixels) != imgs.N*imgs.Rows*imgs.Cols {
				t.Fatalf("%d pixels for %dx%dx%d", len(imgs.Pixels), imgs.N, imgs.Rows, imgs.Cols)
			}
			if imgs.N > 0 && imgs.Rows*imgs.Cols > 0 {
				imgs.Image(imgs.N - 1)
			}
		}
		if labels, err := ReadIDXLabels(bytes.NewReader(raw)); err == nil && len(labels) > len(raw)*1100 {
			t.Fatalf("%d labels from %d bytes", len(labels), len(raw))
		}
	})
}
