package readfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spec.cfg")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	if b, err := Read(path, "spec file", 10); err != nil || string(b) != "0123456789" {
		t.Errorf("Read = %q, %v", b, err)
	}
	if _, err := Read(path, "spec file", 9); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := Read(dir, "spec file", 0); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if _, err := Read("/dev/zero", "model file", 0); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
}
