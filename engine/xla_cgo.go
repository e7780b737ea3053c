//go:build cgo

package engine

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends/xla"
)

// XLALinked reports whether this binary can load XLA PJRT plugins (it needs cgo), and why not.
func XLALinked() (bool, string) {
	return true, "built with cgo: XLA PJRT plugins can be loaded"
}

// installXLA downloads GoMLX's XLA CPU plugin (and CUDA's where a GPU is present).
func installXLA() error {
	if err := xla.AutoInstall(); err != nil {
		return fmt.Errorf("installing the XLA plugins (needs access to github.com): %w", err)
	}
	return nil
}

// openPlugin loads a PJRT plugin by absolute path (no auto-install, no network).
func openPlugin(p *Plugin) (*Engine, error) {
	if _, err := os.Stat(p.Path); err != nil {
		return nil, fmt.Errorf("PJRT plugin: %w", err)
	}
	xla.EnableAutoInstall(false)
	if p.Kind == "cuda" {
		if err := prepareCUDA(p); err != nil {
			return nil, err
		}
	}
	cfg := p.Path
	if p.Kind == "cpu" {
		cfg += ",shared_buffers"
	}
	b, err := xla.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("loading PJRT plugin %s: %w", p.Path, err)
	}
	return &Engine{Backend: b, Name: "xla:" + p.Kind, Plugin: p.Path}, nil
}

// prepareCUDA sets what go-xla and the CUDA plugin read from the environment: it disables
// go-xla v0.1.4's check that would point XLA_FLAGS at its developer's home folder, points XLA at
// the CUDA toolkit (for ptxas and libdevice) and loads the NVIDIA libraries that a JAX-installed
// plugin expects beside it.
func prepareCUDA(p *Plugin) error {
	os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	if dir := cudaDataDir(); dir != "" && !strings.Contains(os.Getenv("XLA_FLAGS"), "--xla_gpu_cuda_data_dir") {
		os.Setenv("XLA_FLAGS", strings.TrimSpace(os.Getenv("XLA_FLAGS")+" --xla_gpu_cuda_data_dir="+dir))
	}
	return preloadNvidiaLibs(p.LibDirs)
}

// cudaDataDir is the CUDA toolkit folder holding nvvm/libdevice, or "".
func cudaDataDir() string {
	for _, d := range []string{os.Getenv("CUDA_HOME"), os.Getenv("CUDA_PATH"), "/usr/local/cuda", "/usr/lib/cuda"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(d + "/nvvm/libdevice"); err == nil {
			return d
		}
	}
	return ""
}

// PluginVersion loads a plugin (without creating a client) and returns its PJRT C API version.
func PluginVersion(p *Plugin) (string, error) {
	if p.Kind == "cuda" {
		if err := prepareCUDA(p); err != nil {
			return "", err
		}
	}
	pl, err := pjrt.GetPlugin(p.Path)
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", p.Path, err)
	}
	major, minor := pl.Version()
	v := fmt.Sprintf("PJRT C API %d.%d", major, minor)
	if xv, ok := pl.Attributes()["xla_version"]; ok {
		v += fmt.Sprintf(", XLA %v", xv)
	}
	return v, nil
}
