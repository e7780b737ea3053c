package data

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// walkTree writes files in several folders, in a creation order unlike the sorted one, plus
// names os.walk's filter rejects (".png" has no extension to Python, notes.txt is no image).
func walkTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range []string{"z.png", "b/y.JPG", "a.jpeg", "b/c/x.png", "m/q.jpg", "m/.png", "m/notes.txt", "k.png", "b/e.png"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestWalkImagesIsOSWalkOrder compares with Python's own os.walk listing as TAO's inference
// builds it (the order of files within a folder is the file system's, so only Python can say it).
func TestWalkImagesIsOSWalkOrder(t *testing.T) {
	root := walkTree(t)
	got, err := WalkImages(root + "/")
	if err != nil {
		t.Fatal(err)
	}
	py := testutil.Python(t, ".ci/deps/tensorboard.sh", "json")
	script := `import json, os, sys
ext = ['.jpg', '.jpeg', '.png']
print(json.dumps([os.path.join(r, f) for r, _, fs in os.walk(sys.argv[1]) for f in fs if os.path.splitext(f)[1].lower() in ext]))`
	out, err := exec.Command(py, "-c", script, root+"/").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("WalkImages\n%q\nos.walk\n%q", got, want)
	}
}

// TestWalkImagesStructure checks what holds on any file system: a folder's files come before its
// sub-folders' files, paths are joined as os.path.join does, and the filter is Python's.
func TestWalkImagesStructure(t *testing.T) {
	root := walkTree(t)
	got, err := WalkImages(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{root + "/a.jpeg", root + "/k.png", root + "/z.png"}
	top := slices.Clone(got[:3])
	slices.Sort(top)
	if !slices.Equal(top, want) || len(got) != 7 {
		t.Fatalf("WalkImages = %q", got)
	}
	c := slices.Index(got, root+"/b/c/x.png")
	for _, p := range []string{root + "/b/y.JPG", root + "/b/e.png"} {
		if i := slices.Index(got, p); i < 0 || i > c {
			t.Errorf("%s listed after the sub-folder's file (or missing): %q", p, got)
		}
	}
	if _, err := WalkImages(filepath.Join(root, "absent")); err == nil {
		t.Error("a missing folder gave no error")
	}
}
