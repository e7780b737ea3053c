//go:build amd64 && !purego

package jpeg

import "golang.org/x/sys/cpu"

// idct8AVX2 is idct8Go in AVX2 (idct_amd64.s): the same int32 arithmetic on eight lanes.
//
//go:noescape
func idct8AVX2(coef, q *[64]int32, dst *uint8, stride int)

func init() {
	if cpu.X86.HasAVX2 {
		idct8 = idct8Asm
	}
}

func idct8Asm(coef, q *[64]int32, dst []uint8, stride int) {
	_ = dst[7*stride+7] // the assembly writes 8 bytes of 8 rows
	idct8AVX2(coef, q, &dst[0], stride)
}
