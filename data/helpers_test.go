package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedData returns ../shared/data (relative to the repository root) or skips the test.
func sharedData(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (shared test data not installed); skipping", p)
	}
	return p
}

// makeClasses writes a folder-per-class dataset: class -> number of files (distinct contents).
func makeClasses(t *testing.T, counts map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	for class, n := range counts {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			name := filepath.Join(dir, class, fmt.Sprintf("img%03d.jpg", i))
			if err := os.WriteFile(name, []byte(class+name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// listTree returns "split/class/name" for every file under dir except the manifest.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() && info.Name() != ManifestName {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// splitsOf maps a key (file name, or content hash) to the set of splits it appears in.
func splitsOf(t *testing.T, dir string, byContent bool) map[string]map[string]bool {
	t.Helper()
	where := map[string]map[string]bool{}
	for _, rel := range listTree(t, dir) {
		parts := strings.Split(rel, "/")
		if len(parts) != 3 || parts[0] == "formatted" {
			continue
		}
		key := parts[2]
		if byContent {
			raw, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			key = hex.EncodeToString(sum[:])
		}
		if where[key] == nil {
			where[key] = map[string]bool{}
		}
		where[key][parts[0]] = true
	}
	return where
}

func leaks(where map[string]map[string]bool) []string {
	var out []string
	for k, splits := range where {
		if len(splits) > 1 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
