package hdf5

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// manifestEntry is what h5py read back from a fixture (testdata/make_fixtures.py).
type manifestEntry struct {
	Kind    string                   `json:"kind"`
	Dtype   string                   `json:"dtype"`
	Shape   []int                    `json:"shape"`
	Values  []string                 `json:"values"`
	Members []string                 `json:"members"`
	Attrs   map[string]manifestValue `json:"attrs"`
}

type manifestValue struct {
	Shape  []int    `json:"shape"`
	Values []string `json:"values"`
}

var fixtures = []struct {
	name       string
	superblock int
}{
	{"earliest", 0}, {"istore", 1}, {"v108", 2}, {"latest", 3},
}

func openFixture(t *testing.T, name string) (*File, map[string]manifestEntry) {
	t.Helper()
	f, err := Open(filepath.Join("testdata", name+".h5"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]manifestEntry
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return f, m
}

// TestFixturesMatchH5py reads every group, dataset and attribute of files written by h5py
// and compares them with what h5py itself read back (names, types, shapes and every value).
func TestFixturesMatchH5py(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			f, manifest := openFixture(t, fx.name)
			if f.superblock != fx.superblock {
				t.Errorf("superblock version %d, want %d", f.superblock, fx.superblock)
			}
			root, err := f.Root()
			if err != nil {
				t.Fatal(err)
			}
			paths := slices.Sorted(func(yield func(string) bool) {
				for p := range manifest {
					if !yield(p) {
						return
					}
				}
			})
			for _, p := range paths {
				checkEntry(t, root, p, manifest[p])
			}
		})
	}
}

func checkEntry(t *testing.T, root *Group, p string, want manifestEntry) {
	t.Helper()
	var attrs []*Attribute
	var err error
	if want.Kind == "group" {
		g := root
		if p != "/" {
			if g, err = root.Group(p); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		names, err := g.Names()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !slices.Equal(names, want.Members) {
			t.Errorf("%s members %v, want %v", p, names, want.Members)
		}
		if attrs, err = g.Attrs(); err != nil {
			t.Fatalf("%s attributes: %v", p, err)
		}
	} else {
		d, err := root.Dataset(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		checkDataset(t, d, want)
		attrs, err = d.Attrs()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	checkAttrs(t, p, attrs, want.Attrs)
}

// dtypeNames maps numpy's dtype strings to Datatype.String.
var dtypeNames = map[string]string{
	"<f2": "float16", "<f4": "float32", "<f8": "float64", ">f4": "float32", ">f8": "float64",
	"<i2": "int16", "|u1": "uint8", "<i4": "int32", "|S6": "string(6)", "|O": "vlen string",
}

func checkDataset(t *testing.T, d *Dataset, want manifestEntry) {
	t.Helper()
	p := d.Path()
	if got, ok := dtypeNames[want.Dtype]; !ok || d.Type.String() != got {
		t.Errorf("%s type %s, want %s", p, d.Type, want.Dtype)
	}
	if !slices.Equal(d.Shape, want.Shape) && !(len(d.Shape) == 0 && len(want.Shape) == 0) {
		t.Errorf("%s shape %v, want %v", p, d.Shape, want.Shape)
	}
	if d.Type.Class == ClassString || d.Type.VarString {
		got, err := d.Strings()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !slices.Equal(got, want.Values) {
			t.Errorf("%s = %q, want %q", p, got, want.Values)
		}
		return
	}
	got, err := d.Float64s()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	compareNumbers(t, p, got, want.Values, 8*d.Type.Size)
	if d.Type.Class == ClassFloat {
		f32, err := d.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i, v := range f32 {
			if v != float32(got[i]) {
				t.Fatalf("%s Float32s[%d] = %v, want %v", p, i, v, float32(got[i]))
			}
		}
	}
}

// compareNumbers compares exactly: the manifest holds the shortest decimal of each value at
// its own precision.
func compareNumbers(t *testing.T, what string, got []float64, want []string, bits int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, s := range want {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if bits == 32 {
			w32, _ := strconv.ParseFloat(s, 32)
			w = float64(float32(w32))
		}
		if got[i] != w {
			t.Fatalf("%s[%d] = %v, want %s", what, i, got[i], s)
		}
	}
}

func checkAttrs(t *testing.T, p string, got []*Attribute, want map[string]manifestValue) {
	t.Helper()
	if len(got) != len(want) {
		var names []string
		for _, a := range got {
			names = append(names, a.Name)
		}
		t.Errorf("%s: attributes %v, want %d", p, names, len(want))
	}
	for _, a := range got {
		w, ok := want[a.Name]
		if !ok {
			t.Errorf("%s: unexpected attribute %s", p, a.Name)
			continue
		}
		if len(a.Shape) != len(w.Shape) || (len(w.Shape) > 0 && !slices.Equal(a.Shape, w.Shape)) {
			t.Errorf("%s@%s shape %v, want %v", p, a.Name, a.Shape, w.Shape)
		}
		if a.Type.Class == ClassString || a.Type.VarString {
			s, err := a.Strings()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !slices.Equal(s, w.Values) {
				t.Errorf("%s@%s = %.60q, want %.60q", p, a.Name, s, w.Values)
			}
			continue
		}
		v, err := a.Float64s()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		compareNumbers(t, p+"@"+a.Name, v, w.Values, 8*a.Type.Size)
	}
}

func TestErrors(t *testing.T) {
	f, _ := openFixture(t, "latest")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Dataset("weights/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing dataset: %v, want ErrNotFound", err)
	}
	if _, err := root.Attr("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing attribute: %v, want ErrNotFound", err)
	}
	if _, err := root.Dataset("soft/scalar"); err == nil || !strings.Contains(err.Error(), "soft link") {
		t.Errorf("soft link: %v, want an error naming the soft link", err)
	}
	if _, err := root.Dataset("weights"); err == nil {
		t.Error("a group opened as a dataset")
	}
	if _, err := Open(filepath.Join("testdata", "make_fixtures.py")); !errors.Is(err, ErrNotHDF5) {
		t.Errorf("not HDF5: %v", err)
	}
}

// TestTruncated opens every prefix length of a fixture at a coarse step and reads everything:
// damaged files must give errors, never panics.
func TestTruncated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "latest.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n += 997 {
		f, err := NewFile(strings.NewReader(string(data[:n])), int64(n))
		if err != nil {
			continue
		}
		readAll(f)
	}
}

// readAll reads every object, attribute and dataset reachable from the root, ignoring errors.
func readAll(f *File) {
	root, err := f.Root()
	if err != nil {
		return
	}
	var walk func(g *Group, depth int)
	walk = func(g *Group, depth int) {
		if depth > 8 {
			return
		}
		g.Attrs()
		names, _ := g.Names()
		for _, n := range names {
			if isGroup, err := g.IsGroup(n); err == nil && isGroup {
				if sub, err := g.Group(n); err == nil {
					walk(sub, depth+1)
				}
				continue
			}
			if d, err := g.Dataset(n); err == nil {
				d.Attrs()
				d.Raw()
				d.Strings()
			}
		}
	}
	walk(root, 0)
}

// TestHalfToFloat32 checks every half-precision bit pattern against the formula of the
// IEEE 754 binary16 format.
func TestHalfToFloat32(t *testing.T) {
	for h := range 1 << 16 {
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(1)
		case exp == 0x1f:
			if v := halfToFloat32(uint16(h)); v == v {
				t.Fatalf("half %#04x = %v, want NaN", h, v)
			}
			continue
		case exp == 0:
			want = math.Ldexp(float64(mant)/1024, -14)
		default:
			want = math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		if sign == 1 {
			want = -want
		}
		if got := halfToFloat32(uint16(h)); float64(got) != want {
			t.Fatalf("half %#04x = %v, want %v", h, got, want)
		}
	}
}
