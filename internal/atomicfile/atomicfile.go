// Package atomicfile writes files that matter (checkpoints, manifests, logs, reports) so that a
// crash never leaves a partial file: a temporary file in the same folder, synced, then renamed.
// A crash can leave the temporary file behind: IsTemp recognises its name, so that the owner
// of a folder can remove leftovers.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Stages of a write, as the test hook sees them.
const (
	StageTempWritten = "temp-written" // the temporary file is complete and synced, not renamed
	StageRenamed     = "renamed"      // the new contents are in place
	StageAppended    = "appended"     // Append's line is written
)

// testHook, when set, is called at every stage of every write; tests use it to stop a run
// at a chosen write (as a crash would) by panicking.
var testHook func(stage, path string)

// SetTestHook installs f as the hook called at each write stage (nil removes it). For tests
// that simulate a crash at every write boundary; never set in production.
func SetTestHook(f func(stage, path string)) { testHook = f }

func hook(stage, path string) {
	if testHook != nil {
		testHook(stage, path)
	}
}

// tempPattern matches the names of Write's temporary files: "." + base + ".tmp" + digits.
var tempPattern = regexp.MustCompile(`^\..+\.tmp[0-9]+$`)

// IsTemp reports whether name (a base name) is a temporary file left by an interrupted Write.
func IsTemp(name string) bool { return tempPattern.MatchString(name) }

// RemoveTemps removes the temporary files left in dir by interrupted writes and returns how
// many it removed. Only the folder's owner may call it (another writer's temporary file would
// vanish under it).
func RemoveTemps(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("listing %s: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() && IsTemp(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return n, fmt.Errorf("removing leftover %s: %w", e.Name(), err)
			}
			n++
		}
	}
	return n, nil
}

// Write writes a file so that path holds either its old contents or the complete new
// ones, never a partial file: write fills a temporary file in the same folder, which is synced
// and renamed over path. If write fails, the temporary file is removed and path is untouched.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	hook(StageTempWritten, path)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	hook(StageRenamed, path)
	return nil
}

// Append adds data to the end of the file at path (created if missing) in one write call, so
// that lines of a log are never interleaved with another writer's; a crash can still leave a
// partial last line, which readers must tolerate.
func Append(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	hook(StageAppended, path)
	return nil
}

// WriteBytes writes data atomically, as Write does.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes a rename durable; it is best effort since some file systems refuse it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
