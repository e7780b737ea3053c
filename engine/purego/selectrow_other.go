//go:build !amd64 || purego

package purego

// selectRowFast has no vector loop on this platform.
func selectRowFast(out, x, best, src, taken []float32) int { return 0 }
