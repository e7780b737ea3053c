//go:build unix

package readfile

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

func TestFIFORefused(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no mkfifo:", err)
	}
	if _, err := Read(fifo, "image", 0); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a FIFO: %v", err)
	}
}
