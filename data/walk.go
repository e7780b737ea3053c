package data

import (
	"fmt"
	"os"
	"strings"
)

// WalkImages lists the .jpg, .jpeg and .png files under dir (any case) in the order TAO's
// inference lists them, which is Python's os.walk: top-down, each folder's files in the order the
// file system returns them (not sorted), then its sub-folders in that order, without following
// links to folders. Paths are joined as os.path.join does (dir as given, one "/" added unless
// it ends with one), so result.csv shows the same path strings as TAO's. Unlike os.walk, an
// unreadable folder is an error rather than silently skipped.
func WalkImages(dir string) ([]string, error) {
	var paths []string
	if err := walkImages(dir, &paths); err != nil {
		return nil, err
	}
	return paths, nil
}

func walkImages(dir string, paths *[]string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("listing images: %w", err)
	}
	entries, err := f.ReadDir(-1) // directory order, as os.scandir
	f.Close()
	if err != nil {
		return fmt.Errorf("listing images in %s: %w", dir, err)
	}
	var subdirs []string
	for _, e := range entries {
		path := pyJoin(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				continue // os.walk lists a link to a folder as a folder and does not enter it
			}
		}
		switch {
		case isDir:
			subdirs = append(subdirs, path)
		case pyHasImageExt(e.Name()):
			*paths = append(*paths, path)
		}
	}
	for _, d := range subdirs {
		if err := walkImages(d, paths); err != nil {
			return err
		}
	}
	return nil
}

// pyJoin is os.path.join(dir, name) for a relative name.
func pyJoin(dir, name string) string {
	if dir == "" || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// pyHasImageExt is os.path.splitext(name)[1].lower() in ('.jpg', '.jpeg', '.png'): the leading
// dots of a name are not an extension (".png" has none).
func pyHasImageExt(name string) bool {
	trimmed := strings.TrimLeft(name, ".")
	if !strings.Contains(trimmed, ".") {
		return false
	}
	return IsImageFile(trimmed)
}
