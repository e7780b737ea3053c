package sysmem

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMemAvailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(path, []byte("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n"), 0o644)
	if got, ok := memAvailable(path); !ok || got != 8000000*1024 {
		t.Errorf("memAvailable = %d, %v", got, ok)
	}
	if _, ok := memAvailable(filepath.Join(t.TempDir(), "none")); ok {
		t.Error("a missing file gave an amount")
	}
}
