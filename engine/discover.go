package engine

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"golang.org/x/sys/cpu"
)

// pluginPathsEnv is go-xla's variable listing plugin folders (pjrt.PJRTPluginPathsEnv).
const pluginPathsEnv = "PJRT_PLUGIN_LIBRARY_PATH"

// Plugin is a PJRT plugin file found on this machine.
type Plugin struct {
	Path string
	// Kind is "cuda", "cpu" or the plugin's own name (e.g. "tpu").
	Kind string
	// Source says where it was found.
	Source string
	// LibDirs are folders of NVIDIA libraries the plugin needs (JAX's pip layout).
	LibDirs []string
}

// Found is what Discover saw.
type Found struct {
	Plugins []*Plugin
	// GPU is true when an NVIDIA GPU is visible (/dev/nvidia0 or a working nvidia-smi).
	GPU         bool
	GPUEvidence string
}

// Best returns the first plugin of a kind, or nil.
func (f *Found) Best(kind string) *Plugin {
	for _, p := range f.Plugins {
		if p.Kind == kind {
			return p
		}
	}
	return nil
}

// Discover looks for PJRT plugins where go-xla looks (PJRT_PLUGIN_LIBRARY_PATH, else its default
// folders and LD_LIBRARY_PATH) and in Python environments with JAX's CUDA plugin installed.
// It reads only the file system: no plugin is loaded.
func Discover() *Found {
	f := &Found{}
	f.GPU, f.GPUEvidence = detectGPU()
	seen := map[string]bool{}
	add := func(p *Plugin) {
		if real, err := filepath.EvalSymlinks(p.Path); err == nil && !seen[real] {
			seen[real] = true
			f.Plugins = append(f.Plugins, p)
		}
	}
	source := "go-xla default folder"
	if os.Getenv(pluginPathsEnv) != "" {
		source = pluginPathsEnv
	}
	for _, dir := range SearchDirs() {
		for _, path := range pluginFiles(dir) {
			add(&Plugin{Path: path, Kind: pluginKind(path), Source: source})
		}
	}
	for _, site := range sitePackages() {
		matches, _ := filepath.Glob(filepath.Join(site, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"))
		for _, path := range matches {
			libs, _ := filepath.Glob(filepath.Join(site, "nvidia", "*", "lib"))
			add(&Plugin{Path: path, Kind: "cuda", Source: "JAX in " + site, LibDirs: libs})
		}
	}
	return f
}

// SearchDirs are the folders searched for pjrt_c_api_<name>_plugin.so files, as go-xla v0.1.4
// searches them.
func SearchDirs() []string {
	if env := os.Getenv(pluginPathsEnv); env != "" {
		return slices.DeleteFunc(strings.Split(env, ":"), func(s string) bool { return s == "" })
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local/lib/go-xla"), filepath.Join(home, ".local/lib/go-xla/nvidia"),
			filepath.Join(home, ".local/lib/gomlx/pjrt"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
	for _, d := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

var pluginNameRes = []*regexp.Regexp{
	regexp.MustCompile(`^pjrt_c_api_(.+)_plugin\.so$`),
	regexp.MustCompile(`^pjrt[-_]plugin[-_](.+)\.so$`),
}

func pluginFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		for _, re := range pluginNameRes {
			if re.MatchString(e.Name()) {
				out = append(out, filepath.Join(dir, e.Name()))
				break
			}
		}
	}
	return out
}

// pluginKind guesses "cuda" or "cpu" from a plugin file name.
func pluginKind(path string) string {
	base := filepath.Base(path)
	for _, re := range pluginNameRes {
		if m := re.FindStringSubmatch(base); m != nil {
			base = m[1]
		}
	}
	low := strings.ToLower(base)
	switch {
	case strings.Contains(low, "cuda") || strings.Contains(low, "nvidia"):
		return "cuda"
	case strings.Contains(low, "cpu"):
		return "cpu"
	}
	return low
}

// sitePackages lists Python site-packages folders of the system, the user, pyenv, conda and
// common virtual environments (including /opt/*/.venv).
func sitePackages() []string {
	home, _ := os.UserHomeDir()
	roots := []string{"/usr/lib", "/usr/local/lib", "/opt/*/.venv/lib", "/opt/*/venv/lib", "/opt/*/lib",
		"/opt/conda/lib", home + "/.local/lib", home + "/.venv/lib", home + "/venv/lib",
		home + "/.pyenv/versions/*/lib", home + "/miniconda3/lib", home + "/anaconda3/lib"}
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := os.Getenv(env); v != "" {
			roots = append([]string{v + "/lib"}, roots...)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd+"/.venv/lib")
	}
	var out []string
	for _, r := range roots {
		for _, sub := range []string{"python3*/site-packages", "python3*/dist-packages", "python3/dist-packages"} {
			m, _ := filepath.Glob(filepath.Join(r, sub))
			out = append(out, m...)
		}
	}
	return out
}

// detectGPU reports whether an NVIDIA GPU is visible.
func detectGPU() (bool, string) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		return true, "/dev/nvidia0"
	}
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return false, "no /dev/nvidia0 and no nvidia-smi"
	}
	out, err := exec.Command("nvidia-smi", "-L").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GPU") {
		return false, "nvidia-smi found no GPU"
	}
	return true, strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// CPUFeatures returns the CPU's model name (from /proc/cpuinfo where there is one) and the SIMD
// features that matter for the CPU backends, as golang.org/x/sys/cpu detects them.
func CPUFeatures() (modelName string, flags []string) {
	have := []struct {
		name string
		ok   bool
	}{
		{"sse4_2", cpu.X86.HasSSE42}, {"avx", cpu.X86.HasAVX}, {"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA},
		{"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW}, {"avx512_vnni", cpu.X86.HasAVX512VNNI},
		{"avx512_bf16", cpu.X86.HasAVX512BF16}, {"asimd", cpu.ARM64.HasASIMD}, {"asimddp", cpu.ARM64.HasASIMDDP},
	}
	for _, h := range have {
		if h.ok {
			flags = append(flags, h.name)
		}
	}
	return cpuModelName(), flags
}

// cpuModelName reads the first "model name" line of /proc/cpuinfo, or says "unknown".
func cpuModelName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return "unknown"
}

// Devices lists the engine's devices.
func (e *Engine) Devices() []string {
	var out []string
	for i := range e.Backend.NumDevices() {
		out = append(out, e.Backend.DeviceDescription(backends.DeviceNum(i)))
	}
	return out
}
