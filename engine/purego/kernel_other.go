//go:build !(amd64 || arm64) || purego

package purego

const haveFastKernel = false

func fastKernel(k int, a []float32, aRow, aDepth int, b []float32, ldb int, c []float32, ldc int, overwrite bool) {
	goKernel(k, a, aRow, aDepth, b, ldb, c, ldc, overwrite)
}
