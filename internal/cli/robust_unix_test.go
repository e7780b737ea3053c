//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/results"
)

// TestInterruptBeforeFirstEpoch: Ctrl-C during epoch 1 exits 130 and does not suggest
// --resume, since no checkpoint exists.
func TestInterruptBeforeFirstEpoch(t *testing.T) {
	_, specPath := tinyProject(t, 1)
	dir := filepath.Join(t.TempDir(), "results")
	atomicfile.SetTestHook(func(stage, path string) {
		if stage == atomicfile.StageAppended && strings.HasSuffix(path, results.StatusFile) {
			atomicfile.SetTestHook(nil)
			syscall.Kill(os.Getpid(), syscall.SIGINT)
			time.Sleep(300 * time.Millisecond) // the signal cancels the run's context
		}
	})
	defer atomicfile.SetTestHook(nil)
	code, _, errs := bonsai("classification", "train", "-e", specPath, "-r", dir, "--backend", "go")
	if code != ExitInterrupted || strings.Contains(errs, "--resume") || !strings.Contains(errs, "no checkpoint") {
		t.Errorf("Ctrl-C in epoch 1: exit %d, %s", code, errs)
	}
}

// TestNonRegularInputsRefused: /dev/zero or a FIFO named as spec, model or classmap gives a
// clear error at once (it hung or grew without bound).
func TestNonRegularInputsRefused(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no mkfifo:", err)
	}
	for _, bad := range []string{"/dev/zero", fifo} {
		for _, args := range [][]string{
			{"classification", "train", "-e", bad, "-r", t.TempDir()},
			{"classification", "inference", "-m", bad, "-i", bad},
			{"model", "summary", "-e", bad},
			{"dataset", "idx", "--images", bad, "--labels", bad, "--out", filepath.Join(t.TempDir(), "out")},
		} {
			code, _, errs := bonsai(args...)
			if code == ExitOK || !strings.Contains(errs, "not a regular file") {
				t.Errorf("%v: exit %d, %s", args, code, errs)
			}
		}
	}
}
