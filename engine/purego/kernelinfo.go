package purego

import "runtime"

// MatMulKernel names the matrix multiply kernel this binary runs: assembly where the CPU and the
// build allow it (not with -tags purego), plain Go elsewhere.
func MatMulKernel() string {
	if !haveFastKernel {
		return "plain Go (" + runtime.GOARCH + ")"
	}
	if runtime.GOARCH == "amd64" {
		return "AVX2/FMA assembly"
	}
	return runtime.GOARCH + " assembly"
}
