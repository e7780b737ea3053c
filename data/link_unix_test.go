//go:build unix

package data

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Hard links cannot cross file systems; the placer must copy and say so. Needs a tmpfs at
// /dev/shm on another device than the test's temporary folder.
func TestHardLinkFallsBackToCopyAcrossDevices(t *testing.T) {
	src, err := os.MkdirTemp("/dev/shm", "bonsai-link-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(src)
	dst := t.TempDir()
	a, _ := os.Stat(src)
	b, _ := os.Stat(dst)
	if sameDevice(a, b) {
		t.Skip("/dev/shm and the temporary folder are on the same device")
	}
	os.WriteFile(filepath.Join(src, "x.jpg"), []byte("pixels"), 0o644)
	p := &placer{mode: HardLink}
	if err := p.place(filepath.Join(src, "x.jpg"), filepath.Join(dst, "x.jpg")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dst, "x.jpg"))
	res := &Result{}
	p.note(res)
	if string(got) != "pixels" || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "another device") {
		t.Fatalf("content %q, notes %v", got, res.Notes)
	}
}

func sameDevice(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev
}
