package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDatasetFlagErrorsExitWithUsage(t *testing.T) {
	cases := [][]string{
		{"dataset", "voc", "--out", "x"},
		{"dataset", "voc", "--voc-root", "r", "--out", "x", "--mode", "leaky"},
		{"dataset", "voc", "--voc-root", "r", "--out", "x", "--labels", "json"},
		{"dataset", "voc", "--voc-root", "r", "--out", "x", "--train", "0.9"},
		{"dataset", "split", "--in", "a", "--out", "b", "--link", "symlink"},
		{"dataset", "split", "--in", "a"},
		{"dataset", "split", "--in", "a", "--out", "b", "--seed", "abc"},
		{"dataset", "split", "--in", "a", "--out", "b", "stray"},
		{"dataset", "idx", "--images", "i", "--labels", "l"},
		{"dataset", "idx", "--images", "i", "--labels", "l", "--out", "o", "--class-names", "one"},
		{"dataset", "idx", "--images", "i", "--labels", "l", "--out", "o", "--limit-per-class", "-1"},
		{"dataset", "idx", "--nosuchflag"},
	}
	for _, args := range cases {
		code, _, stderr := runMain(args...)
		if code != ExitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, ExitUsage)
		}
	}
}

func TestDatasetSplitCommand(t *testing.T) {
	in := t.TempDir()
	for _, class := range []string{"ants", "bees"} {
		os.MkdirAll(filepath.Join(in, class), 0o755)
		for i := range 10 {
			os.WriteFile(filepath.Join(in, class, fmt.Sprintf("%s%d.jpg", class, i)), []byte(class+fmt.Sprint(i)), 0o644)
		}
	}
	out := filepath.Join(t.TempDir(), "split")
	code, stdout, stderr := runMain("dataset", "split", "--in", in, "--out", out, "--train", "0.8", "--val", "0.2", "--test", "0", "--link", "copy")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"ants", "train", "val", "total", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if got := tableRow(stdout, "total"); got != "16 4" {
		t.Fatalf("totals line wrong:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "test")); err == nil {
		t.Fatal("test/ created with ratio 0")
	}
	code, stdout, _ = runMain("dataset", "split", "--in", in, "--out", out, "--train", "0.8", "--val", "0.2", "--test", "0", "--link", "copy")
	if code != ExitOK || !strings.Contains(stdout, "already done") {
		t.Fatalf("rerun: exit %d, %s", code, stdout)
	}
	code, _, stderr = runMain("dataset", "split", "--in", in, "--out", out, "--train", "0.8", "--val", "0.2", "--test", "0", "--link", "copy", "--seed", "1")
	if code != ExitFailure || !strings.Contains(stderr, "--force") {
		t.Fatalf("changed seed: exit %d, %s", code, stderr)
	}
}

func TestDatasetIDXCommand(t *testing.T) {
	dir := filepath.Join("..", "..", "data", "testdata", "idx")
	out := filepath.Join(t.TempDir(), "digits")
	code, stdout, stderr := runMain("dataset", "idx", "--images", filepath.Join(dir, "tiny-images-idx3-ubyte"),
		"--labels", filepath.Join(dir, "tiny-labels-idx1-ubyte.gz"), "--out", out, "--class-names", "a,b,c")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := tableRow(stdout, "total"); got != "4" || tableRow(stdout, "b") != "2" {
		t.Fatalf("stdout:\n%s", stdout)
	}
	code, _, stderr = runMain("dataset", "idx", "--images", filepath.Join(dir, "nope"), "--labels", filepath.Join(dir, "tiny-labels-idx1-ubyte.gz"), "--out", out+"2")
	if code != ExitFailure || !strings.Contains(stderr, "nope") {
		t.Fatalf("missing file: exit %d, %s", code, stderr)
	}
}

// tableRow returns the numbers of the summary row that starts with name, space-separated.
func tableRow(stdout, name string) string {
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}

func TestDatasetVOCCommand(t *testing.T) {
	root := filepath.Join("..", "..", "data", "testdata", "voc-imagesets", "VOC2012")
	out := filepath.Join(t.TempDir(), "voc")
	code, stdout, stderr := runMain("dataset", "voc", "--voc-root", root, "--out", out, "--link", "copy", "--train", "0.5", "--val", "0", "--test", "0.5")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := tableRow(stdout, "aeroplane"); got != "1 1" {
		t.Fatalf("aeroplane row %q:\n%s", got, stdout)
	}
	if got := tableRow(stdout, "1"); got != "image file missing" {
		t.Fatalf("skipped row %q:\n%s", got, stdout)
	}
}

func TestDatasetVOCCommandTAOMode(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data", "voc-mini", "VOCdevkit", "VOC2007")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("%s is absent (shared test data not installed); skipping", root)
	}
	out := filepath.Join(t.TempDir(), "voc")
	code, stdout, stderr := runMain("dataset", "voc", "--voc-root", root, "--out", out, "--mode", "tao", "--link", "copy")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := tableRow(stdout, "chair"); !strings.HasPrefix(got, "2 ") {
		t.Fatalf("chair row %q (want 2 images in formatted/):\n%s", got, stdout)
	}
}
