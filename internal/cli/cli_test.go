package cli

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestParseMultiValueFlags(t *testing.T) {
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	fs := NewFlagSet(env, "x", "")
	var el, gpus MultiFlag
	fs.Var(&el, "el", "excluded layers")
	fs.Var(&gpus, "gpu_index", "gpus")
	pth := fs.Float64("pth", 0.1, "threshold")
	_, err := Parse(fs, []string{"-pth", "0.6", "-el", "conv1", "block_1a_conv_1", "--gpu_index", "0", "3"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if *pth != 0.6 || !reflect.DeepEqual(el.Values, []string{"conv1", "block_1a_conv_1"}) || !reflect.DeepEqual(gpus.Values, []string{"0", "3"}) {
		t.Fatalf("got pth=%v el=%v gpus=%v", *pth, el.Values, gpus.Values)
	}
}

func TestMainUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"nosuch"}, &out, &errb); code != ExitUsage {
		t.Fatalf("exit code %d, want %d", code, ExitUsage)
	}
	if !bytes.Contains(errb.Bytes(), []byte("unknown command")) {
		t.Fatalf("stderr %q", errb.String())
	}
}

func TestUsageErrorExitCode(t *testing.T) {
	Register(&Command{Path: "test usage", Run: func(env *Env, args []string) error {
		fs := NewFlagSet(env, "test usage", "")
		_, err := Parse(fs, args, false)
		return err
	}})
	defer delete(commands, "test usage")
	var out, errb bytes.Buffer
	if code := Main([]string{"test", "usage", "--bogus"}, &out, &errb); code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	if code := Main([]string{"test", "usage", "--help"}, &out, &errb); code != ExitOK {
		t.Fatalf("help exit %d", code)
	}
	_ = flag.ErrHelp
}

// TestExecutionStatusLine: TAO's launcher ends every classification task with "Execution status:
// PASS" or "FAIL" on standard output; other commands and --help print no such line.
func TestExecutionStatusLine(t *testing.T) {
	fail := errors.New("boom")
	Register(&Command{Path: "classification testpass", Run: func(*Env, []string) error { return nil }})
	Register(&Command{Path: "classification testfail", Run: func(*Env, []string) error { return fail }})
	Register(&Command{Path: "classification testhelp", Run: func(*Env, []string) error { return flag.ErrHelp }})
	Register(&Command{Path: "testother", Run: func(*Env, []string) error { return nil }})
	defer func() {
		for _, p := range []string{"classification testpass", "classification testfail", "classification testhelp", "testother"} {
			delete(commands, p)
		}
	}()
	for _, c := range []struct {
		path, want string
		code       int
	}{
		{"classification testpass", "Execution status: PASS\n", ExitOK},
		{"classification testfail", "Execution status: FAIL\n", ExitFailure},
		{"classification testhelp", "", ExitOK},
		{"testother", "", ExitOK},
	} {
		var out, errb bytes.Buffer
		if code := Main(strings.Fields(c.path), &out, &errb); code != c.code || out.String() != c.want {
			t.Errorf("%s: exit %d, stdout %q; want %d, %q", c.path, code, out.String(), c.code, c.want)
		}
	}
}

// TestFlagSpellings: hyphens and underscores are the same in a flag name, and --help lists a
// flag once with all its names.
func TestFlagSpellings(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var ratio float64
	var spec string
	fs.Float64Var(&ratio, "target_ratio", 0, "ratio")
	fs.StringVar(&spec, "e", "", "spec")
	alias(fs, "e", "experiment_spec_file")
	if _, err := Parse(fs, []string{"--target-ratio=0.5", "--experiment-spec-file", "s.cfg"}, false); err != nil || ratio != 0.5 || spec != "s.cfg" {
		t.Fatalf("hyphenated spellings: %v, ratio %g, spec %q", err, ratio, spec)
	}
	var help bytes.Buffer
	printFlags(&help, fs)
	if got := help.String(); strings.Count(got, "experiment_spec_file") != 1 || !strings.Contains(got, "-e, --experiment_spec_file string") {
		t.Errorf("--help:\n%s", got)
	}
}

// TestMainExitCodes: no command is a usage error (exit 2, the list on stderr); asking for
// help, for a group's list or for the version is not (exit 0, stdout).
func TestMainExitCodes(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
	}{
		{nil, ExitUsage, ""},
		{[]string{"classification"}, ExitUsage, ""},
		{[]string{"--help"}, ExitOK, "Commands:"},
		{[]string{"classification", "--help"}, ExitOK, "classification train"},
		{[]string{"--version"}, ExitOK, "bonsai "},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || (c.code != ExitOK && errb.Len() == 0) {
			t.Errorf("bonsai %v: exit %d, stdout %q, stderr %q", c.args, code, out.String(), errb.String())
		}
	}
}
