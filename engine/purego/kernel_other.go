//go:build !amd64 || purego

package purego

const haveFastKernel = false

func fastKernel(k int, a, b, c []float32, ldc int) { goKernel(k, a, b, c, ldc) }
