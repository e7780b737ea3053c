package engine

import (
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
