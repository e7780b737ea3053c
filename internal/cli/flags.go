package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/engine"
)

// Every command builds its flags the same way: NewFlagSet, then the flag package's Var
// functions with TAO's names (single-dash short names such as -e, -pth, -el, and
// underscore_names such as --init_epoch); alias adds TAO's other spellings of a flag
// (-e / --experiment_spec_file); BackendFlag adds --backend. Bonsai's own flags use
// underscores too, and Parse accepts every name with hyphens in place of underscores
// (--target_ratio for --target_ratio). --help lists each flag once, with its aliases.

// NewFlagSet returns a flag set for a command whose --help prints the usage line and the flags.
func NewFlagSet(env *Env, path, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("bonsai "+path, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: bonsai %s %s\n\nFlags:\n", path, usage)
		printFlags(env.Stderr, fs)
	}
	return fs
}

// alias registers names as further spellings of the already defined flag first (TAO accepts
// short and long forms, e.g. -cm and --classmap); all share its value, default and usage.
func alias(fs *flag.FlagSet, first string, names ...string) {
	f := fs.Lookup(first)
	for _, n := range names {
		fs.Var(f.Value, n, f.Usage)
	}
}

// BackendFlag registers --backend on a command's flag set, stored in p; pass its value to
// engine.Open.
func BackendFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "backend", "", engine.BackendHelp)
}

// respell rewrites a flag name given with hyphens for underscores (or the other way round)
// to the spelling the flag set defines.
func respell(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, respellOne(fs, a))
	}
	return out
}

func respellOne(fs *flag.FlagSet, arg string) string {
	if !strings.HasPrefix(arg, "-") {
		return arg
	}
	dashes := "-"
	if strings.HasPrefix(arg, "--") {
		dashes = "--"
	}
	name, value, hasValue := strings.Cut(arg[len(dashes):], "=")
	if name == "" || fs.Lookup(name) != nil {
		return arg
	}
	for _, alt := range []string{strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "_", "-")} {
		if fs.Lookup(alt) != nil {
			if hasValue {
				return dashes + alt + "=" + value
			}
			return dashes + alt
		}
	}
	return arg
}

// printFlags lists the flags, each once with all its names (aliases share one flag.Value).
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type entry struct {
		names []string
		f     *flag.Flag
	}
	var entries []*entry
	byValue := map[flag.Value]*entry{}
	fs.VisitAll(func(f *flag.Flag) {
		if e, ok := byValue[f.Value]; ok {
			e.names = append(e.names, f.Name)
			return
		}
		e := &entry{names: []string{f.Name}, f: f}
		byValue[f.Value] = e
		entries = append(entries, e)
	})
	for _, e := range entries {
		sort.SliceStable(e.names, func(i, j int) bool { return len(e.names[i]) < len(e.names[j]) })
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].names[0] < entries[j].names[0] })
	for _, e := range entries {
		fmt.Fprintln(w, flagLine(e.names, e.f))
	}
}

// flagLine formats one flag as the flag package does: names and value placeholder, then the
// usage indented on the next line with the default.
func flagLine(names []string, f *flag.Flag) string {
	spelled := make([]string, len(names))
	for i, n := range names {
		if len(n) <= 2 || (i == 0 && len(n) <= 3) {
			spelled[i] = "-" + n // TAO's short names: -e, -pm, -pth, -el
		} else {
			spelled[i] = "--" + n
		}
	}
	line := "  " + strings.Join(spelled, ", ")
	placeholder, usage := flag.UnquoteUsage(f)
	if placeholder != "" {
		line += " " + placeholder
	}
	line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
		if fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		} else {
			line += fmt.Sprintf(" (default %v)", f.DefValue)
		}
	}
	return line
}
