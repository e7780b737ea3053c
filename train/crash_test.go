package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/results"
)

// crashAt is what the write hook panics with to stop a run as kill -9 would: no error path,
// no cleanup (the deferred removal of a temporary file only runs for a returned error).
type crashAt struct{ n int }

// crashRun runs a 3-epoch training into dir and stops it at the n-th write stage (temporary
// file complete, file renamed into place, status line appended); n <= 0 runs to the end. It
// returns how many write stages the run went through.
func crashRun(t *testing.T, dir, dataDir string, n int, continued bool) (stages int) {
	t.Helper()
	atomicfile.SetTestHook(func(stage, path string) {
		stages++
		if stages == n {
			panic(crashAt{n})
		}
	})
	defer atomicfile.SetTestHook(nil)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crashAt); !ok {
				panic(r)
			}
		}
	}()
	store := &fileStore{meta: modelfile.File{Classmap: map[string]int{"left": 0, "right": 1}}}
	o := baseOptions(t, dir, dataDir, nil)
	o.Save, o.Load, o.Ext, o.CheckpointInterval = store.save, store.load, modelfile.Ext, 2
	o.Plot = func(path string, rows []results.Epoch) error { return atomicfile.WriteBytes(path, []byte("png")) }
	folder, err := results.Open(dir, results.OpenOptions{Ext: o.Ext, Continue: continued, Checkpoints: store})
	if err != nil {
		t.Fatalf("opening %s after a crash at write %d: %v", dir, n, err)
	}
	defer folder.Close()
	o.Results = folder
	if continued {
		ck, err := store.load(results.LastPath(dir, o.Ext))
		switch {
		case errors.Is(err, os.ErrNotExist): // no epoch finished: start over
		case err != nil:
			t.Fatal(err)
		case ck.Epoch == o.Epochs:
			return stages
		default:
			o.InitEpoch, o.Graph, o.Weights, o.Optimizer = ck.Epoch+1, ck.Graph, ck.Weights, ck.Optimizer
		}
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatalf("run (crash at %d, continued %v): %v", n, continued, err)
	}
	return stages
}

// TestCrashAtEveryWriteThenResume stops a run at every write boundary of its three epochs (as
// a kill or a full disk would) and resumes it; every time, the folder must end as an
// uninterrupted run's: one training.csv row per epoch with the same values, best the best
// row, last the last epoch with the same weights, the interval's epoch files and no others,
// no temporary files, and a status.json of whole lines.
func TestCrashAtEveryWriteThenResume(t *testing.T) {
	dataDir := t.TempDir()
	writeImageFolder(t, dataDir, 6, 16, 5)
	ref := t.TempDir()
	total := crashRun(t, ref, dataDir, 0, false)
	if total < 20 {
		t.Fatalf("only %d write stages in a 3-epoch run", total)
	}
	want := readFolder(t, ref)
	if got := strings.Join(want.files, " "); got != "best.safetensors last.safetensors tiny_002.safetensors tiny_003.safetensors" {
		t.Fatalf("checkpoint interval 2 over 3 epochs wrote %s", got)
	}
	for n := 1; n <= total; n++ {
		dir := t.TempDir()
		crashRun(t, dir, dataDir, n, false)
		crashRun(t, dir, dataDir, 0, true)
		got := readFolder(t, dir)
		if msg := got.differs(want); msg != "" {
			t.Errorf("crash at write %d of %d, then --resume: %s", n, total, msg)
		}
	}
}

// folderState is what the invariants compare.
type folderState struct {
	rows       []results.Epoch
	files      []string // under weights/, and temporary files anywhere
	best, last int      // epochs of best and last
	lastW      []float32
	statusOK   bool
}

func readFolder(t *testing.T, dir string) folderState {
	t.Helper()
	var s folderState
	var err error
	if s.rows, err = results.ReadTrainingCSV(filepath.Join(dir, results.TrainingCSV)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, results.WeightsDir)} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if d != dir || atomicfile.IsTemp(e.Name()) {
				s.files = append(s.files, e.Name())
			}
		}
	}
	for path, epoch := range map[string]*int{results.BestPath(dir, modelfile.Ext): &s.best, results.LastPath(dir, modelfile.Ext): &s.last} {
		mf, err := modelfile.Load(path, "")
		if err != nil {
			t.Fatal(err)
		}
		*epoch = mf.Epoch
		if path == results.LastPath(dir, modelfile.Ext) {
			s.lastW = mf.Weights["conv1/kernel"].Data
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, results.StatusFile))
	s.statusOK = len(raw) > 0 && raw[len(raw)-1] == '\n'
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		s.statusOK = s.statusOK && json.Valid(line)
	}
	return s
}

func (s folderState) differs(want folderState) string {
	best, _ := results.Best(s.rows)
	switch {
	case !slices.EqualFunc(s.rows, want.rows, func(a, b results.Epoch) bool { return a == b }):
		return "training.csv rows differ"
	case s.best != best.Epoch || s.best != want.best:
		return "best is not the best row"
	case s.last != want.last || !slices.Equal(s.lastW, want.lastW):
		return "last differs from the uninterrupted run's"
	case !slices.Equal(s.files, want.files):
		return "files " + strings.Join(s.files, " ") + ", want " + strings.Join(want.files, " ")
	case !s.statusOK:
		return "status.json has a torn or invalid line"
	}
	return ""
}
