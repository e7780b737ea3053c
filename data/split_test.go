package data

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCounts(t *testing.T) {
	tao := DefaultRatios
	cases := []struct {
		n    int
		r    Ratios
		want [3]int
	}{
		{0, tao, [3]int{0, 0, 0}},
		{1, tao, [3]int{1, 0, 0}},
		{2, tao, [3]int{1, 0, 1}}, // test (0.2) is served before val (0.1)
		{3, tao, [3]int{1, 1, 1}},
		{4, tao, [3]int{2, 1, 1}},
		{10, tao, [3]int{7, 1, 2}},
		{11, tao, [3]int{8, 1, 2}}, // 7.7 1.1 2.2: the leftover goes to the largest fraction (train)
		{13, tao, [3]int{9, 1, 3}}, // 9.1 1.3 2.6
		{1000, tao, [3]int{700, 100, 200}},
		{10, Ratios{0.8, 0, 0.2}, [3]int{8, 0, 2}},
		{1, Ratios{0.8, 0, 0.2}, [3]int{1, 0, 0}},
		{3, Ratios{1, 0, 0}, [3]int{3, 0, 0}},
		{5, Ratios{1.0 / 3, 1.0 / 3, 1.0 / 3}, [3]int{2, 2, 1}},
	}
	for _, c := range cases {
		got := SplitCounts(c.n, c.r)
		if got != c.want {
			t.Errorf("SplitCounts(%d, %v) = %v, want %v", c.n, c.r, got, c.want)
		}
	}
	for n := range 200 { // every item is placed exactly once
		c := SplitCounts(n, tao)
		if c[0]+c[1]+c[2] != n {
			t.Fatalf("n=%d: counts %v do not add up", n, c)
		}
	}
}

func TestRatiosValidate(t *testing.T) {
	for _, bad := range []Ratios{{0.7, 0.1, 0.1}, {0, 0.5, 0.5}, {1.2, -0.1, -0.1}, {0.5, 0.6, -0.1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if err := (Ratios{0.8, 0.2, 0}).Validate(); err != nil {
		t.Errorf("0.8/0.2/0: %v", err)
	}
}

// The shuffle is part of the package, so a seed gives a fixed split; this pins it.
func TestAssignSplitsIsPinned(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	got := assignSplits(items, DefaultRatios, 42, "cat")
	again := assignSplits([]string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"}, DefaultRatios, 42, "cat")
	if !reflect.DeepEqual(got, again) {
		t.Fatalf("input order changed the split: %v vs %v", got, again)
	}
	other := assignSplits(items, DefaultRatios, 7, "cat")
	if reflect.DeepEqual(got, other) {
		t.Fatalf("seeds 42 and 7 gave the same split %v", got)
	}
	if len(got[0]) != 7 || len(got[1]) != 1 || len(got[2]) != 2 {
		t.Fatalf("sizes %d/%d/%d", len(got[0]), len(got[1]), len(got[2]))
	}
}

func TestRNGIntnUniform(t *testing.T) {
	r := newRNG(1, "x")
	var hist [6]int
	for range 60000 {
		hist[r.intn(6)]++
	}
	for i, h := range hist {
		if h < 9500 || h > 10500 {
			t.Fatalf("bucket %d has %d of 60000 draws: %v", i, h, hist)
		}
	}
}

func TestSplitFolderReproducible(t *testing.T) {
	in := makeClasses(t, map[string]int{"cat": 20, "dog": 13, "emu": 2})
	out := t.TempDir()
	run := func(name string, seed int64) []string {
		res, err := SplitFolder(SplitOptions{In: in, Out: filepath.Join(out, name), Ratios: DefaultRatios, Seed: seed, Link: Copy})
		if err != nil {
			t.Fatal(err)
		}
		if res.AlreadyDone {
			t.Fatalf("%s: fresh output reported as already done", name)
		}
		return listTree(t, filepath.Join(out, name))
	}
	a, b, c := run("a", 42), run("b", 42), run("c", 43)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different file lists")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same file lists")
	}
	m, err := ReadManifest(filepath.Join(out, "a"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		"train": {"cat": 14, "dog": 9, "emu": 1},
		"val":   {"cat": 2, "dog": 1},
		"test":  {"cat": 4, "dog": 3, "emu": 1},
	}
	if !reflect.DeepEqual(m.Counts, want) {
		t.Fatalf("counts %v, want %v", m.Counts, want)
	}
	if n := len(a); n != 35 {
		t.Fatalf("%d files, want 35", n)
	}
	if _, err := os.Stat(filepath.Join(out, "a", "val", "emu")); err == nil {
		t.Fatal("val/emu exists although emu has only 2 images")
	}
}

func TestSplitFolderHardLinks(t *testing.T) {
	in := makeClasses(t, map[string]int{"cat": 3, "dog": 3})
	out := filepath.Join(t.TempDir(), "split")
	res, err := SplitFolder(SplitOptions{In: in, Out: out, Ratios: DefaultRatios, Seed: 1, Link: HardLink})
	if err != nil {
		t.Fatal(err)
	}
	files := listTree(t, out)
	src, _ := os.Stat(filepath.Join(in, "cat", "img000.jpg"))
	linked := false
	for _, f := range files {
		if strings.HasSuffix(f, "cat/img000.jpg") {
			dst, _ := os.Stat(filepath.Join(out, f))
			linked = os.SameFile(src, dst)
		}
	}
	if !linked && len(res.Notes) == 0 {
		t.Fatal("file is neither hard-linked nor reported as copied")
	}
}

func TestSplitFolderRerunAndRefuse(t *testing.T) {
	in := makeClasses(t, map[string]int{"cat": 5, "dog": 5})
	out := filepath.Join(t.TempDir(), "split")
	opts := SplitOptions{In: in, Out: out, Ratios: DefaultRatios, Seed: 42, Link: Copy}
	if _, err := SplitFolder(opts); err != nil {
		t.Fatal(err)
	}
	first := listTree(t, out)
	res, err := SplitFolder(opts)
	if err != nil || !res.AlreadyDone {
		t.Fatalf("rerun: err %v, already done %v", err, res != nil && res.AlreadyDone)
	}
	opts.Seed = 7
	_, err = SplitFolder(opts)
	if err == nil || !errors.Is(err, ErrOutputDiffers) || !strings.Contains(err.Error(), "seed: was 42, now 7") {
		t.Fatalf("different seed: error %v", err)
	}
	if !reflect.DeepEqual(listTree(t, out), first) {
		t.Fatal("a refused run changed the output")
	}
	opts.Force = true
	if _, err := SplitFolder(opts); err != nil {
		t.Fatal(err)
	}
	m, _ := ReadManifest(out)
	if m.Inputs["seed"] != float64(7) {
		t.Fatalf("forced rebuild has seed %v", m.Inputs["seed"])
	}
	// A changed source is a different input too.
	os.WriteFile(filepath.Join(in, "cat", "new.jpg"), []byte("new"), 0o644)
	opts.Force = false
	if _, err := SplitFolder(opts); err == nil || !strings.Contains(err.Error(), "source") {
		t.Fatalf("changed source: error %v", err)
	}
	if leftovers, _ := filepath.Glob(out + ".*"); len(leftovers) != 0 {
		t.Fatalf("leftovers %v", leftovers)
	}
}

func TestSplitFolderRefusesForeignFolder(t *testing.T) {
	in := makeClasses(t, map[string]int{"cat": 2, "dog": 2})
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "precious.txt"), []byte("keep"), 0o644)
	for _, force := range []bool{false, true} {
		_, err := SplitFolder(SplitOptions{In: in, Out: out, Ratios: DefaultRatios, Link: Copy, Force: force})
		if err == nil || !strings.Contains(err.Error(), "not made by bonsai") {
			t.Fatalf("force=%v: error %v", force, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "precious.txt")); err != nil {
		t.Fatal("foreign file removed")
	}
	_, err := SplitFolder(SplitOptions{In: in, Out: filepath.Join(in, "split"), Ratios: DefaultRatios, Link: Copy})
	if err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("output inside input: error %v", err)
	}
}

func TestInterruptedRunIsCleanedUp(t *testing.T) {
	in := makeClasses(t, map[string]int{"cat": 4, "dog": 4})
	out := filepath.Join(t.TempDir(), "split")
	// An interrupted run of a process that is gone: a half-written temporary folder.
	stale := out + ".tmp-999999999"
	os.MkdirAll(filepath.Join(stale, "train", "cat"), 0o755)
	os.WriteFile(filepath.Join(stale, partialMarker), nil, 0o644)
	os.WriteFile(filepath.Join(stale, "train", "cat", "half.jpg"), []byte("x"), 0o644)
	// A user's folder that merely looks like a leftover is left alone.
	userDir := out + ".old-999999998"
	os.MkdirAll(userDir, 0o755)
	os.WriteFile(filepath.Join(userDir, "mine.txt"), []byte("keep"), 0o644)
	res, err := SplitFolder(SplitOptions{In: in, Out: out, Ratios: DefaultRatios, Seed: 3, Link: Copy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale %s still there (%v)", stale, err)
	}
	if _, err := os.Stat(filepath.Join(userDir, "mine.txt")); err != nil {
		t.Fatalf("a user folder next to the output was removed: %v", err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "interrupted") {
		t.Fatalf("notes %v do not mention the cleanup", res.Notes)
	}
	for _, f := range listTree(t, out) {
		if strings.Contains(f, "half") {
			t.Fatalf("output holds %s from the interrupted run", f)
		}
	}
	if len(listTree(t, out)) != 8 {
		t.Fatalf("files %v", listTree(t, out))
	}
	// An output folder without its manifest (never committed) is refused, not trusted.
	os.Remove(filepath.Join(out, ManifestName))
	if _, err := SplitFolder(SplitOptions{In: in, Out: out, Ratios: DefaultRatios, Seed: 3, Link: Copy}); err == nil {
		t.Fatal("an output without manifest was accepted")
	}
}
