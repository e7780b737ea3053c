package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockNamesHolder: a second opener of a locked folder fails with the holder's pid, and
// gets the folder once the first lets go.
func TestLockNamesHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := LockDir(dir, "classification train")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir, "classification train")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	second, err := LockDir(dir, "classification evaluate")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	second.Unlock()
}

// TestFreshRunRefusesOtherResults: a fresh run over a folder with a finished epoch is refused;
// Force clears the run's files (and leaves the user's own).
func TestFreshRunRefusesOtherResults(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, WeightsDir), 0o755)
	os.WriteFile(filepath.Join(dir, WeightsDir, "resnet_005.safetensors"), []byte("x"), 0o644)
	WriteTrainingCSV(filepath.Join(dir, TrainingCSV), []Epoch{{Epoch: 1}})
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Open(dir, OpenOptions{Ext: ".safetensors"}); !errors.Is(err, ErrHasResults) {
		t.Fatalf("fresh run over results: %v", err)
	}
	r, err := Open(dir, OpenOptions{Ext: ".safetensors", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if has, _ := HasResults(dir); has {
		t.Error("forced fresh run left the old results")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("forced fresh run removed a file that is not the run's")
	}
	if _, err := Open(dir, OpenOptions{Ext: ".safetensors"}); !errors.Is(err, ErrLocked) {
		t.Errorf("second run while the first holds the folder: %v", err)
	}
}

// TestOpenRepairsTornStatusAndTemps: a status.json line cut by a crash and temporary files of
// interrupted writes are gone after Open.
func TestOpenRepairsTornStatusAndTemps(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, StatusFile), []byte("{\"status\":\"STARTED\"}\n{\"stat"), 0o644)
	os.MkdirAll(filepath.Join(dir, WeightsDir), 0o755)
	tmp := filepath.Join(dir, WeightsDir, ".last.safetensors.tmp123456")
	os.WriteFile(tmp, []byte("partial"), 0o644)
	r, err := Open(dir, OpenOptions{Ext: ".safetensors", Continue: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, StatusFile)); string(b) != "{\"status\":\"STARTED\"}\n" {
		t.Errorf("status.json = %q", b)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("temporary file left")
	}
}
