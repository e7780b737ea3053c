package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFile is the file in a results folder whose lock a command holds while it writes there.
// It records the holder (pid, command, start time) for the message another command gets.
const LockFile = ".bonsai.lock"

// ErrLocked is returned when another process holds a results folder's lock.
var ErrLocked = errors.New("results folder is in use")

// Lock is a held lock on a results folder. The operating system releases it when the process
// ends, however it ends, so a crash never leaves a folder locked.
type Lock struct {
	f   *os.File
	dir string
}

// LockDir creates dir if needed and takes its lock for command (e.g. "classification train").
// When another process holds it, the error names that process.
func LockDir(dir, command string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating results folder: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking results folder %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("%w: %s is held by %s; wait for it to finish or choose another folder", ErrLocked, dir, holder)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s (bonsai %s, since %s)\n", os.Getpid(), host, command, time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0)
	}
	return &Lock{f: f, dir: dir}, nil
}

// Unlock releases the lock. The lock file stays (removing it would race with a process that
// has just opened it).
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	unlockFile(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
