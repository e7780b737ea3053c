//go:build !linux

package data

// exchange is not available here; replace falls back to two renames.
func exchange(a, b string) bool { return false }
