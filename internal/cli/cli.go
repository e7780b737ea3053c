// Package cli owns bonsai's subcommands, TAO-compatible flag parsing, exit codes and human output.
//
// Each subcommand lives in its own file and registers itself with Register in an init function.
// Flags use the standard flag package (so TAO's single-dash long names such as -pth and -el work),
// plus multi-value flags (`--gpu_index 0 3`, `-el conv1 block_1a_conv_1`) through MultiFlag.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/prune"
	"github.com/bonsai-ml/bonsai/spec"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed (bad data, I/O error, training diverged, ...)
	ExitUsage   = 2 // bad command line or spec
	// ExitInterrupted is the shell's code for a command stopped by SIGINT (128 + 2).
	ExitInterrupted = 130
)

// ErrInterrupted marks errors of commands stopped by a signal; Main exits with
// ExitInterrupted.
var ErrInterrupted = errors.New("interrupted")

// interrupted marks err as the error of an interrupted command (see ErrInterrupted).
func interrupted(err error) error { return interruptedError{err} }

type interruptedError struct{ error }

func (e interruptedError) Unwrap() error        { return e.error }
func (e interruptedError) Is(target error) bool { return target == ErrInterrupted }

// UsageError marks an error caused by the command line; it makes Main exit with ExitUsage.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// Env is what a command writes to.
type Env struct {
	Stdout, Stderr io.Writer
}

// Command is one subcommand, for example "classification train".
type Command struct {
	Path  string // space-separated words, e.g. "dataset voc"
	Short string // one line for the command list
	// Run executes the command; args exclude the command path.
	Run func(env *Env, args []string) error
}

var commands = map[string]*Command{}

// Register adds a command; it panics on a duplicate path (a programming error).
func Register(c *Command) {
	if _, dup := commands[c.Path]; dup {
		panic("cli: duplicate command " + c.Path)
	}
	commands[c.Path] = c
}

// Main runs bonsai with the given arguments and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr}
	engine.Notes = stderr
	cmd, rest := lookup(args)
	if cmd == nil {
		return noCommand(args, stdout, stderr)
	}
	err := cmd.Run(env, rest)
	code := ExitOK
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	default:
		err = explain(err)
		fmt.Fprintf(stderr, "bonsai %s: %v\n", cmd.Path, err)
		code = exitCode(err)
	}
	printExecutionStatus(stdout, cmd, code)
	return code
}

// printExecutionStatus ends a TAO task (the classification commands) with the line TAO's
// launcher prints on its standard output, after the task and whatever --log_file captured:
// "Execution status: PASS" or "FAIL".
func printExecutionStatus(stdout io.Writer, cmd *Command, code int) {
	if !strings.HasPrefix(cmd.Path, "classification ") {
		return
	}
	status := "PASS"
	if code != ExitOK {
		status = "FAIL"
	}
	fmt.Fprintf(stdout, "Execution status: %s\n", status)
}

// noCommand handles a command line that names no command: help, the version, a group of
// commands (e.g. "classification") or a mistake.
func noCommand(args []string, stdout, stderr io.Writer) int {
	prefix := strings.Join(leadingWords(args), " ")
	help := slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" })
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version"):
		fmt.Fprintln(stdout, "bonsai", Version())
		return ExitOK
	case help && (prefix == "" || prefix == "help" || hasPrefix(prefix)):
		printCommands(stdout, strings.TrimPrefix(prefix, "help"))
		return ExitOK
	case len(args) == 0:
		printCommands(stderr, "")
	case hasPrefix(prefix):
		printCommands(stderr, prefix)
	default:
		fmt.Fprintf(stderr, "bonsai: unknown command %q; run 'bonsai --help' for the list\n", strings.Join(args, " "))
	}
	return ExitUsage
}

// Version is the module version bonsai was built as, or its VCS revision.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", ""
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+modified"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel " + rev + dirty + ")"
}

// exitCode is ExitUsage for errors of the command line or the spec, else ExitFailure.
func exitCode(err error) int {
	var ue UsageError
	var se *spec.Error
	var ses spec.Errors
	if errors.As(err, &ue) || errors.As(err, &se) || errors.As(err, &ses) {
		return ExitUsage
	}
	if errors.Is(err, ErrInterrupted) {
		return ExitInterrupted
	}
	return ExitFailure
}

// explain adds the command-line side of errors that library packages report without naming
// flags: which flag supplies what is missing.
func explain(err error) error {
	switch {
	case errors.Is(err, modelfile.ErrKeyRequired):
		return UsageError{fmt.Errorf("%w; pass its key with -k KEY", err)}
	case errors.Is(err, data.ErrOutputDiffers):
		return fmt.Errorf("%w (--force replaces it)", err)
	case errors.Is(err, prune.ErrExcludeLayer):
		return fmt.Errorf("%w (-el LAYER ...)", err)
	}
	return err
}

// lookup finds the longest registered command path that prefixes args.
func lookup(args []string) (*Command, []string) {
	for n := min(len(args), 3); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, nil
}

func leadingWords(args []string) []string {
	var w []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		w = append(w, a)
	}
	return w
}

func hasPrefix(prefix string) bool {
	for p := range commands {
		if prefix != "" && strings.HasPrefix(p, prefix+" ") {
			return true
		}
	}
	return false
}

func printCommands(w io.Writer, prefix string) {
	fmt.Fprintln(w, "bonsai trains, prunes and exports image classifiers for edge devices.")
	fmt.Fprintln(w, "\nUsage: bonsai <command> [flags]   (bonsai <command> --help for its flags)\n\nCommands:")
	var paths []string
	for p := range commands {
		if prefix == "" || strings.HasPrefix(p, prefix+" ") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "  %-32s %s\n", p, commands[p].Short)
	}
}

// MultiFlag is a flag that takes one or more space-separated values (`-el a b c`), as TAO's
// argparse nargs='+' flags do. Repeating the flag appends too.
type MultiFlag struct{ Values []string }

func (m *MultiFlag) String() string { return strings.Join(m.Values, " ") }
func (m *MultiFlag) Set(v string) error {
	m.Values = append(m.Values, v)
	return nil
}

// Parse parses args into fs. Flags registered as MultiFlag swallow the following arguments up to
// the next one that starts with '-'. Positional arguments left over are an error unless
// allowPositional is set; they are returned.
func Parse(fs *flag.FlagSet, args []string, allowPositional bool) ([]string, error) {
	args = expandMulti(fs, respell(fs, args))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, UsageError{err}
	}
	if fs.NArg() > 0 && !allowPositional {
		return nil, Usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return fs.Args(), nil
}

// expandMulti rewrites `-el a b` into `-el a -el b` for MultiFlag flags.
func expandMulti(fs *flag.FlagSet, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			out = append(out, args[i+1:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if _, ok := f.Value.(*MultiFlag); !ok {
			continue
		}
		first := true
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			if !first {
				out = append(out, a)
			}
			out = append(out, args[i+1])
			first = false
			i++
		}
	}
	return out
}
