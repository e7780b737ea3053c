package cli

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/engine/purego"
)

func init() {
	Register(&Command{Path: "doctor", Short: "show compute backends, plugins, devices and CPU features", Run: runDoctor})
}

func runDoctor(env *Env, args []string) error {
	fs := NewFlagSet(env, "doctor", "[--backend X]")
	var backend string
	BackendFlag(fs, &backend)
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	w := env.Stdout
	name, flags := engine.CPUFeatures()
	fmt.Fprintf(w, "CPU:      %s, %d cores (%s/%s)\n", name, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "          SIMD: %s\n", orNone(strings.Join(flags, " ")))
	found := engine.Discover()
	fmt.Fprintf(w, "GPU:      %v (%s)\n", found.GPU, found.GPUEvidence)
	fmt.Fprintln(w, "Backends in this binary:")
	fmt.Fprintf(w, "  go       yes: pure Go, trains CNNs on any CPU; matrix kernel: %s\n", purego.MatMulKernel())
	if ok, why := engine.XLALinked(); ok {
		fmt.Fprintf(w, "  xla      yes: %s (xla:cpu and xla:cuda need a PJRT plugin file)\n", why)
	} else {
		fmt.Fprintf(w, "  xla      no: %s\n", why)
	}
	fmt.Fprintf(w, "Plugins searched in: %s and Python site-packages (jax_plugins/xla_cuda*)\n", strings.Join(engine.SearchDirs(), ", "))
	printPlugins(w, found)

	fmt.Fprintln(w)
	e, err := engine.Open(backend)
	if err != nil {
		fmt.Fprintf(w, "Backend:  cannot open %q: %v\n", backend, err)
	} else {
		fmt.Fprintf(w, "Backend:  %s (%s)\n", e.Name, e.Backend.Description())
		for i, d := range e.Devices() {
			fmt.Fprintf(w, "  device %d: %s\n", i, d)
		}
	}
	fmt.Fprintln(w)
	printAdvice(w, found, e)
	return nil
}

func printPlugins(w io.Writer, found *engine.Found) {
	if len(found.Plugins) == 0 {
		fmt.Fprintln(w, "          no PJRT plugin found")
		return
	}
	for _, p := range found.Plugins {
		version := "not loaded (no GPU)"
		if p.Kind != "cuda" || found.GPU {
			v, err := engine.PluginVersion(p)
			if err != nil {
				version = "fails to load: " + err.Error()
			} else {
				version = v
			}
		}
		fmt.Fprintf(w, "  %-5s %s\n        from %s; %s\n", p.Kind, p.Path, p.Source, version)
	}
}

func printAdvice(w io.Writer, found *engine.Found, e *engine.Engine) {
	fmt.Fprintln(w, "Faster backends:")
	switch {
	case e != nil && e.Name == "xla:cuda":
		fmt.Fprintln(w, "  you are on the fastest backend (XLA on an NVIDIA GPU).")
		return
	case found.GPU && found.Best("cuda") == nil:
		fmt.Fprintln(w, "  an NVIDIA GPU is present but no CUDA PJRT plugin: install JAX's, e.g.")
		fmt.Fprintln(w, "    python3 -m venv ~/.venv && ~/.venv/bin/pip install -U \"jax[cuda13]\"")
		fmt.Fprintln(w, "  bonsai finds site-packages/jax_plugins/xla_cuda*/xla_cuda_plugin.so and the nvidia/* libraries beside it;")
		fmt.Fprintln(w, "  a CUDA toolkit in /usr/local/cuda (ptxas, nvvm/libdevice) is used when present.")
	}
	if ok, _ := engine.XLALinked(); !ok {
		fmt.Fprintln(w, "  this is a static pure-Go build: XLA plugins need a cgo build (CGO_ENABLED=1 go build ./cmd/bonsai, with a C compiler).")
	}
	if found.Best("cpu") == nil {
		fmt.Fprintln(w, "  XLA CPU plugin (several times faster than pure Go on CPUs with AVX2/AVX-512): with network access run")
		fmt.Fprintln(w, "    bonsai doctor --backend xla:install")
		fmt.Fprintln(w, "  or put pjrt_c_api_cpu_plugin.so (github.com/gomlx/pjrt-cpu-binaries) in ~/.local/lib/go-xla")
		fmt.Fprintln(w, "  or in a folder named by PJRT_PLUGIN_LIBRARY_PATH.")
	}
	if e != nil && strings.HasPrefix(e.Name, "xla:cpu") {
		fmt.Fprintln(w, "  none on this machine without a GPU: XLA CPU is the fastest CPU backend.")
	} else {
		fmt.Fprintln(w, "  without them bonsai trains in pure Go (backend \"go\"), which needs no set-up.")
	}
}

func orNone(s string) string {
	if s == "" {
		return "none detected"
	}
	return s
}
