package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a real shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverFindsGoXLAAndJAXPlugins(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "pjrt", "pjrt_c_api_cpu_plugin.so"))
	site := filepath.Join(dir, "venv", "lib", "python3.12", "site-packages")
	touch(t, filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	touch(t, filepath.Join(site, "nvidia", "cu13", "lib", "libcudart.so.13"))
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", filepath.Join(dir, "pjrt"))
	t.Setenv("VIRTUAL_ENV", filepath.Join(dir, "venv"))

	f := Discover()
	cpu, cuda := f.Best("cpu"), f.Best("cuda")
	if cpu == nil || cpu.Path != filepath.Join(dir, "pjrt", "pjrt_c_api_cpu_plugin.so") {
		t.Fatalf("cpu plugin: got %+v", cpu)
	}
	if cuda == nil || !strings.HasPrefix(cuda.Path, site) {
		t.Fatalf("cuda plugin: got %+v (all: %+v)", cuda, f.Plugins)
	}
	if len(cuda.LibDirs) != 1 || cuda.LibDirs[0] != filepath.Join(site, "nvidia", "cu13", "lib") {
		t.Fatalf("cuda lib dirs: %v", cuda.LibDirs)
	}
}

func TestAutoFallsBackToPureGoWithNote(t *testing.T) {
	dir := t.TempDir()
	// A broken CPU plugin: auto must try it, fail, and fall back with a note naming it.
	bad := filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")
	touch(t, bad)
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", dir)
	t.Setenv("VIRTUAL_ENV", "")
	if f := Discover(); f.GPU && f.Best("cuda") != nil {
		t.Skip("a CUDA plugin and a GPU are present: auto would take them")
	}
	e, err := open("auto")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != PureGoBackend || !strings.Contains(e.Note, bad) || !strings.Contains(e.Note, "pure Go") {
		t.Fatalf("auto gave %q with note %q", e.Name, e.Note)
	}

	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	e, err = open("auto")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != PureGoBackend || !strings.Contains(e.Note, "bonsai doctor") {
		t.Fatalf("auto without plugins gave %q with note %q", e.Name, e.Note)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	for config, want := range map[string]string{
		"tpu9":                "unknown backend",
		"xla:cpu":             "no XLA cpu plugin found",
		"xla:/nonexistent.so": "nonexistent.so",
	} {
		if _, err := open(config); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open(%q) = %v, want an error containing %q", config, err, want)
		}
	}
	t.Setenv(EnvBackend, "go")
	e, err := Open("")
	if err != nil || e.Name != PureGoBackend {
		t.Fatalf("Open(\"\") with %s=go: %v, %v", EnvBackend, e, err)
	}
}

// TestCheckBatchRefusesWhatDoesNotFit: a batch over the memory is refused with the estimate and
// the largest batch that fits, which does fit.
func TestCheckBatchRefusesWhatDoesNotFit(t *testing.T) {
	g := cnnGraph()
	m, err := EstimateMemory(g, true)
	if err != nil {
		t.Fatal(err)
	}
	avail := m.Batch(100)
	if err := checkBatch(g, 100, true, avail); err != nil {
		t.Errorf("batch 100 in its own estimate: %v", err)
	}
	err = checkBatch(g, 100000000, true, avail)
	if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "largest batch that fits is about 100") || strings.Contains(err.Error(), "\n") {
		t.Errorf("batch 1e8: %v", err)
	}
	if mi, _ := EstimateMemory(g, false); mi.PerSample >= m.PerSample {
		t.Errorf("prediction estimate %d per sample is not below training's %d", mi.PerSample, m.PerSample)
	}
}
