//go:build amd64 && !purego

#include "textflag.h"

// YCbCr -> RGB (color.go's yccToRGB) on sixteen pixels a step: the same int32 arithmetic on
// eight lanes, clamped by saturating packs, the R, G and B bytes interleaved by byte shuffles.

#define CONST8(name, v) \
	DATA name<>+0(SB)/4, $v; DATA name<>+4(SB)/4, $v; DATA name<>+8(SB)/4, $v; DATA name<>+12(SB)/4, $v; \
	DATA name<>+16(SB)/4, $v; DATA name<>+20(SB)/4, $v; DATA name<>+24(SB)/4, $v; DATA name<>+28(SB)/4, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(c128, 128)
CONST8(chalf, 32768)
CONST8(cCrR, 91881)
CONST8(cCbB, 116130)
CONST8(cCrGn, -46802)
CONST8(cCbGn, -22554)

// shufCk picks, for byte j of output block k (bytes 16k..16k+15 of the RGB row), the sample
// of channel C of pixel (16k+j)/3 when (16k+j)%3 is C; 0x80 (zero) elsewhere.
DATA shufR0<>+0(SB)/8, $0x8002808001808000
DATA shufR0<>+8(SB)/8, $0x0580800480800380
GLOBL shufR0<>(SB), RODATA|NOPTR, $16
DATA shufG0<>+0(SB)/8, $0x0280800180800080
DATA shufG0<>+8(SB)/8, $0x8080048080038080
GLOBL shufG0<>(SB), RODATA|NOPTR, $16
DATA shufB0<>+0(SB)/8, $0x8080018080008080
DATA shufB0<>+8(SB)/8, $0x8004808003808002
GLOBL shufB0<>(SB), RODATA|NOPTR, $16
DATA shufR1<>+0(SB)/8, $0x8080078080068080
DATA shufR1<>+8(SB)/8, $0x800a808009808008
GLOBL shufR1<>(SB), RODATA|NOPTR, $16
DATA shufG1<>+0(SB)/8, $0x8007808006808005
DATA shufG1<>+8(SB)/8, $0x0a80800980800880
GLOBL shufG1<>(SB), RODATA|NOPTR, $16
DATA shufB1<>+0(SB)/8, $0x0780800680800580
DATA shufB1<>+8(SB)/8, $0x8080098080088080
GLOBL shufB1<>(SB), RODATA|NOPTR, $16
DATA shufR2<>+0(SB)/8, $0x0d80800c80800b80
DATA shufR2<>+8(SB)/8, $0x80800f80800e8080
GLOBL shufR2<>(SB), RODATA|NOPTR, $16
DATA shufG2<>+0(SB)/8, $0x80800c80800b8080
DATA shufG2<>+8(SB)/8, $0x800f80800e80800d
GLOBL shufG2<>(SB), RODATA|NOPTR, $16
DATA shufB2<>+0(SB)/8, $0x800c80800b80800a
DATA shufB2<>+8(SB)/8, $0x0f80800e80800d80
GLOBL shufB2<>(SB), RODATA|NOPTR, $16

// TERM turns the int32 products summed in SUM into LUMA + (SUM + half) >> 16.
#define TERM(SUM, LUMA) \
	VPADDD chalf<>(SB), SUM, SUM \
	VPSRAD $16, SUM, SUM \
	VPADDD LUMA, SUM, SUM

// PACK16 clamps two vectors of 8 int32 (pixels 0-7 in LO, 8-15 in HI) to 16 bytes in XLO.
#define PACK16(LO, HI, XLO, XHI) \
	VPACKSSDW HI, LO, LO \
	VPERMQ $0xD8, LO, LO \
	VEXTRACTI128 $1, LO, XHI \
	VPACKUSWB XHI, XLO, XLO

#define INTERLEAVE(MR, MG, MB, off) \
	VPSHUFB MR<>(SB), X6, X8 \
	VPSHUFB MG<>(SB), X2, X9 \
	VPOR X9, X8, X8 \
	VPSHUFB MB<>(SB), X7, X9 \
	VPOR X9, X8, X8 \
	VMOVDQU X8, off(DI)

// func yccToRGBAVX2(y, cb, cr, dst *uint8, n int)
// Converts n pixels (a multiple of 16) of y, cb, cr into 3n bytes of dst.
TEXT ·yccToRGBAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), SI
	MOVQ cb+8(FP), R8
	MOVQ cr+16(FP), R9
	MOVQ dst+24(FP), DI
	MOVQ n+32(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VPMOVZXBD (SI), Y0
	VPMOVZXBD 8(SI), Y1
	VPMOVZXBD (R8), Y2
	VPMOVZXBD 8(R8), Y3
	VPMOVZXBD (R9), Y4
	VPMOVZXBD 8(R9), Y5
	VPSUBD c128<>(SB), Y2, Y2
	VPSUBD c128<>(SB), Y3, Y3
	VPSUBD c128<>(SB), Y4, Y4
	VPSUBD c128<>(SB), Y5, Y5

	// R = Y + (1.402 Cr + half) >> 16
	VPMULLD cCrR<>(SB), Y4, Y6
	TERM(Y6, Y0)
	VPMULLD cCrR<>(SB), Y5, Y7
	TERM(Y7, Y1)
	PACK16(Y6, Y7, X6, X7)

	// B = Y + (1.772 Cb + half) >> 16
	VPMULLD cCbB<>(SB), Y2, Y7
	TERM(Y7, Y0)
	VPMULLD cCbB<>(SB), Y3, Y8
	TERM(Y8, Y1)
	PACK16(Y7, Y8, X7, X8)

	// G = Y + (-0.34414 Cb - 0.71414 Cr + half) >> 16
	VPMULLD cCbGn<>(SB), Y2, Y2
	VPMULLD cCrGn<>(SB), Y4, Y4
	VPADDD  Y4, Y2, Y2
	TERM(Y2, Y0)
	VPMULLD cCbGn<>(SB), Y3, Y3
	VPMULLD cCrGn<>(SB), Y5, Y5
	VPADDD  Y5, Y3, Y3
	TERM(Y3, Y1)
	PACK16(Y2, Y3, X2, X3)

	INTERLEAVE(shufR0, shufG0, shufB0, 0)
	INTERLEAVE(shufR1, shufG1, shufB1, 16)
	INTERLEAVE(shufR2, shufG2, shufB2, 32)

	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $48, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET
