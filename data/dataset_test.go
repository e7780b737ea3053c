package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOpenListsImagesPerClass(t *testing.T) {
	dir := makeClasses(t, map[string]int{"dog": 2, "cat": 3})
	for _, name := range []string{"cat/UPPER.JPG", "cat/x.jpeg", "cat/y.PNG", "cat/notes.txt", "cat/.hidden.jpg", "dog/z.Jpeg"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "classmap.json"), []byte("{}"), 0o644) // a top-level file is not a class
	os.Mkdir(filepath.Join(dir, ".cache"), 0o755)
	ds, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ds.Classes, []string{"cat", "dog"}) {
		t.Fatalf("classes %v", ds.Classes)
	}
	if got := ds.Counts(); !reflect.DeepEqual(got, []int{6, 3}) {
		t.Fatalf("counts %v, want [6 3]", got)
	}
	var cat []string
	for _, s := range ds.Samples[:6] {
		if s.Label != 0 {
			t.Fatalf("sample %v: want label 0", s)
		}
		cat = append(cat, filepath.Base(s.Path))
	}
	want := []string{"UPPER.JPG", "img000.jpg", "img001.jpg", "img002.jpg", "x.jpeg", "y.PNG"}
	if !reflect.DeepEqual(cat, want) {
		t.Fatalf("cat files %v, want %v", cat, want)
	}
}

func TestOpenWithClassmapForcesOrder(t *testing.T) {
	dir := makeClasses(t, map[string]int{"ant": 1, "bee": 1, "wasp": 1})
	ds, err := Open(dir, map[string]int{"bee": 0, "ant": 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ds.Classes, []string{"bee", "ant"}) || !reflect.DeepEqual(ds.Ignored, []string{"wasp"}) {
		t.Fatalf("classes %v ignored %v", ds.Classes, ds.Ignored)
	}
	if ds.Samples[0].Label != 0 || !strings.Contains(ds.Samples[0].Path, "bee") {
		t.Fatalf("first sample %v, want bee with label 0", ds.Samples[0])
	}
}

func TestOpenErrors(t *testing.T) {
	empty := makeClasses(t, map[string]int{"cat": 2, "dog": 0})
	one := makeClasses(t, map[string]int{"cat": 2})
	none := t.TempDir()
	ok := makeClasses(t, map[string]int{"cat": 1, "dog": 1})
	cases := []struct {
		name, dir string
		cm        map[string]int
		want      string
	}{
		{"missing", filepath.Join(none, "nope"), nil, "does not exist"},
		{"no classes", none, nil, "no class sub-folders"},
		{"empty class", empty, nil, `class "dog" is empty`},
		{"one class", one, nil, "only 1 class (cat)"},
		{"classmap folder missing", ok, map[string]int{"cat": 0, "cow": 1}, `names class "cow"`},
		{"classmap bad index", ok, map[string]int{"cat": 0, "dog": 2}, "indices must run from 0 to 1"},
		{"classmap one class", ok, map[string]int{"cat": 0}, "only 1 class"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(c.dir, c.cm)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestCheckSameClasses(t *testing.T) {
	mk := func(root string, classes ...string) *Dataset { return &Dataset{Root: root, Classes: classes} }
	train := mk("t", "cat", "dog", "emu")
	if err := CheckSameClasses(train, mk("v", "cat", "dog", "emu"), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		val, test *Dataset
		want      string
	}{
		{mk("v", "cat", "emu"), nil, `class "dog" is in train (t) but missing from val (v)`},
		{mk("v", "cat", "dog", "emu"), mk("s", "cat", "dog", "emu", "fox"), `class "fox" is in test (s) but missing from train (t)`},
		{mk("v", "dog", "cat", "emu"), nil, "different order"},
	}
	for _, c := range cases {
		err := CheckSameClasses(train, c.val, c.test)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestClassMapRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ClassMapFile)
	classes := []string{"zebra", "ant", "T-shirt_top"}
	if err := WriteClassMap(path, classes); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if string(raw) != `{"zebra": 0, "ant": 1, "T-shirt_top": 2}`+"\n" {
		t.Fatalf("file %q", raw)
	}
	m, err := ReadClassMap(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ClassesFromMap(m)
	if !reflect.DeepEqual(got, classes) {
		t.Fatalf("read back %v", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestReadClassMapErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		`["cat"]`:           "not a JSON object",
		`{}`:                "names no classes",
		`{"cat":0,"dog":0}`: "share index 0",
		`{"cat":0,"a/x":1}`: "not allowed in folder names",
		`{"cat":0,"dog":5}`: "indices must run",
	}
	for body, want := range cases {
		path := filepath.Join(dir, "cm.json")
		os.WriteFile(path, []byte(body), 0o644)
		_, err := ReadClassMap(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want %q naming the file", body, err, want)
		}
	}
}
