package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func vocMini(t *testing.T, year string) string {
	return sharedData(t, "voc-mini", "VOCdevkit", year)
}

func TestConvertVOCFromXML(t *testing.T) {
	cases := []struct {
		year    string
		classes map[string]int // class -> images in all splits together
	}{
		// 000005 has 3 usable chairs (2 difficult ones are dropped); 000004 has 7 cars: one image.
		{"VOC2007", map[string]int{"car": 1, "chair": 2, "dog": 1, "person": 1, "sofa": 1, "train": 1}},
		// 2007_000027's person has parts (head, hand, foot) that are not classes.
		{"VOC2012", map[string]int{"aeroplane": 2, "person": 2, "train": 1, "tvmonitor": 1}},
	}
	for _, c := range cases {
		t.Run(c.year, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "voc")
			res, err := ConvertVOC(VOCOptions{Root: vocMini(t, c.year), Out: out, Seed: 42, Link: Copy})
			if err != nil {
				t.Fatal(err)
			}
			if res.Manifest.Inputs["labels"] != LabelsXML {
				t.Fatalf("label source %v, want xml", res.Manifest.Inputs["labels"])
			}
			total := map[string]int{}
			for _, byClass := range res.Manifest.Counts {
				for class, n := range byClass {
					total[class] += n
				}
			}
			if !reflect.DeepEqual(total, c.classes) {
				t.Fatalf("images per class %v, want %v", total, c.classes)
			}
			if n := len(listTree(t, out)); n != sum(c.classes) {
				t.Fatalf("%d files on disk, manifest counts %d", n, sum(c.classes))
			}
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestConvertVOCIncludeDifficult(t *testing.T) {
	root := vocMini(t, "VOC2007")
	out := filepath.Join(t.TempDir(), "voc")
	if _, err := ConvertVOC(VOCOptions{Root: root, Out: out, Link: Copy, IncludeDifficult: true}); err != nil {
		t.Fatal(err)
	}
	// Same images either way (000005 also has non-difficult chairs), but a different input.
	if _, err := ConvertVOC(VOCOptions{Root: root, Out: out, Link: Copy}); err == nil || !strings.Contains(err.Error(), "include_difficult") {
		t.Fatalf("error %v, want it to name include_difficult", err)
	}
}

func TestConvertVOCFromImageSets(t *testing.T) {
	root := filepath.Join("testdata", "voc-imagesets", "VOC2012")
	for _, difficult := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "voc")
		res, err := ConvertVOC(VOCOptions{Root: root, Out: out, Link: Copy, Seed: 1, IncludeDifficult: difficult})
		if err != nil {
			t.Fatal(err)
		}
		m := res.Manifest
		if m.Inputs["labels"] != LabelsImageSets {
			t.Fatalf("label source %v", m.Inputs["labels"])
		}
		files := map[string]bool{}
		for _, f := range listTree(t, out) {
			parts := strings.Split(f, "/")
			files[parts[1]+"/"+parts[2]] = true
		}
		want := map[string]bool{"aeroplane/2007_000032.jpg": true, "aeroplane/2007_000033.jpg": true, "person/2007_000032.jpg": true, "tvmonitor/2007_000039.jpg": true}
		if difficult {
			want["person/2007_000033.jpg"] = true // flag 0 = difficult
		}
		if !reflect.DeepEqual(files, want) {
			t.Fatalf("difficult=%v: class/file %v, want %v", difficult, files, want)
		}
		if m.Skipped["image file missing"] != 1 {
			t.Fatalf("skipped %v, want 1 missing image (2007_999999)", m.Skipped)
		}
	}
	_, err := ConvertVOC(VOCOptions{Root: root, Out: filepath.Join(t.TempDir(), "x"), Labels: LabelsXML})
	if err == nil {
		t.Fatal("--labels xml on a folder without Annotations succeeded")
	}
}

func TestSplitFirstNeverLeaks(t *testing.T) {
	for _, year := range []string{"VOC2007", "VOC2012"} {
		root := vocMini(t, year)
		for seed := int64(0); seed < 10; seed++ {
			out := filepath.Join(t.TempDir(), "voc")
			if _, err := ConvertVOC(VOCOptions{Root: root, Out: out, Seed: seed, Link: Copy, Ratios: Ratios{0.5, 0.25, 0.25}}); err != nil {
				t.Fatal(err)
			}
			if l := leaks(splitsOf(t, out, false)); len(l) > 0 {
				t.Fatalf("%s seed %d: images in two splits by id: %v", year, seed, l)
			}
			if l := leaks(splitsOf(t, out, true)); len(l) > 0 {
				t.Fatalf("%s seed %d: images in two splits by content: %v", year, seed, l)
			}
		}
	}
}

// TAO's recipe splits each class folder on its own, so a photo with two classes can be in train
// under one class and in test under the other. Some seed among a few must show it on voc-mini.
func TestTAOModeLeaks(t *testing.T) {
	root := vocMini(t, "VOC2012")
	for seed := int64(0); seed < 20; seed++ {
		out := filepath.Join(t.TempDir(), "voc")
		res, err := ConvertVOC(VOCOptions{Root: root, Out: out, Mode: VOCTAO, Seed: seed, Link: Copy})
		if err != nil {
			t.Fatal(err)
		}
		if res.Manifest.Counts["formatted"]["person"] != 2 {
			t.Fatalf("formatted counts %v", res.Manifest.Counts["formatted"])
		}
		byID, byContent := leaks(splitsOf(t, out, false)), leaks(splitsOf(t, out, true))
		if len(byID) > 0 {
			if !reflect.DeepEqual(byID, []string{"2007_000032.jpg"}) || len(byContent) != 1 {
				t.Fatalf("seed %d: leaked %v / %v, want only the multi-label image 2007_000032", seed, byID, byContent)
			}
			return
		}
	}
	t.Fatal("tao mode never put the two-class image 2007_000032 in two splits over 20 seeds")
}

func TestConvertVOCReproducible(t *testing.T) {
	root := vocMini(t, "VOC2007")
	dir := t.TempDir()
	lists := map[int64][]string{}
	for _, seed := range []int64{5, 5, 6} {
		out := filepath.Join(dir, "voc")
		os.RemoveAll(out)
		if _, err := ConvertVOC(VOCOptions{Root: root, Out: out, Seed: seed, Link: Copy, Ratios: Ratios{0.4, 0.3, 0.3}}); err != nil {
			t.Fatal(err)
		}
		files := listTree(t, out)
		if prev, ok := lists[seed]; ok && !reflect.DeepEqual(prev, files) {
			t.Fatalf("seed %d gave %v then %v", seed, prev, files)
		}
		lists[seed] = files
	}
	if reflect.DeepEqual(lists[5], lists[6]) {
		t.Fatal("seeds 5 and 6 gave the same split")
	}
}

func TestConvertVOCRerun(t *testing.T) {
	root := vocMini(t, "VOC2012")
	out := filepath.Join(t.TempDir(), "voc")
	opts := VOCOptions{Root: root, Out: out, Link: Copy}
	if _, err := ConvertVOC(opts); err != nil {
		t.Fatal(err)
	}
	res, err := ConvertVOC(opts)
	if err != nil || !res.AlreadyDone {
		t.Fatalf("rerun: %v", err)
	}
	opts.Mode = VOCTAO
	if _, err := ConvertVOC(opts); err == nil || !strings.Contains(err.Error(), `mode: was "split-first", now "tao"`) {
		t.Fatalf("mode change: %v", err)
	}
	opts.Force = true
	if _, err := ConvertVOC(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "formatted")); err != nil {
		t.Fatal("forced rebuild in tao mode has no formatted/ folder")
	}
}

func TestConvertVOCErrors(t *testing.T) {
	root := vocMini(t, "VOC2012")
	tmp := t.TempDir()
	cases := []struct {
		opts VOCOptions
		want string
	}{
		{VOCOptions{Root: tmp, Out: filepath.Join(t.TempDir(), "o")}, "not a VOC year folder"},
		{VOCOptions{Root: root, Out: filepath.Join(tmp, "o"), Mode: "leaky"}, "unknown mode"},
		{VOCOptions{Root: root, Out: filepath.Join(tmp, "o"), Labels: LabelsImageSets}, "label source xml"},
		{VOCOptions{Root: root, Out: filepath.Join(tmp, "o"), Ratios: Ratios{0.5, 0.1, 0.1}}, "sum to"},
		{VOCOptions{Root: root, Out: filepath.Join(root, "out")}, "overlaps"},
	}
	for _, c := range cases {
		if _, err := ConvertVOC(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
}

func TestConvertVOCBadAnnotationNamesFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "VOC2012")
	os.MkdirAll(filepath.Join(root, "JPEGImages"), 0o755)
	os.MkdirAll(filepath.Join(root, "Annotations"), 0o755)
	os.WriteFile(filepath.Join(root, "Annotations", "x1.xml"), []byte("<annotation><object><name>cat</name><difficult>maybe</difficult></object></annotation>"), 0o644)
	_, err := ConvertVOC(VOCOptions{Root: root, Out: filepath.Join(t.TempDir(), "o")})
	if err == nil || !strings.Contains(err.Error(), "x1.xml") || !strings.Contains(err.Error(), "maybe") {
		t.Fatalf("error %v", err)
	}
}

func TestParseVOCAnnotationSkipsPartsAndOwner(t *testing.T) {
	f, err := os.Open(filepath.Join(vocMini(t, "VOC2012"), "Annotations", "2007_000027.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ann, err := ParseVOCAnnotation(f)
	if err != nil {
		t.Fatal(err)
	}
	if ann.Filename != "2007_000027.jpg" || len(ann.Objects) != 1 || ann.Objects[0].Name != "person" {
		t.Fatalf("got %+v", ann)
	}
}
