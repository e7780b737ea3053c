package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/readfile"
)

// Dataset is a folder-per-class image dataset.
type Dataset struct {
	Root    string   // the folder given to Open
	Classes []string // class names; the index is the label
	Samples []Sample // sorted by label, then by path
	Ignored []string // sub-folders not named by the classmap passed to Open
}

// Sample is one image file and its label.
type Sample struct {
	Path  string
	Label int
}

// Counts returns the number of images per class, indexed by label.
func (d *Dataset) Counts() []int {
	counts := make([]int, len(d.Classes))
	for _, s := range d.Samples {
		counts[s.Label]++
	}
	return counts
}

// IsImageFile reports whether name has a .jpg, .jpeg or .png extension (any case).
func IsImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// Open lists the images of the folder-per-class dataset in dir. With a nil classmap the classes
// are the sub-folders in alphabetical order; otherwise the classmap gives the order, each class
// it names must have a folder, and other folders are ignored.
func Open(dir string, classmap map[string]int) (*Dataset, error) {
	folders, err := classFolders(dir)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Root: dir}
	if classmap == nil {
		for _, f := range folders {
			if err := ValidClassName(f); err != nil {
				return nil, fmt.Errorf("class folder %s: %w; rename the folder", filepath.Join(dir, f), err)
			}
		}
		d.Classes = folders
	} else {
		if d.Classes, err = ClassesFromMap(classmap); err != nil {
			return nil, fmt.Errorf("classmap for %s: %w", dir, err)
		}
		d.Ignored, err = matchClassmap(dir, folders, d.Classes)
		if err != nil {
			return nil, err
		}
	}
	if len(d.Classes) == 0 {
		return nil, fmt.Errorf("%s has no class sub-folders: expected one folder per class (e.g. %s)", dir, filepath.Join(dir, "cat", "001.jpg"))
	}
	for label, class := range d.Classes {
		files, err := imageFiles(filepath.Join(dir, class))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("class %q is empty: %s has no .jpg/.jpeg/.png images; add images or remove the folder", class, filepath.Join(dir, class))
		}
		for _, f := range files {
			d.Samples = append(d.Samples, Sample{Path: f, Label: label})
		}
	}
	if len(d.Classes) < 2 {
		return nil, fmt.Errorf("%s has only 1 class (%s): classification needs at least 2 class folders", dir, d.Classes[0])
	}
	return d, nil
}

// classFolders returns the sorted names of dir's sub-folders (hidden ones skipped).
func classFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, missingFolder(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("reading dataset folder %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isDir(filepath.Join(dir, e.Name()), e) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// missingFolder is the error for a dataset folder that does not exist; it matches
// fs.ErrNotExist.
type missingFolder string

func (m missingFolder) Error() string {
	return fmt.Sprintf("dataset folder %s does not exist", string(m))
}
func (m missingFolder) Unwrap() error { return fs.ErrNotExist }

// isDir follows symbolic links.
func isDir(path string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func matchClassmap(dir string, folders, classes []string) (ignored []string, err error) {
	want := map[string]bool{}
	for _, c := range classes {
		want[c] = true
	}
	have := map[string]bool{}
	for _, f := range folders {
		have[f] = true
		if !want[f] {
			ignored = append(ignored, f)
		}
	}
	for _, c := range classes {
		if !have[c] {
			return nil, fmt.Errorf("the classmap names class %q but %s has no folder %s", c, dir, filepath.Join(dir, c))
		}
	}
	return ignored, nil
}

// imageFiles returns the sorted image paths directly inside dir.
func imageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading class folder %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !IsImageFile(e.Name()) {
			continue
		}
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	return files, nil
}

// CheckSameClasses checks that the datasets hold the same classes in the same order. val and
// test may be nil (not used).
func CheckSameClasses(train, val, test *Dataset) error {
	if train == nil {
		return errors.New("CheckSameClasses: no train dataset")
	}
	for _, other := range []struct {
		name string
		d    *Dataset
	}{{"val", val}, {"test", test}} {
		if other.d == nil {
			continue
		}
		if err := compareClasses("train", train, other.name, other.d); err != nil {
			return err
		}
	}
	return nil
}

func compareClasses(aName string, a *Dataset, bName string, b *Dataset) error {
	inB := map[string]bool{}
	for _, c := range b.Classes {
		inB[c] = true
	}
	inA := map[string]bool{}
	for _, c := range a.Classes {
		inA[c] = true
		if !inB[c] {
			return fmt.Errorf("class %q is in %s (%s) but missing from %s (%s)", c, aName, a.Root, bName, b.Root)
		}
	}
	for _, c := range b.Classes {
		if !inA[c] {
			return fmt.Errorf("class %q is in %s (%s) but missing from %s (%s)", c, bName, b.Root, aName, a.Root)
		}
	}
	for i := range a.Classes {
		if a.Classes[i] != b.Classes[i] {
			return fmt.Errorf("%s and %s list the same classes in a different order (%q vs %q at index %d); use the same classmap for both", aName, bName, a.Classes[i], b.Classes[i], i)
		}
	}
	return nil
}

// openRegular opens a file for reading after checking that it is a regular file (a FIFO
// would block the open, a device never end).
func openRegular(path, what string) (*os.File, error) {
	if _, err := readfile.Check(path, what, 0); err != nil {
		return nil, err
	}
	return os.Open(path)
}
