//go:build amd64 && !purego

#include "textflag.h"

// Row loops of the batch-norm kernels (channels last), AVX2/FMA; n is a multiple of 8.

// func bnSumsAVX2(x, y *float32, s1, s2 *float64, n int)
// s1[i] += float64(y[i]); s2[i] += float64(x[i]) * float64(y[i]).
TEXT ·bnSumsAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ s1+16(FP), DI
	MOVQ s2+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   sdone
sloop:
	VCVTPS2PD (DX), Y0    // y[0:4]
	VCVTPS2PD 16(DX), Y1  // y[4:8]
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VADDPD (DI), Y0, Y4
	VADDPD 32(DI), Y1, Y5
	VMOVUPD Y4, (DI)
	VMOVUPD Y5, 32(DI)
	VMOVUPD (R8), Y4
	VMOVUPD 32(R8), Y5
	VFMADD231PD Y2, Y0, Y4
	VFMADD231PD Y3, Y1, Y5
	VMOVUPD Y4, (R8)
	VMOVUPD Y5, 32(R8)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $64, DI
	ADDQ $64, R8
	DECQ CX
	JNZ  sloop
sdone:
	VZEROUPPER
	RET

// func bnAffineAVX2(dst, x, f, s *float32, n int)
// dst[i] = x[i]*f[i] + s[i].
TEXT ·bnAffineAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ f+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   adone
aloop:
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y1
	VFMADD231PS (DX), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ  aloop
adone:
	VZEROUPPER
	RET

// func bnGradInputAVX2(dst, dy, x, a, b, c *float32, n int)
// dst[i] = a[i]*dy[i] + b[i]*x[i] + c[i].
TEXT ·bnGradInputAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ a+24(FP), R8
	MOVQ b+32(FP), R9
	MOVQ c+40(FP), R10
	MOVQ n+48(FP), CX
	SHRQ $3, CX
	JZ   gdone
gloop:
	VMOVUPS (R10), Y0
	VMOVUPS (SI), Y1
	VFMADD231PS (R8), Y1, Y0
	VMOVUPS (DX), Y2
	VFMADD231PS (R9), Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNZ  gloop
gdone:
	VZEROUPPER
	RET
