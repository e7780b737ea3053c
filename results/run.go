package results

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// A training run's results folder is crash-consistent: an epoch is finished when its row is
// in training.csv, and the files of an epoch are written in an order that lets Open repair
// any moment of death:
//
//  1. weights/<arch>_NNN (weights only; every CheckpointInterval epochs and the last one),
//  2. weights/last (with the optimizer state, and the epoch's row in its metadata),
//  3. weights/best (weights only) when the epoch is the best so far,
//  4. training.csv with the epoch's row: the commit.
//
// Opening a folder to continue a run (--resume, --init_epoch) takes last as the truth: its row
// replaces or extends training.csv (a death between 2 and 4 loses no epoch), best is rewritten
// from last when last is the best row but best is older, epoch checkpoints after last are
// removed, and so are the temporary files of interrupted writes and a torn status.json line.
// Every run holds the folder's lock (LockFile) from Open to Close.

// ErrHasResults is returned when a fresh run is started in a folder holding another run's
// results.
var ErrHasResults = errors.New("the results folder holds another run's results")

// Run is a results folder opened by a training run.
type Run struct {
	Dir, Ext string
	// History is the committed epochs in order (after repair), for a continued run; nil for a
	// fresh one.
	History []Epoch
	// Notes says what Open repaired, one line each.
	Notes []string
	lock  *Lock
}

// Checkpoints is how Open reads and writes the run's checkpoint files, whose format and key
// it does not know.
type Checkpoints interface {
	// Row returns the epoch row recorded in the checkpoint at path (an error wrapping
	// os.ErrNotExist when there is no file).
	Row(path string) (Epoch, error)
	// CopyWeights writes the checkpoint at from to to, without optimizer state.
	CopyWeights(from, to string) error
}

// OpenOptions says how a run uses its folder.
type OpenOptions struct {
	Command string // for the lock's holder line, e.g. "classification train"
	Ext     string // checkpoint extension
	// Continue keeps the committed epochs (--resume, --init_epoch) after repairing the folder;
	// otherwise the run is fresh, and a folder holding a finished epoch is refused unless
	// Force is set, which clears it.
	Continue bool
	Force    bool
	// Checkpoints reads last and rewrites best when continuing (nil: training.csv is taken
	// as it is).
	Checkpoints Checkpoints
}

// Open locks dir and prepares it for a run (see the package comment on crash consistency).
func Open(dir string, o OpenOptions) (*Run, error) {
	lock, err := LockDir(dir, o.Command)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Ext: o.Ext, lock: lock}
	if err := r.prepare(o); err != nil {
		lock.Unlock()
		return nil, err
	}
	return r, nil
}

// Close releases the folder's lock.
func (r *Run) Close() error { return r.lock.Unlock() }

func (r *Run) prepare(o OpenOptions) error {
	if err := r.removeTemps(); err != nil {
		return err
	}
	if err := repairStatus(filepath.Join(r.Dir, StatusFile)); err != nil {
		return err
	}
	if o.Continue {
		return r.repair(o.Checkpoints)
	}
	has, err := HasResults(r.Dir)
	if err != nil {
		return err
	}
	if has && !o.Force {
		return fmt.Errorf("%s: %w", r.Dir, ErrHasResults)
	}
	if has {
		r.Notes = append(r.Notes, "deleted the previous run's results")
	}
	return Clear(r.Dir) // also what a run that died before its first epoch left
}

// runFiles are the files and folders a training run writes into its results folder.
var runFiles = []string{WeightsDir, TrainingCSV, StatusFile, "results.png", "classmap.json", "events", "report.html"}

// HasResults reports whether dir holds a finished epoch of some run: a training.csv row or a
// checkpoint.
func HasResults(dir string) (bool, error) {
	rows, err := ReadTrainingCSV(filepath.Join(dir, TrainingCSV))
	if err == nil && len(rows) > 0 {
		return true, nil
	}
	entries, err := os.ReadDir(filepath.Join(dir, WeightsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		if !atomicfile.IsTemp(e.Name()) {
			return true, nil
		}
	}
	return false, nil
}

// Clear removes what a training run writes into dir (and nothing else there).
func Clear(dir string) error {
	for _, name := range runFiles {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("clearing %s: %w", dir, err)
		}
	}
	return nil
}

func (r *Run) removeTemps() error {
	n := 0
	for _, d := range []string{r.Dir, filepath.Join(r.Dir, WeightsDir)} {
		k, err := atomicfile.RemoveTemps(d)
		if err != nil {
			return err
		}
		n += k
	}
	if n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("removed %d temporary file(s) left by an interrupted write", n))
	}
	return nil
}

// repairStatus cuts a torn last line off status.json (a crash in the middle of an append).
func repairStatus(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || len(data) == 0 || data[len(data)-1] == '\n' {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	end := 0
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == '\n' {
			end = i + 1
			break
		}
	}
	return atomicfile.WriteBytes(path, data[:end])
}

// repair brings a continued run's folder to its last committed state; see the package comment.
func (r *Run) repair(ck Checkpoints) error {
	rows, err := ReadTrainingCSV(filepath.Join(r.Dir, TrainingCSV))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if ck == nil {
		r.History = rows
		return nil
	}
	last, err := ck.Row(LastPath(r.Dir, r.Ext))
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.History = rows
		return nil
	case err != nil:
		return err
	}
	var kept []Epoch
	for _, row := range rows {
		if row.Epoch < last.Epoch {
			kept = append(kept, row)
		}
	}
	kept = append(kept, last)
	if !slices.EqualFunc(kept, rows, sameRow) {
		if err := WriteTrainingCSV(filepath.Join(r.Dir, TrainingCSV), kept); err != nil {
			return err
		}
		r.Notes = append(r.Notes, fmt.Sprintf("training.csv completed from weights/last (epoch %d)", last.Epoch))
	}
	r.History = kept
	if err := r.repairBest(ck, kept, last.Epoch); err != nil {
		return err
	}
	return r.removeEpochsAfter(last.Epoch)
}

func sameRow(a, b Epoch) bool {
	return a.Epoch == b.Epoch && a.ValAcc == b.ValAcc && a.ValLoss == b.ValLoss
}

// Best is the best row: highest validation accuracy, ties to the lower validation loss, then
// to the earlier epoch. ok is false for no rows.
func Best(rows []Epoch) (best Epoch, ok bool) {
	for _, r := range rows {
		if !ok || Better(r, best) {
			best, ok = r, true
		}
	}
	return best, ok
}

// Better reports whether row a beats row b as the best epoch.
func Better(a, b Epoch) bool {
	return a.ValAcc > b.ValAcc || (a.ValAcc == b.ValAcc && a.ValLoss < b.ValLoss)
}

// repairBest rewrites best from last when last is the best row and best holds another epoch.
func (r *Run) repairBest(ck Checkpoints, rows []Epoch, lastEpoch int) error {
	best, _ := Best(rows)
	path := BestPath(r.Dir, r.Ext)
	cur, err := ck.Row(path)
	if err == nil && cur.Epoch == best.Epoch {
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if best.Epoch != lastEpoch {
		if err == nil {
			r.Notes = append(r.Notes, fmt.Sprintf("weights/best is from epoch %d, which training.csv no longer holds; the best epoch's (%d) checkpoint is gone", cur.Epoch, best.Epoch))
		}
		return nil
	}
	if err := ck.CopyWeights(LastPath(r.Dir, r.Ext), path); err != nil {
		return err
	}
	r.Notes = append(r.Notes, fmt.Sprintf("weights/best rewritten from weights/last (epoch %d)", lastEpoch))
	return nil
}

// epochFile matches weights/<arch>_NNN<ext> and captures NNN.
var epochFile = regexp.MustCompile(`_([0-9]{3,})\.`)

// removeEpochsAfter removes the epoch checkpoints of epochs after last: an epoch that died
// before its commit, or the later epochs of a run restarted at an earlier epoch.
func (r *Run) removeEpochsAfter(last int) error {
	dir := filepath.Join(r.Dir, WeightsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if len(name) <= len(r.Ext) || name[len(name)-len(r.Ext):] != r.Ext {
			continue
		}
		m := epochFile.FindStringSubmatch(name[:len(name)-len(r.Ext)] + ".")
		if m == nil {
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n > last {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("removing %s: %w", name, err)
			}
			r.Notes = append(r.Notes, fmt.Sprintf("removed weights/%s (epoch %d was not finished)", name, n))
		}
	}
	return nil
}

// Commit is one finished epoch.
type Commit struct {
	Row     Epoch
	History []Epoch // every committed row before Row
	IsBest  bool
	// EpochFile asks for weights/<Arch>_NNN this epoch (the checkpoint interval).
	EpochFile bool
	Arch      string
	// Save writes the epoch's checkpoint to path, with the optimizer state or without.
	Save func(path string, withOptimizer bool) error
}

// Commit writes an epoch's checkpoints and then its training.csv row, in the order that keeps
// the folder consistent at any moment of death.
func (r *Run) Commit(c Commit) error {
	if c.EpochFile {
		if err := c.Save(EpochCheckpointPath(r.Dir, c.Arch, c.Row.Epoch, r.Ext), false); err != nil {
			return err
		}
	}
	if err := c.Save(LastPath(r.Dir, r.Ext), true); err != nil {
		return err
	}
	if c.IsBest {
		if err := c.Save(BestPath(r.Dir, r.Ext), false); err != nil {
			return err
		}
	}
	rows := append(slices.Clip(c.History), c.Row)
	slices.SortStableFunc(rows, func(a, b Epoch) int { return cmp.Compare(a.Epoch, b.Epoch) })
	return WriteTrainingCSV(filepath.Join(r.Dir, TrainingCSV), rows)
}

// PrintNotes writes what Open repaired, one line each.
func (r *Run) PrintNotes(w io.Writer) {
	if w == nil {
		return
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "%s: %s\n", r.Dir, n)
	}
}
