package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// ManifestName is the file that marks a complete output folder.
const ManifestName = ".bonsai-dataset.json"

// partialMarker marks a temporary output folder, so that only bonsai's own leftovers are removed.
const partialMarker = ".bonsai-partial"

// Manifest records how an output folder was made and what it holds.
type Manifest struct {
	Format  int                       `json:"format"`
	Command string                    `json:"command"`
	Inputs  map[string]any            `json:"inputs"`
	Counts  map[string]map[string]int `json:"counts"`           // split (or "all", "formatted") -> class -> images
	Images  map[string]int            `json:"images,omitempty"` // split -> unique images (VOC)
	Skipped map[string]int            `json:"skipped,omitempty"`
	Created string                    `json:"created"`
}

// Result is what a dataset command did.
type Result struct {
	Dir         string
	Manifest    *Manifest
	AlreadyDone bool     // the output existed with the same inputs; nothing was written
	Notes       []string // things the user should know (fallbacks, tiny classes, cleanups)
}

// ErrOutputDiffers is returned when an output folder holds the result of other inputs: the
// caller may replace it (force) or choose another folder.
var ErrOutputDiffers = errors.New("replace it or choose another output folder")

func (r *Result) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// ReadManifest reads DIR/.bonsai-dataset.json.
func ReadManifest(dir string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return &m, nil
}

// build is an output folder under construction in a temporary sibling.
type build struct {
	final, tmp string
	replace    bool // final exists and is replaced on commit
}

// beginOutput decides whether dir must be (re)built and, if so, creates its temporary sibling.
// It returns a nil build when dir is already complete with the same inputs.
func beginOutput(dir, command string, inputs map[string]any, force bool, res *Result) (*build, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", dir, err)
	}
	res.Dir = abs
	removeLeftovers(abs, res)
	replace, done, err := checkExisting(abs, command, inputs, force)
	if err != nil || done != nil {
		res.Manifest, res.AlreadyDone = done, done != nil
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("creating parent of %s: %w", abs, err)
	}
	b := &build{final: abs, tmp: fmt.Sprintf("%s.tmp-%d", abs, os.Getpid()), replace: replace}
	if err := os.RemoveAll(b.tmp); err != nil {
		return nil, fmt.Errorf("removing %s: %w", b.tmp, err)
	}
	if err := os.Mkdir(b.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", b.tmp, err)
	}
	if err := os.WriteFile(filepath.Join(b.tmp, partialMarker), nil, 0o644); err != nil {
		b.abort()
		return nil, fmt.Errorf("creating %s: %w", b.tmp, err)
	}
	return b, nil
}

// checkExisting looks at an existing output folder. It returns its manifest when it is complete
// with the same inputs, replace=true when it must be replaced (force), or an error.
func checkExisting(dir, command string, inputs map[string]any, force bool) (replace bool, done *Manifest, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("output %s exists but cannot be read: %w", dir, err)
	}
	old, err := ReadManifest(dir)
	if err != nil {
		if len(entries) == 0 {
			return true, nil, nil
		}
		return false, nil, fmt.Errorf("output %s already exists and was not made by bonsai (no %s); choose another output folder or remove it yourself", dir, ManifestName)
	}
	if old.Command == command && reflect.DeepEqual(old.Inputs, normalize(inputs)) && !force {
		return false, old, nil
	}
	if !force {
		return false, nil, fmt.Errorf("output %s was made by %q with different inputs (%s): %w", dir, old.Command, describeDiff(old.Inputs, normalize(inputs)), ErrOutputDiffers)
	}
	return true, nil, nil
}

// normalize round-trips inputs through JSON so they compare equal to a manifest read from disk.
func normalize(inputs map[string]any) map[string]any {
	raw, err := json.Marshal(inputs)
	if err != nil {
		panic(fmt.Sprintf("data: inputs not JSON-encodable: %v", err)) // programming error
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func describeDiff(old, cur map[string]any) string {
	var diffs []string
	keys := map[string]any{}
	for k := range old {
		keys[k] = nil
	}
	for k := range cur {
		keys[k] = nil
	}
	for _, k := range sortedKeys(keys) {
		if !reflect.DeepEqual(old[k], cur[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: was %s, now %s", k, short(old[k]), short(cur[k])))
		}
	}
	if len(diffs) == 0 {
		return "a different command"
	}
	return strings.Join(diffs, "; ")
}

func short(v any) string {
	if v == nil {
		return "unset"
	}
	raw, _ := json.Marshal(v)
	s := string(raw)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// removeLeftovers deletes DIR.tmp-<pid> and DIR.old-<pid> siblings whose process has gone.
func removeLeftovers(dir string, res *Result) {
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := leftoverPID(e.Name(), base)
		path := filepath.Join(parent, e.Name())
		if !ok || (pid != os.Getpid() && processAlive(pid)) || !madeByBonsai(path) {
			continue
		}
		if err := os.RemoveAll(path); err == nil {
			res.notef("removed %s left by an interrupted run", path)
		}
	}
}

func madeByBonsai(dir string) bool {
	for _, name := range []string{partialMarker, ManifestName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

func leftoverPID(name, base string) (int, bool) {
	for _, infix := range []string{".tmp-", ".old-"} {
		if rest, ok := strings.CutPrefix(name, base+infix); ok {
			pid, err := strconv.Atoi(rest)
			return pid, err == nil && pid > 0
		}
	}
	return 0, false
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// commit writes the manifest into the temporary folder and moves it into place.
func (b *build) commit(m *Manifest) error {
	m.Format = 1
	m.Inputs = normalize(m.Inputs)
	m.Created = time.Now().UTC().Format(time.RFC3339)
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(b.tmp, ManifestName), append(raw, '\n')); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(b.tmp, partialMarker)); err != nil {
		return fmt.Errorf("finishing %s: %w", b.tmp, err)
	}
	if b.replace && exchange(b.tmp, b.final) {
		return os.RemoveAll(b.tmp) // now holds the previous output
	}
	if b.replace {
		// Two renames: if interrupted in between, the next run removes both leftovers.
		old := fmt.Sprintf("%s.old-%d", b.final, os.Getpid())
		if err := os.Rename(b.final, old); err != nil {
			return fmt.Errorf("moving the previous %s aside: %w", b.final, err)
		}
		if err := os.Rename(b.tmp, b.final); err != nil {
			os.Rename(old, b.final)
			return fmt.Errorf("moving %s into place: %w", b.tmp, err)
		}
		return os.RemoveAll(old)
	}
	if err := os.Rename(b.tmp, b.final); err != nil {
		return fmt.Errorf("moving %s into place: %w", b.tmp, err)
	}
	return nil
}

// abort removes the temporary folder.
func (b *build) abort() { os.RemoveAll(b.tmp) }

// LinkMode says how files are placed in an output folder.
type LinkMode string

// Link modes.
const (
	HardLink LinkMode = "hardlink"
	Copy     LinkMode = "copy"
)

// ParseLinkMode checks a --link value.
func ParseLinkMode(s string) (LinkMode, error) {
	switch LinkMode(s) {
	case HardLink, Copy:
		return LinkMode(s), nil
	}
	return "", fmt.Errorf("unknown link mode %q (want hardlink or copy)", s)
}

// placer puts files into the output, hard linking when asked and falling back to copying.
type placer struct {
	mode     LinkMode
	fellBack string // why hard links were given up, if they were
}

func (p *placer) place(src, dst string) error {
	if p.mode == HardLink && p.fellBack == "" {
		err := os.Link(src, dst)
		if err == nil {
			return nil
		}
		if _, statErr := os.Stat(src); statErr != nil {
			return fmt.Errorf("reading %s: %w", src, statErr)
		}
		p.fellBack = linkFailure(err)
	}
	return copyFile(src, dst)
}

func linkFailure(err error) string {
	switch {
	case errors.Is(err, syscall.EXDEV):
		return "the output is on another device than the source"
	case errors.Is(err, syscall.EPERM):
		return "the file system or its settings (e.g. fs.protected_hardlinks) refused a hard link"
	}
	return err.Error()
}

func (p *placer) note(res *Result) {
	if p.fellBack != "" {
		res.notef("hard links were not possible (%s); files were copied instead", p.fellBack)
	}
}

func copyFile(src, dst string) error {
	in, err := openRegular(src, "image")
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// fingerprint hashes lines that describe the source (names, sizes, labels).
type fingerprint struct{ h hashWriter }

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newFingerprint() *fingerprint { return &fingerprint{h: sha256.New()} }

func (f *fingerprint) add(fields ...any) {
	fmt.Fprintln(f.h, fields...)
}

func (f *fingerprint) String() string { return hex.EncodeToString(f.h.Sum(nil))[:16] }

// checkNotInside refuses an output folder that is, holds, or lies inside the source folder.
func checkNotInside(src, out string) error {
	a, err1 := filepath.Abs(src)
	b, err2 := filepath.Abs(out)
	if err1 != nil || err2 != nil {
		return nil
	}
	if a == b || strings.HasPrefix(b, a+string(filepath.Separator)) || strings.HasPrefix(a, b+string(filepath.Separator)) {
		return fmt.Errorf("the output %s overlaps the input %s; choose an output folder outside it", out, src)
	}
	return nil
}
