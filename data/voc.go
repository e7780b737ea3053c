package data

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// VOC conversion modes (see the package doc).
const (
	VOCSplitFirst = "split-first"
	VOCTAO        = "tao"
)

// VOC label sources.
const (
	LabelsAuto      = "auto"      // ImageSets/Main/<class>_<set>.txt when present, else XML
	LabelsImageSets = "imagesets" // ImageSets/Main/<class>_<set>.txt
	LabelsXML       = "xml"       // Annotations/*.xml
)

// VOCOptions configure ConvertVOC.
type VOCOptions struct {
	Root             string // a VOC year folder, e.g. VOCdevkit/VOC2012
	Out              string
	Mode             string // VOCSplitFirst (default) or VOCTAO
	ImageSet         string // ImageSets/Main/<set>.txt; default "trainval"
	Labels           string // LabelsAuto (default), LabelsImageSets or LabelsXML
	Ratios           Ratios
	Seed             int64
	Link             LinkMode
	IncludeDifficult bool // keep difficult objects (XML) and flag-0 entries (ImageSets)
	Force            bool
}

// vocImage is one usable image and the classes it shows (sorted, unique).
type vocImage struct {
	id, path string
	classes  []string
}

// vocSource is what was read from the VOC folder.
type vocSource struct {
	labels  string // the label source used
	images  []vocImage
	skipped map[string]int
}

// ConvertVOC turns a VOC year folder into Out/{train,val,test}/<class>/ (and, in tao mode,
// Out/formatted/<class>/ first).
func ConvertVOC(opts VOCOptions) (*Result, error) {
	opts = vocDefaults(opts)
	if err := checkVOCOptions(opts); err != nil {
		return nil, err
	}
	res := &Result{}
	src, err := readVOC(opts, res)
	if err != nil {
		return nil, err
	}
	classes := vocClasses(src.images)
	if len(src.images) == 0 || len(classes) < 2 {
		return nil, fmt.Errorf("%s: found %d usable images in %d classes (labels from %s); need at least 2 classes", opts.Root, len(src.images), len(classes), src.labels)
	}
	rootAbs, _ := filepath.Abs(opts.Root)
	inputs := map[string]any{
		"voc_root": rootAbs, "mode": opts.Mode, "image_set": opts.ImageSet, "labels": src.labels,
		"ratios": opts.Ratios.values(), "seed": opts.Seed, "link": opts.Link,
		"include_difficult": opts.IncludeDifficult, "source": vocFingerprint(src.images),
	}
	b, err := beginOutput(opts.Out, "dataset voc", inputs, opts.Force, res)
	if b == nil {
		return res, err
	}
	m := &Manifest{Command: "dataset voc", Inputs: inputs, Counts: map[string]map[string]int{}, Skipped: src.skipped}
	p := &placer{mode: opts.Link}
	if opts.Mode == VOCTAO {
		err = writeTAO(b.tmp, src.images, opts, p, m)
	} else {
		err = writeSplitFirst(b.tmp, src.images, opts, p, m)
	}
	if err == nil {
		err = b.commit(m)
	}
	if err != nil {
		b.abort()
		return nil, err
	}
	p.note(res)
	noteEmptySplits(m, classes, opts.Ratios, res)
	res.Manifest = m
	return res, nil
}

func vocDefaults(o VOCOptions) VOCOptions {
	if o.Mode == "" {
		o.Mode = VOCSplitFirst
	}
	if o.ImageSet == "" {
		o.ImageSet = "trainval"
	}
	if o.Labels == "" {
		o.Labels = LabelsAuto
	}
	if o.Link == "" {
		o.Link = HardLink
	}
	if o.Ratios == (Ratios{}) {
		o.Ratios = DefaultRatios
	}
	return o
}

func checkVOCOptions(o VOCOptions) error {
	if o.Mode != VOCSplitFirst && o.Mode != VOCTAO {
		return fmt.Errorf("unknown mode %q (want %s or %s)", o.Mode, VOCSplitFirst, VOCTAO)
	}
	if o.Labels != LabelsAuto && o.Labels != LabelsImageSets && o.Labels != LabelsXML {
		return fmt.Errorf("unknown label source %q (want %s, %s or %s)", o.Labels, LabelsAuto, LabelsImageSets, LabelsXML)
	}
	if strings.ContainsAny(o.ImageSet, `/\`) {
		return fmt.Errorf("image set %q must be a name like trainval, not a path", o.ImageSet)
	}
	if err := o.Ratios.Validate(); err != nil {
		return err
	}
	if _, err := ParseLinkMode(string(o.Link)); err != nil {
		return err
	}
	if err := checkNotInside(o.Root, o.Out); err != nil {
		return err
	}
	if info, err := os.Stat(filepath.Join(o.Root, "JPEGImages")); err != nil || !info.IsDir() {
		return fmt.Errorf("%s is not a VOC year folder (no JPEGImages/ inside); give a year folder such as VOCdevkit/VOC2012", o.Root)
	}
	return nil
}

// readVOC collects the usable images and their classes.
func readVOC(opts VOCOptions, res *Result) (*vocSource, error) {
	main := filepath.Join(opts.Root, "ImageSets", "Main")
	classFiles, _ := filepath.Glob(filepath.Join(main, "*_"+opts.ImageSet+".txt"))
	src := &vocSource{labels: opts.Labels, skipped: map[string]int{}}
	if src.labels == LabelsAuto {
		src.labels = LabelsXML
		if len(classFiles) > 0 {
			src.labels = LabelsImageSets
		}
	}
	var labels map[string][]string
	var err error
	if src.labels == LabelsImageSets {
		if len(classFiles) == 0 {
			return nil, fmt.Errorf("no %s files in %s; read the labels from Annotations/*.xml instead (label source xml)", "<class>_"+opts.ImageSet+".txt", main)
		}
		labels, err = labelsFromImageSets(classFiles, opts, src.skipped)
	} else {
		labels, err = labelsFromXML(opts, src.skipped, res)
	}
	if err != nil {
		return nil, err
	}
	src.images = usableImages(opts.Root, labels, src.skipped)
	return src, nil
}

// labelsFromImageSets reads <class>_<set>.txt files: "id flag" lines, flag 1 = present,
// 0 = only difficult objects, -1 = absent.
func labelsFromImageSets(files []string, opts VOCOptions, skipped map[string]int) (map[string][]string, error) {
	labels := map[string][]string{}
	sort.Strings(files)
	for _, path := range files {
		class := strings.TrimSuffix(filepath.Base(path), "_"+opts.ImageSet+".txt")
		if err := ValidClassName(class); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		err := readImageSetLines(path, func(id string, flag int) {
			if _, seen := labels[id]; !seen {
				labels[id] = nil
			}
			if flag == 1 || (flag == 0 && opts.IncludeDifficult) {
				labels[id] = append(labels[id], class)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	for id, classes := range labels {
		if len(classes) == 0 {
			skipped["no class file marks it present (flag 1)"]++
			delete(labels, id)
		}
	}
	return labels, nil
}

// readImageSetLines calls fn for each "id [flag]" line; a missing flag reads as 1.
func readImageSetLines(path string, fn func(id string, flag int)) error {
	f, err := openRegular(path, "image set")
	if err != nil {
		return fmt.Errorf("reading image set: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		flag := 1
		if len(fields) > 1 {
			if flag, err = strconv.Atoi(fields[1]); err != nil || flag < -1 || flag > 1 || len(fields) > 2 {
				return fmt.Errorf("%s:%d: want \"<image id> <-1|0|1>\", got %q", path, line, sc.Text())
			}
		}
		if err := validImageID(fields[0]); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fn(fields[0], flag)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func validImageID(id string) error {
	if id == "" || id[0] == '.' || strings.ContainsAny(id, `/\`) {
		return fmt.Errorf("image id %q is not a plain file name", id)
	}
	return nil
}

// labelsFromXML reads the objects of each annotation listed in ImageSets/Main/<set>.txt (or of
// every Annotations/*.xml when that list is absent).
func labelsFromXML(opts VOCOptions, skipped map[string]int, res *Result) (map[string][]string, error) {
	ids, err := xmlImageIDs(opts, res)
	if err != nil {
		return nil, err
	}
	labels := map[string][]string{}
	for _, id := range ids {
		path := filepath.Join(opts.Root, "Annotations", id+".xml")
		classes, err := annotationClasses(path, opts.IncludeDifficult, skipped)
		if errors.Is(err, fs.ErrNotExist) {
			skipped["annotation file missing"]++
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(classes) == 0 {
			skipped["no usable object (none, or only difficult ones)"]++
			continue
		}
		labels[id] = classes
	}
	return labels, nil
}

func xmlImageIDs(opts VOCOptions, res *Result) ([]string, error) {
	list := filepath.Join(opts.Root, "ImageSets", "Main", opts.ImageSet+".txt")
	var ids []string
	err := readImageSetLines(list, func(id string, _ int) { ids = append(ids, id) })
	if err == nil {
		return ids, nil
	}
	if _, statErr := os.Stat(list); statErr == nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(opts.Root, "Annotations", "*.xml"))
	for _, f := range files {
		ids = append(ids, strings.TrimSuffix(filepath.Base(f), ".xml"))
	}
	res.notef("%s is absent: using every annotation in %s", list, filepath.Join(opts.Root, "Annotations"))
	return ids, nil
}

func annotationClasses(path string, includeDifficult bool, skipped map[string]int) ([]string, error) {
	f, err := openRegular(path, "annotation")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ann, err := ParseVOCAnnotation(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var classes []string
	for _, o := range ann.Objects {
		switch {
		case ValidClassName(o.Name) != nil:
			skipped["objects with an unusable class name"]++
		case o.Difficult && !includeDifficult:
		default:
			classes = append(classes, o.Name)
		}
	}
	return classes, nil
}

// usableImages keeps the images whose JPEG exists, with sorted unique classes, sorted by id.
func usableImages(root string, labels map[string][]string, skipped map[string]int) []vocImage {
	var images []vocImage
	for _, id := range sortedKeys(labels) {
		path := filepath.Join(root, "JPEGImages", id+".jpg")
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			skipped["image file missing"]++
			continue
		}
		images = append(images, vocImage{id: id, path: path, classes: uniqueSorted(labels[id])})
	}
	return images
}

func uniqueSorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func vocClasses(images []vocImage) []string {
	set := map[string]bool{}
	for _, img := range images {
		for _, c := range img.classes {
			set[c] = true
		}
	}
	return sortedKeys(set)
}

func vocFingerprint(images []vocImage) string {
	fp := newFingerprint()
	for _, img := range images {
		size := int64(-1)
		if info, err := os.Stat(img.path); err == nil {
			size = info.Size()
		}
		fp.add(img.id, strings.Join(img.classes, ","), size)
	}
	return fp.String()
}

// writeSplitFirst assigns each image to one split (stratified by its rarest class, small strata
// pooled), then copies it into the folder of each of its classes inside that split.
func writeSplitFirst(root string, images []vocImage, opts VOCOptions, p *placer, m *Manifest) error {
	byID := map[string]vocImage{}
	strata := map[string][]string{}
	count := classCounts(images)
	for _, img := range images {
		byID[img.id] = img
		key := rarestClass(img.classes, count)
		strata[key] = append(strata[key], img.id)
	}
	poolSmallStrata(strata, opts.Ratios)
	dirs := &dirMaker{}
	for _, key := range sortedKeys(strata) {
		parts := assignSplits(strata[key], opts.Ratios, opts.Seed, "voc/"+key)
		for i, ids := range parts {
			addImages(m, SplitNames[i], len(ids))
			for _, id := range ids {
				img := byID[id]
				for _, class := range img.classes {
					if err := placeInto(dirs, p, img.path, filepath.Join(root, SplitNames[i], class), id+".jpg"); err != nil {
						return err
					}
					addCount(m, SplitNames[i], class, 1)
				}
			}
		}
	}
	return nil
}

// poolSmallStrata merges strata too small to reach every split (fewer images than splits with a
// non-zero ratio) into one pooled stratum, so that rare classes are not all sent to train.
func poolSmallStrata(strata map[string][]string, r Ratios) {
	splits := 0
	for _, v := range r.values() {
		if v > 0 {
			splits++
		}
	}
	const pool = "\x00pooled"
	for key, ids := range strata {
		if key != pool && len(ids) < splits {
			strata[pool] = append(strata[pool], ids...)
			delete(strata, key)
		}
	}
}

func classCounts(images []vocImage) map[string]int {
	count := map[string]int{}
	for _, img := range images {
		for _, c := range img.classes {
			count[c]++
		}
	}
	return count
}

// rarestClass returns the class with the fewest images (ties: alphabetical first).
func rarestClass(classes []string, count map[string]int) string {
	best := classes[0]
	for _, c := range classes[1:] {
		if count[c] < count[best] {
			best = c
		}
	}
	return best
}

// writeTAO reproduces prepare_voc.py: copy into every class folder, then split each class alone.
func writeTAO(root string, images []vocImage, opts VOCOptions, p *placer, m *Manifest) error {
	dirs := &dirMaker{}
	members := map[string][]string{}
	seen := [3]map[string]bool{{}, {}, {}}
	defer func() {
		for i := range seen {
			addImages(m, SplitNames[i], len(seen[i]))
		}
	}()
	for _, img := range images {
		for _, class := range img.classes {
			if err := placeInto(dirs, p, img.path, filepath.Join(root, "formatted", class), img.id+".jpg"); err != nil {
				return err
			}
			addCount(m, "formatted", class, 1)
			members[class] = append(members[class], img.id)
		}
	}
	for _, class := range sortedKeys(members) {
		parts := assignSplits(members[class], opts.Ratios, opts.Seed, class)
		for i, ids := range parts {
			for _, id := range ids {
				seen[i][id] = true
			}
			for _, id := range ids {
				src := filepath.Join(root, "formatted", class, id+".jpg")
				if err := placeInto(dirs, p, src, filepath.Join(root, SplitNames[i], class), id+".jpg"); err != nil {
					return err
				}
				addCount(m, SplitNames[i], class, 1)
			}
		}
	}
	return nil
}

// addImages counts unique images per split.
func addImages(m *Manifest, split string, n int) {
	if n == 0 {
		return
	}
	if m.Images == nil {
		m.Images = map[string]int{}
	}
	m.Images[split] += n
}

// dirMaker creates each folder once.
type dirMaker struct{ made map[string]bool }

func (d *dirMaker) mkdir(dir string) error {
	if d.made[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if d.made == nil {
		d.made = map[string]bool{}
	}
	d.made[dir] = true
	return nil
}

func placeInto(dirs *dirMaker, p *placer, src, dir, name string) error {
	if err := dirs.mkdir(dir); err != nil {
		return err
	}
	return p.place(src, filepath.Join(dir, name))
}

// noteEmptySplits warns about classes that got no image in a split with a non-zero ratio.
func noteEmptySplits(m *Manifest, classes []string, r Ratios, res *Result) {
	for i, ratio := range r.values() {
		var missing []string
		for _, c := range classes {
			if ratio > 0 && m.Counts[SplitNames[i]][c] == 0 {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			res.notef("%s has no image of %d class(es) (too few images): %s; training with this split will report them missing", SplitNames[i], len(missing), strings.Join(missing, ", "))
		}
	}
}
