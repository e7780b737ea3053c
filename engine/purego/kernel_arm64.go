//go:build arm64 && !purego

package purego

// Every arm64 CPU has NEON (Advanced SIMD): the micro-kernel is kernel_arm64.s.
const haveFastKernel = true
