package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// SplitOptions configure SplitFolder.
type SplitOptions struct {
	In, Out string
	Ratios  Ratios
	Seed    int64
	Link    LinkMode
	Force   bool // replace an existing output made with other inputs
}

// SplitFolder splits the folder-per-class dataset In into Out/{train,val,test}/<class>/, per
// class, seeded (see the package doc for the rounding rule).
func SplitFolder(opts SplitOptions) (*Result, error) {
	if err := opts.Ratios.Validate(); err != nil {
		return nil, err
	}
	if err := checkNotInside(opts.In, opts.Out); err != nil {
		return nil, err
	}
	ds, err := Open(opts.In, nil)
	if err != nil {
		return nil, err
	}
	byClass := filesByClass(ds)
	shared := namesInSeveralClasses(byClass)
	inAbs, _ := filepath.Abs(opts.In)
	inputs := map[string]any{
		"in": inAbs, "ratios": opts.Ratios.values(), "seed": opts.Seed, "link": opts.Link,
		"source": sourceFingerprint(ds),
	}
	res := &Result{}
	b, err := beginOutput(opts.Out, "dataset split", inputs, opts.Force, res)
	if b == nil {
		return res, err
	}
	m := &Manifest{Command: "dataset split", Inputs: inputs, Counts: map[string]map[string]int{}}
	p := &placer{mode: opts.Link}
	for _, class := range ds.Classes {
		if err := splitClass(b.tmp, class, byClass[class], opts, p, m); err != nil {
			b.abort()
			return nil, err
		}
	}
	if err := b.commit(m); err != nil {
		b.abort()
		return nil, err
	}
	p.note(res)
	noteEmptySplits(m, ds.Classes, opts.Ratios, res)
	if shared > 0 {
		res.notef("%d file names appear in several class folders (multi-label copies, as TAO's prepare_voc.py makes?); a per-class split can put copies of one photo in train and test. For VOC use 'bonsai dataset voc' (split-first mode) instead", shared)
	}
	res.Manifest = m
	return res, nil
}

// filesByClass maps class -> base name -> path.
func filesByClass(ds *Dataset) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, s := range ds.Samples {
		class := ds.Classes[s.Label]
		if out[class] == nil {
			out[class] = map[string]string{}
		}
		out[class][filepath.Base(s.Path)] = s.Path
	}
	return out
}

func sourceFingerprint(ds *Dataset) string {
	fp := newFingerprint()
	for _, s := range ds.Samples {
		size := int64(-1)
		if info, err := os.Stat(s.Path); err == nil {
			size = info.Size()
		}
		fp.add(ds.Classes[s.Label], filepath.Base(s.Path), size)
	}
	return fp.String()
}

func splitClass(root, class string, files map[string]string, opts SplitOptions, p *placer, m *Manifest) error {
	parts := assignSplits(sortedKeys(files), opts.Ratios, opts.Seed, class)
	for i, names := range parts {
		split := SplitNames[i]
		if len(names) == 0 {
			continue
		}
		dir := filepath.Join(root, split, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		for _, name := range names {
			if err := p.place(files[name], filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		addCount(m, split, class, len(names))
	}
	return nil
}

func addCount(m *Manifest, split, class string, n int) {
	if m.Counts[split] == nil {
		m.Counts[split] = map[string]int{}
	}
	m.Counts[split][class] += n
}

// namesInSeveralClasses counts file names present in more than one class folder.
func namesInSeveralClasses(byClass map[string]map[string]string) int {
	seen := map[string]int{}
	for _, files := range byClass {
		for name := range files {
			seen[name]++
		}
	}
	n := 0
	for _, c := range seen {
		if c > 1 {
			n++
		}
	}
	return n
}
