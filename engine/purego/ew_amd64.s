//go:build amd64 && !purego

#include "textflag.h"

// Element-wise float32 loops for the fused kernels, 8 lanes (AVX2) at a time.
// n is a multiple of 8; the caller does the rest.

// func ewBinaryAVX2(op int, dst, a, b *float32, n int)
// op: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 gt, 7 ge, 8 lt, 9 le,
// 10 eq, 11 ne, 12 and, 13 or (comparisons and logical ops give 0 or 1).
TEXT ·ewBinaryAVX2(SB), NOSPLIT, $0-40
	MOVQ op+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   done
	MOVL $0x3f800000, R8 // 1.0
	MOVQ R8, X15
	VBROADCASTSS X15, Y15
	CMPQ AX, $0
	JEQ  add
	CMPQ AX, $1
	JEQ  sub
	CMPQ AX, $2
	JEQ  mul
	CMPQ AX, $3
	JEQ  div
	CMPQ AX, $4
	JEQ  max
	CMPQ AX, $5
	JEQ  min
	CMPQ AX, $6
	JEQ  gt
	CMPQ AX, $7
	JEQ  ge
	CMPQ AX, $8
	JEQ  lt
	CMPQ AX, $9
	JEQ  le
	CMPQ AX, $10
	JEQ  eq
	CMPQ AX, $11
	JEQ  ne
	CMPQ AX, $12
	JEQ  and
	JMP  or

// STEP advances the three pointers by one vector and counts it down.
#define STEP ADDQ $32, SI; ADDQ $32, DX; ADDQ $32, DI; DECQ CX
// ARITH: dst = a op b.
#define ARITH(op) VMOVUPS (SI), Y0; op (DX), Y0, Y0; VMOVUPS Y0, (DI); STEP
// CMP: dst = (a pred b) ? 1 : 0 (ordered, quiet predicates; NEQ unordered).
#define CMP(pred) VMOVUPS (SI), Y0; VCMPPS pred, (DX), Y0, Y0; VANDPS Y15, Y0, Y0; VMOVUPS Y0, (DI); STEP
// MINMAX: dst = op(a, b), NaN from either side kept (op returns b when either is NaN; then a where a is NaN).
#define MINMAX(op) VMOVUPS (SI), Y0; VMOVUPS (DX), Y1; op Y1, Y0, Y2; VCMPPS $3, Y0, Y0, Y3; VBLENDVPS Y3, Y0, Y2, Y2; VMOVUPS Y2, (DI); STEP

add:
	ARITH(VADDPS)
	JNZ add
	JMP done
sub:
	ARITH(VSUBPS)
	JNZ sub
	JMP done
mul:
	ARITH(VMULPS)
	JNZ mul
	JMP done
div:
	ARITH(VDIVPS)
	JNZ div
	JMP done
max:
	MINMAX(VMAXPS)
	JNZ max
	JMP done
min:
	MINMAX(VMINPS)
	JNZ min
	JMP done
gt:
	CMP($0x1e) // GT_OQ
	JNZ gt
	JMP done
ge:
	CMP($0x1d) // GE_OQ
	JNZ ge
	JMP done
lt:
	CMP($0x11) // LT_OQ
	JNZ lt
	JMP done
le:
	CMP($0x12) // LE_OQ
	JNZ le
	JMP done
eq:
	CMP($0x00) // EQ_OQ
	JNZ eq
	JMP done
ne:
	CMP($0x04) // NEQ_UQ
	JNZ ne
	JMP done
and:
	ARITH(VANDPS) // bool values are exactly 0 or 1
	JNZ and
	JMP done
or:
	ARITH(VORPS)
	JNZ or
done:
	VZEROUPPER
	RET

// func ewWhereAVX2(dst, cond, a, b *float32, n int)
// dst = cond != 0 ? a : b.
TEXT ·ewWhereAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ cond+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   wdone
	VXORPS Y15, Y15, Y15
wloop:
	VMOVUPS (R8), Y0
	VCMPPS  $0x04, Y15, Y0, Y0 // cond != 0
	VMOVUPS (DX), Y1
	VBLENDVPS Y0, (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  wloop
wdone:
	VZEROUPPER
	RET

// func ewNegAVX2(dst, a *float32, n int)
TEXT ·ewNegAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   ndone
	MOVL $0x80000000, R8
	MOVQ R8, X15
	VBROADCASTSS X15, Y15
nloop:
	VXORPS  (SI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  nloop
ndone:
	VZEROUPPER
	RET

// func ewLogisticAVX2(dst, a *float32, n int, times int)
// 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) below, with e = exp(-|x|) from
// Cephes' single-precision polynomial (relative error about 2e-7); with
// times != 0, multiplied by x (swish).
TEXT ·ewLogisticAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ times+24(FP), DX
	SHRQ $3, CX
	JZ   ldone
	MOVL $0x7fffffff, R8
	MOVQ R8, X15
	VBROADCASTSS X15, Y15 // abs mask
	MOVL $0xc2aeac50, R8  // -87.33654
	MOVQ R8, X14
	VBROADCASTSS X14, Y14
	MOVL $0x3fb8aa3b, R8  // log2(e)
	MOVQ R8, X13
	VBROADCASTSS X13, Y13
	MOVL $0x3f318000, R8  // C1 = 0.693359375
	MOVQ R8, X12
	VBROADCASTSS X12, Y12
	MOVL $0xb95e8083, R8  // C2 = -2.12194440e-4
	MOVQ R8, X11
	VBROADCASTSS X11, Y11
	MOVL $0x3f800000, R8  // 1.0
	MOVQ R8, X10
	VBROADCASTSS X10, Y10
	MOVL $0x3f000000, R8  // 0.5
	MOVQ R8, X9
	VBROADCASTSS X9, Y9
lloop:
	VMOVUPS (SI), Y0              // x
	VANDPS  Y15, Y0, Y1           // |x|
	VXORPS  Y2, Y2, Y2
	VSUBPS  Y1, Y2, Y1            // t = -|x|
	VMAXPS  Y14, Y1, Y1           // clamp below
	VMOVAPS Y1, Y2
	VFMADD213PS Y9, Y13, Y2       // t*log2e + 0.5
	VROUNDPS $1, Y2, Y2           // fx = floor
	VFNMADD231PS Y12, Y2, Y1      // t -= fx*C1
	VFNMADD231PS Y11, Y2, Y1      // t -= fx*C2
	VMULPS  Y1, Y1, Y3            // t²
	MOVL $0x39506967, R8          // p0 = 1.9875691500e-4
	MOVQ R8, X4
	VBROADCASTSS X4, Y4
	MOVL $0x3ab743ce, R8          // p1 = 1.3981999507e-3
	MOVQ R8, X5
	VBROADCASTSS X5, Y5
	VFMADD213PS Y5, Y1, Y4        // p0*t + p1
	MOVL $0x3c088908, R8          // p2 = 8.3334519073e-3
	MOVQ R8, X5
	VBROADCASTSS X5, Y5
	VFMADD213PS Y5, Y1, Y4
	MOVL $0x3d2aa9c1, R8          // p3 = 4.1665795894e-2
	MOVQ R8, X5
	VBROADCASTSS X5, Y5
	VFMADD213PS Y5, Y1, Y4
	MOVL $0x3e2aaaaa, R8          // p4 = 1.6666665459e-1
	MOVQ R8, X5
	VBROADCASTSS X5, Y5
	VFMADD213PS Y5, Y1, Y4
	MOVL $0x3f000000, R8          // p5 = 5.0000001201e-1
	MOVQ R8, X5
	VBROADCASTSS X5, Y5
	VFMADD213PS Y5, Y1, Y4
	VFMADD213PS Y1, Y3, Y4        // y*t² + t
	VADDPS  Y10, Y4, Y4           // + 1
	VCVTTPS2DQ Y2, Y5             // n
	VPSLLD  $23, Y5, Y5
	VPADDD  Y10, Y5, Y5           // 2^n: add n to the exponent of 1.0
	VMULPS  Y5, Y4, Y4            // e = exp(-|x|)
	VADDPS  Y10, Y4, Y6           // 1 + e
	VDIVPS  Y6, Y10, Y7           // s = 1/(1+e)
	VMULPS  Y7, Y4, Y8            // e*s = e/(1+e)
	VXORPS  Y2, Y2, Y2
	VCMPPS  $0x11, Y2, Y0, Y3     // x < 0
	VBLENDVPS Y3, Y8, Y7, Y7
	TESTQ DX, DX
	JZ   lstore
	VMULPS Y0, Y7, Y7
lstore:
	VMOVUPS Y7, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  lloop
ldone:
	VZEROUPPER
	RET

// func ewMulAddAVX2(dst, a, b, c *float32, n int)
// dst = a*b + c, the product rounded before the sum (as Mul then Add).
TEXT ·ewMulAddAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   mdone
mloop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VADDPS  (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	DECQ CX
	JNZ  mloop
mdone:
	VZEROUPPER
	RET
