//go:build !amd64 || purego

package purego

// mulAddF32 sets dst[i] += a[i]*b[i].
func mulAddF32(dst, a, b []float32) { mulAddGo(dst, a, b) }
