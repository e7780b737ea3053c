//go:build !unix && !windows

package results

import "os"

// Platforms without file locks (js, wasip1, plan9) run unguarded.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
