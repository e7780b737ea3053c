//go:build !cgo

package engine

import (
	"errors"
	"fmt"
)

// errNoCgo explains why a static (CGO_ENABLED=0) binary cannot use XLA.
var errNoCgo = errors.New("this bonsai binary was built without cgo (CGO_ENABLED=0), so it cannot load XLA PJRT plugins; " +
	"use the pure-Go backend (--backend go) or build with cgo (CGO_ENABLED=1 go build ./cmd/bonsai) for XLA")

// XLALinked reports whether this binary can load XLA PJRT plugins (it needs cgo), and why not.
func XLALinked() (bool, string) {
	return false, "built without cgo (CGO_ENABLED=0): only the pure-Go backend is available; a cgo build (CGO_ENABLED=1 go build ./cmd/bonsai) adds XLA"
}

func installXLA() error { return errNoCgo }

func openPlugin(p *Plugin) (*Engine, error) {
	return nil, fmt.Errorf("loading PJRT plugin %s: %w", p.Path, errNoCgo)
}

// PluginVersion needs cgo to load the plugin.
func PluginVersion(p *Plugin) (string, error) { return "", errNoCgo }
