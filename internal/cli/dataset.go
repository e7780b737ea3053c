package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
)

func init() {
	Register(&Command{Path: "dataset voc", Short: "convert PASCAL VOC (VOCdevkit/VOC20xx) to train/val/test folders per class", Run: runDatasetVOC})
	Register(&Command{Path: "dataset split", Short: "split a folder-per-class dataset into train/val/test (seeded)", Run: runDatasetSplit})
	Register(&Command{Path: "dataset idx", Short: "convert MNIST-format IDX files (e.g. Fashion-MNIST) to class folders of PNGs", Run: runDatasetIDX})
}

// splitFlags are the flags shared by voc and split.
type splitFlags struct {
	train, val, test float64
	seed             int64
	link             string
	force            bool
}

func addSplitFlags(fs *flag.FlagSet, s *splitFlags) {
	fs.Float64Var(&s.train, "train", data.DefaultRatios.Train, "fraction of each class for train")
	fs.Float64Var(&s.val, "val", data.DefaultRatios.Val, "fraction of each class for val")
	fs.Float64Var(&s.test, "test", data.DefaultRatios.Test, "fraction of each class for test")
	fs.Int64Var(&s.seed, "seed", 42, "random seed: the same seed gives the same split")
	fs.StringVar(&s.link, "link", string(data.HardLink), "hardlink or copy (hard links fall back to copies across devices)")
	fs.BoolVar(&s.force, "force", false, "replace an output folder made earlier with different inputs")
}

func (s *splitFlags) ratios() (data.Ratios, data.LinkMode, error) {
	r := data.Ratios{Train: s.train, Val: s.val, Test: s.test}
	if err := r.Validate(); err != nil {
		return r, "", Usagef("%v", err)
	}
	link, err := data.ParseLinkMode(s.link)
	if err != nil {
		return r, "", Usagef("--link: %v", err)
	}
	return r, link, nil
}

const vocUsage = `--voc_root VOCdevkit/VOC2012 --out DIR [flags]

Converts a PASCAL VOC year folder to DIR/{train,val,test}/<class>/. Labels come from
ImageSets/Main/<class>_trainval.txt (flag 1) when present, else from Annotations/*.xml.

Modes:
  split-first (default)  each image goes to exactly one split (seeded, stratified by its rarest
                         class), then into the folder of every class it shows inside that split:
                         no photo is in two splits.
  tao                    TAO's prepare_voc.py: copy each image into every class folder it shows
                         (DIR/formatted/<class>), then split each class folder on its own. A photo
                         with two classes can land in train and in test (leaky; for comparison).`

func runDatasetVOC(env *Env, args []string) error {
	fs := NewFlagSet(env, "dataset voc", vocUsage)
	var o data.VOCOptions
	var s splitFlags
	fs.StringVar(&o.Root, "voc_root", "", "VOC year folder holding JPEGImages/, Annotations/, ImageSets/ (required)")
	fs.StringVar(&o.Out, "out", "", "output folder (required)")
	fs.StringVar(&o.Mode, "mode", data.VOCSplitFirst, "split-first or tao")
	fs.StringVar(&o.Labels, "labels", data.LabelsAuto, "label source: auto, imagesets or xml")
	fs.StringVar(&o.ImageSet, "image_set", "trainval", "which ImageSets/Main list to read (trainval, train, val, ...)")
	fs.BoolVar(&o.IncludeDifficult, "include_difficult", false, "keep objects marked difficult")
	addSplitFlags(fs, &s)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if o.Root == "" || o.Out == "" {
		return Usagef("--voc_root and --out are required (see --help)")
	}
	if o.Mode != data.VOCSplitFirst && o.Mode != data.VOCTAO {
		return Usagef("--mode %q: want split-first or tao", o.Mode)
	}
	if o.Labels != data.LabelsAuto && o.Labels != data.LabelsImageSets && o.Labels != data.LabelsXML {
		return Usagef("--labels %q: want auto, imagesets or xml", o.Labels)
	}
	var err error
	if o.Ratios, o.Link, err = s.ratios(); err != nil {
		return err
	}
	o.Seed, o.Force = s.seed, s.force
	res, err := data.ConvertVOC(o)
	if err != nil {
		return err
	}
	printResult(env.Stdout, res)
	return nil
}

func runDatasetSplit(env *Env, args []string) error {
	fs := NewFlagSet(env, "dataset split", "--in DIR --out OUT [--train 0.7 --val 0.1 --test 0.2] [--seed 42] [--link hardlink|copy]")
	var o data.SplitOptions
	var s splitFlags
	fs.StringVar(&o.In, "in", "", "folder-per-class dataset to split (required)")
	fs.StringVar(&o.Out, "out", "", "output folder for {train,val,test}/<class>/ (required)")
	addSplitFlags(fs, &s)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if o.In == "" || o.Out == "" {
		return Usagef("--in and --out are required (see --help)")
	}
	var err error
	if o.Ratios, o.Link, err = s.ratios(); err != nil {
		return err
	}
	o.Seed, o.Force = s.seed, s.force
	res, err := data.SplitFolder(o)
	if err != nil {
		return err
	}
	printResult(env.Stdout, res)
	return nil
}

func runDatasetIDX(env *Env, args []string) error {
	fs := NewFlagSet(env, "dataset idx", "--images X-images-idx3-ubyte[.gz] --labels X-labels-idx1-ubyte[.gz] --out DIR [flags]")
	var o data.IDXOptions
	var names string
	fs.StringVar(&o.Images, "images", "", "idx3-ubyte image file, gzip or not (required)")
	fs.StringVar(&o.Labels, "labels", "", "idx1-ubyte label file, gzip or not (required)")
	fs.StringVar(&o.Out, "out", "", "output folder for <class>/<index>.png (required)")
	fs.StringVar(&names, "class_names", "fashion-mnist", "fashion-mnist, mnist, or a comma-separated list in label order")
	fs.IntVar(&o.LimitPerClass, "limit_per_class", 0, "keep at most N images per class (a seeded random sample); 0 keeps all")
	fs.Int64Var(&o.Seed, "seed", 42, "random seed for --limit_per_class")
	fs.BoolVar(&o.Force, "force", false, "replace an output folder made earlier with different inputs")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if o.Images == "" || o.Labels == "" || o.Out == "" {
		return Usagef("--images, --labels and --out are required (see --help)")
	}
	if o.LimitPerClass < 0 {
		return Usagef("--limit_per_class must be >= 0")
	}
	var err error
	if o.ClassNames, err = data.ParseClassNames(names); err != nil {
		return Usagef("--class_names: %v", err)
	}
	res, err := data.ConvertIDX(o)
	if err != nil {
		return err
	}
	printResult(env.Stdout, res)
	return nil
}

// printResult prints notes, then either "already done" or the class x split table.
func printResult(w io.Writer, res *data.Result) {
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	m := res.Manifest
	if res.AlreadyDone {
		fmt.Fprintf(w, "already done: %s was made by %q with the same inputs on %s; nothing to do (use --force to rebuild)\n", res.Dir, m.Command, m.Created)
		return
	}
	printCounts(w, m.Counts)
	if len(m.Images) > 0 {
		fmt.Fprint(w, "unique images:")
		for _, split := range []string{"train", "val", "test"} {
			if n, ok := m.Images[split]; ok {
				fmt.Fprintf(w, " %s %d", split, n)
			}
		}
		fmt.Fprintln(w, " (an image with several classes is in several class folders)")
	}
	if len(m.Skipped) > 0 {
		fmt.Fprintln(w, "\nskipped:")
		for _, why := range sortedMapKeys(m.Skipped) {
			fmt.Fprintf(w, "  %6d  %s\n", m.Skipped[why], why)
		}
	}
	fmt.Fprintf(w, "\nwrote %s\n", res.Dir)
}

func printCounts(w io.Writer, counts map[string]map[string]int) {
	var cols []string
	for _, c := range []string{"all", "formatted", "train", "val", "test"} {
		if counts[c] != nil {
			cols = append(cols, c)
		}
	}
	classSet := map[string]int{}
	for _, byClass := range counts {
		for c := range byClass {
			classSet[c] = 0
		}
	}
	classes := sortedMapKeys(classSet)
	width := len("class")
	for _, c := range classes {
		width = max(width, len(c))
	}
	fmt.Fprintf(w, "%-*s", width, "class")
	for _, c := range cols {
		fmt.Fprintf(w, " %9s", c)
	}
	fmt.Fprintln(w)
	totals := make([]int, len(cols))
	for _, class := range classes {
		fmt.Fprintf(w, "%-*s", width, class)
		for i, c := range cols {
			fmt.Fprintf(w, " %9d", counts[c][class])
			totals[i] += counts[c][class]
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s\n%-*s", strings.Repeat("-", width+10*len(cols)), width, "total")
	for _, t := range totals {
		fmt.Fprintf(w, " %9d", t)
	}
	fmt.Fprintln(w)
}

func sortedMapKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
