// Package engine owns Bonsai's compute: choosing a backend (XLA with a CUDA or CPU PJRT plugin, or
// pure Go), turning a model graph (the IR of package model) into a GoMLX graph, and running it
// for inference and training (Keras-semantics optimizers, regularisation, label smoothing,
// batch-norm statistics). It is the only package that imports GoMLX's graph API; everything else
// hands it model.Graph, model.Weights and model.Tensor values.
package engine

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	_ "github.com/bonsai-ml/bonsai/engine/purego" // the pure-Go backend that trains CNNs
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // GoMLX's "go" backend
)

// EnvBackend is the environment variable read when no backend is given.
const EnvBackend = "BONSAI_BACKEND"

// PureGoBackend is the GoMLX backend name of Bonsai's pure-Go backend that trains CNNs
// (package engine/purego); SimpleGoBackend is GoMLX's own, used when purego is not linked in.
const (
	PureGoBackend   = "purego"
	SimpleGoBackend = "go"
)

// BackendHelp lists the accepted backend values, for flag help.
const BackendHelp = "compute backend: auto | go | xla:cpu | xla:cuda | xla:/path/to/pjrt_plugin.so (default $" + EnvBackend + " or auto)"

// Engine is an opened backend.
type Engine struct {
	Backend backends.Backend
	// Name says what runs: "xla:cuda", "xla:cpu", "purego" or "go".
	Name string
	// Plugin is the PJRT plugin file for XLA backends.
	Plugin string
	// Note explains a fallback (empty when the requested backend was used as is).
	Note string
}

// Notes is where Open prints its one-line fallback notes.
var Notes io.Writer = os.Stderr

var (
	openMu sync.Mutex
	opened = map[string]*Engine{}
)

// Open returns the engine for a backend config: "" ($BONSAI_BACKEND, else auto), "auto", "go"
// (pure Go), "xla:cpu", "xla:cuda" or "xla:/path/to/plugin.so"; "xla:install" downloads GoMLX's
// XLA CPU plugin (and CUDA's where a GPU is present) into ~/.local/lib/go-xla first. Nothing is
// downloaded otherwise. Engines are cached per config. The backend is wrapped so that mixed
// precision (bfloat16) graphs compile on XLA and accumulate in float32 everywhere (bf16.go).
func Open(config string) (*Engine, error) {
	if config == "" {
		config = os.Getenv(EnvBackend)
	}
	if config == "" {
		config = "auto"
	}
	openMu.Lock()
	defer openMu.Unlock()
	if e, ok := opened[config]; ok {
		return e, nil
	}
	e, err := open(config)
	if err != nil {
		return nil, err
	}
	e.Backend = wrapBF16Safe(e.Backend)
	if e.Note != "" && Notes != nil {
		fmt.Fprintln(Notes, "bonsai: "+e.Note)
	}
	opened[config] = e
	return e, nil
}

func open(config string) (*Engine, error) {
	switch {
	case config == "auto":
		return openAuto()
	case config == "go" || config == "purego" || config == "simplego":
		return openPureGo(config == "simplego")
	case config == "xla:install":
		if err := installXLA(); err != nil {
			return nil, err
		}
		return openXLA("")
	case config == "xla" || strings.HasPrefix(config, "xla:"):
		return openXLA(strings.TrimPrefix(strings.TrimPrefix(config, "xla"), ":"))
	}
	return nil, fmt.Errorf("unknown backend %q: want auto, go, xla:cpu, xla:cuda or xla:/path/to/plugin.so", config)
}

// openPureGo opens the pure-Go backend: Bonsai's purego when linked in, else GoMLX's SimpleGo.
func openPureGo(forceSimple bool) (*Engine, error) {
	if !forceSimple && slices.Contains(backends.List(), PureGoBackend) {
		b, err := backends.NewWithConfig(PureGoBackend)
		if err != nil {
			return nil, fmt.Errorf("opening the pure-Go backend: %w", err)
		}
		return &Engine{Backend: b, Name: PureGoBackend}, nil
	}
	b, err := backends.NewWithConfig(SimpleGoBackend)
	if err != nil {
		return nil, fmt.Errorf("opening GoMLX's SimpleGo backend: %w", err)
	}
	e := &Engine{Backend: b, Name: SimpleGoBackend}
	if !forceSimple {
		e.Note = "the purego backend is not linked into this binary; using GoMLX's SimpleGo, which cannot train CNNs"
	}
	return e, nil
}

// openAuto takes a CUDA plugin when a GPU is present, then the XLA CPU plugin, then pure Go.
func openAuto() (*Engine, error) {
	found := Discover()
	var tried []string
	for _, kind := range []string{"cuda", "cpu"} {
		p := found.Best(kind)
		if p == nil || (kind == "cuda" && !found.GPU) {
			continue
		}
		e, err := openPlugin(p)
		if err == nil {
			return e, nil
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", p.Path, err))
	}
	e, err := openPureGo(false)
	if err != nil {
		return nil, err
	}
	note := "no XLA plugin found; running on the CPU in pure Go (run 'bonsai doctor' to see how to get a faster backend)"
	if len(tried) > 0 {
		note = "XLA plugin failed to load: " + strings.Join(tried, "; ") + "; using pure Go (see 'bonsai doctor')"
	}
	e.Note = strings.TrimSpace(note + " " + e.Note)
	return e, nil
}

// openXLA opens "cpu", "cuda" or an absolute plugin path.
func openXLA(which string) (*Engine, error) {
	if which == "" {
		which = "cpu"
	}
	if strings.HasPrefix(which, "/") {
		return openPlugin(&Plugin{Path: which, Kind: pluginKind(which)})
	}
	p := Discover().Best(which)
	if p == nil {
		return nil, fmt.Errorf("no XLA %s plugin found (searched %s); run 'bonsai doctor' for how to install one",
			which, strings.Join(SearchDirs(), ", "))
	}
	return openPlugin(p)
}
