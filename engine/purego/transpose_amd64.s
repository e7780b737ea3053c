//go:build amd64 && !purego

#include "textflag.h"

// func transpose8AVX2(out, src *float32, stride, outStride, n int)
// out[q*outStride + i] = src[i*stride + q] for i < 8 and q < n, n a multiple
// of 8 (strides in elements): eight rows of src become eight columns of out,
// one 8x8 block (unpack, shuffle, lane permute) at a time.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ outStride+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $2, BX          // row stride in bytes
	SHLQ $2, DX          // out row stride in bytes
	LEAQ (BX)(BX*2), R10 // 3 rows
	LEAQ (SI)(BX*4), R11 // row 4
	LEAQ (DX)(DX*2), R12 // 3 out rows
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	VMOVUPS (R11), Y4
	VMOVUPS (R11)(BX*1), Y5
	VMOVUPS (R11)(BX*2), Y6
	VMOVUPS (R11)(R10*1), Y7
	VUNPCKLPS Y1, Y0, Y8  // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y1, Y0, Y9  // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y3, Y2, Y10 // c0 d0 c1 d1 | ...
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0  // a0 b0 c0 d0 | a4 b4 c4 d4
	VSHUFPS $0xEE, Y10, Y8, Y1  // a1 b1 c1 d1 | a5 ...
	VSHUFPS $0x44, Y11, Y9, Y2  // a2 b2 c2 d2 | a6 ...
	VSHUFPS $0xEE, Y11, Y9, Y3  // a3 b3 c3 d3 | a7 ...
	VSHUFPS $0x44, Y14, Y12, Y4 // e0 f0 g0 h0 | e4 ...
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8  // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9  // column 1
	VPERM2F128 $0x20, Y6, Y2, Y10 // column 2
	VPERM2F128 $0x20, Y7, Y3, Y11 // column 3
	VPERM2F128 $0x31, Y4, Y0, Y12 // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(DX*1)
	VMOVUPS Y10, (DI)(DX*2)
	VMOVUPS Y11, (DI)(R12*1)
	LEAQ (DI)(DX*4), R13
	VMOVUPS Y12, (R13)
	VMOVUPS Y13, (R13)(DX*1)
	VMOVUPS Y14, (R13)(DX*2)
	VMOVUPS Y15, (R13)(R12*1)
	ADDQ $32, SI
	ADDQ $32, R11
	LEAQ (DI)(DX*8), DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET
