//go:build amd64 && !purego

#include "textflag.h"

// func selectRowAVX2(out, x, best, src, taken *float32, n int)
// For i < n (a multiple of 8): where x[i] == best[i] and taken[i] is not yet
// set (all bits), out[i] += src[i] and taken[i] becomes set.
TEXT ·selectRowAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ best+16(FP), DX
	MOVQ src+24(FP), R8
	MOVQ taken+32(FP), R9
	MOVQ n+40(FP), CX
	SHRQ $3, CX
	JZ   done
loop:
	VMOVUPS (SI), Y0
	VCMPPS  $0, (DX), Y0, Y0 // x == best (ordered)
	VMOVUPS (R9), Y1
	VANDNPS Y0, Y1, Y0       // and not yet taken
	VANDPS  (R8), Y0, Y2     // the source where selected
	VADDPS  (DI), Y2, Y2
	VMOVUPS Y2, (DI)
	VORPS   Y1, Y0, Y1
	VMOVUPS Y1, (R9)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  loop
done:
	VZEROUPPER
	RET
