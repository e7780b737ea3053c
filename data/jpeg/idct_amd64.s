//go:build amd64 && !purego

#include "textflag.h"

// Constants of the LLM inverse DCT (see idct.go), each broadcast to 8 int32 lanes.
#define CONST8(name, v) \
	DATA name<>+0(SB)/4, $v; DATA name<>+4(SB)/4, $v; DATA name<>+8(SB)/4, $v; DATA name<>+12(SB)/4, $v; \
	DATA name<>+16(SB)/4, $v; DATA name<>+20(SB)/4, $v; DATA name<>+24(SB)/4, $v; DATA name<>+28(SB)/4, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(k0298, 2446)
CONST8(k0390n, -3196)
CONST8(k0541, 4433)
CONST8(k0765, 6270)
CONST8(k0899n, -7373)
CONST8(k1175, 9633)
CONST8(k1501, 12299)
CONST8(k1847, 15137)
CONST8(k1961n, -16069)
CONST8(k2053, 16819)
CONST8(k2562n, -20995)
CONST8(k3072, 25172)
CONST8(round11, 1024)
CONST8(round18, 131072)
CONST8(k128, 128)

DATA rowOrder<>+0(SB)/4, $0
DATA rowOrder<>+4(SB)/4, $4
DATA rowOrder<>+8(SB)/4, $1
DATA rowOrder<>+12(SB)/4, $5
DATA rowOrder<>+16(SB)/4, $2
DATA rowOrder<>+20(SB)/4, $6
DATA rowOrder<>+24(SB)/4, $3
DATA rowOrder<>+28(SB)/4, $7
GLOBL rowOrder<>(SB), RODATA|NOPTR, $32

// LLM computes one 8-point pass on eight columns at once: inputs in Y0..Y7 (Y0 = coefficient
// row 0 of every column, ...), outputs descaled by SHIFT bits (rounding constant ROUND) in
// Y8..Y15, in the order of llm's out[0..7]. All arithmetic is int32 modulo 2^32, as in Go, so
// the order of the additions does not change the result. Register use: the even part leaves
// tmp10, tmp12, tmp13, tmp11 in Y0, Y2, Y4, Y6; the odd part t3, t2, t1, t0 in Y1, Y3, Y5, Y7.
#define LLM(ROUND, SHIFT) \
	VPADDD   Y6, Y2, Y8 \
	VPMULLD  k0541<>(SB), Y8, Y8 \
	VPMULLD  k1847<>(SB), Y6, Y9 \
	VPSUBD   Y9, Y8, Y9 \
	VPMULLD  k0765<>(SB), Y2, Y10 \
	VPADDD   Y10, Y8, Y10 \
	VPADDD   Y4, Y0, Y8          \
	VPSLLD   $13, Y8, Y8 \
	VPSUBD   Y4, Y0, Y2          \
	VPSLLD   $13, Y2, Y2 \
	VPADDD   Y10, Y8, Y0 \
	VPSUBD   Y10, Y8, Y4 \
	VPADDD   Y9, Y2, Y6 \
	VPSUBD   Y9, Y2, Y2 \
	VPADDD   Y1, Y7, Y8 \
	VPADDD   Y3, Y5, Y9 \
	VPADDD   Y3, Y7, Y10 \
	VPADDD   Y1, Y5, Y11 \
	VPADDD   Y11, Y10, Y12       \
	VPMULLD  k1175<>(SB), Y12, Y12 \
	VPMULLD  k0298<>(SB), Y7, Y7 \
	VPMULLD  k2053<>(SB), Y5, Y5 \
	VPMULLD  k3072<>(SB), Y3, Y3 \
	VPMULLD  k1501<>(SB), Y1, Y1 \
	VPMULLD  k0899n<>(SB), Y8, Y8 \
	VPMULLD  k2562n<>(SB), Y9, Y9 \
	VPMULLD  k1961n<>(SB), Y10, Y10 \
	VPADDD   Y12, Y10, Y10       \
	VPMULLD  k0390n<>(SB), Y11, Y11 \
	VPADDD   Y12, Y11, Y11       \
	VPADDD   Y8, Y7, Y7          \
	VPADDD   Y10, Y7, Y7 \
	VPADDD   Y9, Y5, Y5          \
	VPADDD   Y11, Y5, Y5 \
	VPADDD   Y9, Y3, Y3          \
	VPADDD   Y10, Y3, Y3 \
	VPADDD   Y8, Y1, Y1          \
	VPADDD   Y11, Y1, Y1 \
	VPADDD   Y1, Y0, Y8          \
	VPSUBD   Y1, Y0, Y15         \
	VPADDD   Y3, Y6, Y9          \
	VPSUBD   Y3, Y6, Y14         \
	VPADDD   Y5, Y2, Y10         \
	VPSUBD   Y5, Y2, Y13         \
	VPADDD   Y7, Y4, Y11         \
	VPSUBD   Y7, Y4, Y12         \
	VPADDD   ROUND<>(SB), Y8, Y8       \
	VPADDD   ROUND<>(SB), Y9, Y9       \
	VPADDD   ROUND<>(SB), Y10, Y10     \
	VPADDD   ROUND<>(SB), Y11, Y11     \
	VPADDD   ROUND<>(SB), Y12, Y12     \
	VPADDD   ROUND<>(SB), Y13, Y13     \
	VPADDD   ROUND<>(SB), Y14, Y14     \
	VPADDD   ROUND<>(SB), Y15, Y15     \
	VPSRAD   $SHIFT, Y8, Y8      \
	VPSRAD   $SHIFT, Y9, Y9      \
	VPSRAD   $SHIFT, Y10, Y10    \
	VPSRAD   $SHIFT, Y11, Y11    \
	VPSRAD   $SHIFT, Y12, Y12    \
	VPSRAD   $SHIFT, Y13, Y13    \
	VPSRAD   $SHIFT, Y14, Y14    \
	VPSRAD   $SHIFT, Y15, Y15

// TRANSPOSE transposes the 8x8 int32 matrix in Y8..Y15 (rows) into Y0..Y7 (columns).
#define TRANSPOSE \
	VPUNPCKLDQ  Y9, Y8, Y0     \
	VPUNPCKHDQ  Y9, Y8, Y1     \
	VPUNPCKLDQ  Y11, Y10, Y2   \
	VPUNPCKHDQ  Y11, Y10, Y3   \
	VPUNPCKLDQ  Y13, Y12, Y4   \
	VPUNPCKHDQ  Y13, Y12, Y5   \
	VPUNPCKLDQ  Y15, Y14, Y6   \
	VPUNPCKHDQ  Y15, Y14, Y7   \
	VPUNPCKLQDQ Y2, Y0, Y8     \
	VPUNPCKHQDQ Y2, Y0, Y9     \
	VPUNPCKLQDQ Y3, Y1, Y10    \
	VPUNPCKHQDQ Y3, Y1, Y11    \
	VPUNPCKLQDQ Y6, Y4, Y12    \
	VPUNPCKHQDQ Y6, Y4, Y13    \
	VPUNPCKLQDQ Y7, Y5, Y14    \
	VPUNPCKHQDQ Y7, Y5, Y15    \
	VPERM2I128  $0x20, Y12, Y8, Y0 \
	VPERM2I128  $0x20, Y13, Y9, Y1 \
	VPERM2I128  $0x20, Y14, Y10, Y2 \
	VPERM2I128  $0x20, Y15, Y11, Y3 \
	VPERM2I128  $0x31, Y12, Y8, Y4 \
	VPERM2I128  $0x31, Y13, Y9, Y5 \
	VPERM2I128  $0x31, Y14, Y10, Y6 \
	VPERM2I128  $0x31, Y15, Y11, Y7

// func idct8AVX2(coef, q *[64]int32, dst *uint8, stride int)
// The accurate integer inverse DCT of idct8Go, both passes on eight lanes: the column pass on
// the coefficient rows as they lie, a transpose, the row pass, a transpose back, and the
// samples (+128, clamped to 0..255 by saturating packs) stored 8 bytes a row.
TEXT ·idct8AVX2(SB), NOSPLIT, $0-32
	MOVQ coef+0(FP), SI
	MOVQ q+8(FP), DX
	MOVQ dst+16(FP), DI
	MOVQ stride+24(FP), BX
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7
	VPMULLD 0(DX), Y0, Y0
	VPMULLD 32(DX), Y1, Y1
	VPMULLD 64(DX), Y2, Y2
	VPMULLD 96(DX), Y3, Y3
	VPMULLD 128(DX), Y4, Y4
	VPMULLD 160(DX), Y5, Y5
	VPMULLD 192(DX), Y6, Y6
	VPMULLD 224(DX), Y7, Y7
	LLM(round11, 11)
	TRANSPOSE
	LLM(round18, 18)
	VPADDD k128<>(SB), Y8, Y8
	VPADDD k128<>(SB), Y9, Y9
	VPADDD k128<>(SB), Y10, Y10
	VPADDD k128<>(SB), Y11, Y11
	VPADDD k128<>(SB), Y12, Y12
	VPADDD k128<>(SB), Y13, Y13
	VPADDD k128<>(SB), Y14, Y14
	VPADDD k128<>(SB), Y15, Y15
	TRANSPOSE
	// Y0..Y7 are the rows of samples. Packing pairs of rows to int16 and then to bytes leaves
	// dwords (4 samples) r0[0:4] r1[0:4] r2[0:4] r3[0:4] | r0[4:8] r1[4:8] r2[4:8] r3[4:8];
	// VPERMD puts each row's halves together, and each quadword is a row.
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKUSWB Y2, Y0, Y0
	VPACKUSWB Y6, Y4, Y4
	VMOVDQU rowOrder<>(SB), Y8
	VPERMD  Y0, Y8, Y0
	VPERMD  Y4, Y8, Y4
	LEAQ    (BX)(BX*2), R8
	VMOVQ   X0, (DI)
	VPEXTRQ $1, X0, (DI)(BX*1)
	VEXTRACTI128 $1, Y0, X1
	VMOVQ   X1, (DI)(BX*2)
	VPEXTRQ $1, X1, (DI)(R8*1)
	LEAQ    (DI)(BX*4), DI
	VMOVQ   X4, (DI)
	VPEXTRQ $1, X4, (DI)(BX*1)
	VEXTRACTI128 $1, Y4, X5
	VMOVQ   X5, (DI)(BX*2)
	VPEXTRQ $1, X5, (DI)(R8*1)
	VZEROUPPER
	RET
