//go:build amd64 && !purego

#include "textflag.h"

// func mulAddAVX2(dst, a, b *float32, n int)
// dst[i] += a[i]*b[i] for i < n, n a multiple of 8.
TEXT ·mulAddAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	CMPQ CX, $32
	JLT tail8
loop32:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMOVUPS (DI), Y4
	VMOVUPS 32(DI), Y5
	VMOVUPS 64(DI), Y6
	VMOVUPS 96(DI), Y7
	VFMADD231PS (DX), Y0, Y4
	VFMADD231PS 32(DX), Y1, Y5
	VFMADD231PS 64(DX), Y2, Y6
	VFMADD231PS 96(DX), Y3, Y7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, CX
	CMPQ CX, $32
	JGE loop32
tail8:
	TESTQ CX, CX
	JZ done
loop8:
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y4
	VFMADD231PS (DX), Y0, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ loop8
done:
	VZEROUPPER
	RET

// func dwRowAVX2(dst, x *float32, xoffs *int, w *float32, woffs *int, taps, n int)
// dst[c] = Σ_t x[xoffs[t]+c] · w[woffs[t]+c] for c < n (n a multiple of 8): a depthwise
// convolution's output row, its taps accumulated in registers 32 channels at a time.
TEXT ·dwRowAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ xoffs+16(FP), R8
	MOVQ w+24(FP), DX
	MOVQ woffs+32(FP), R9
	MOVQ taps+40(FP), R10
	MOVQ n+48(FP), CX
	XORQ R11, R11 // channel offset in bytes
block32:
	CMPQ CX, $32
	JLT  block8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ R12, R12 // tap
tap32:
	CMPQ R12, R10
	JGE  store32
	MOVQ (R8)(R12*8), AX
	LEAQ (SI)(AX*4), AX
	ADDQ R11, AX          // x row + channel
	MOVQ (R9)(R12*8), BX
	LEAQ (DX)(BX*4), BX
	ADDQ R11, BX          // w row + channel
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS 64(AX), Y6
	VMOVUPS 96(AX), Y7
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS 32(BX), Y5, Y1
	VFMADD231PS 64(BX), Y6, Y2
	VFMADD231PS 96(BX), Y7, Y3
	INCQ R12
	JMP  tap32
store32:
	VMOVUPS Y0, (DI)(R11*1)
	VMOVUPS Y1, 32(DI)(R11*1)
	VMOVUPS Y2, 64(DI)(R11*1)
	VMOVUPS Y3, 96(DI)(R11*1)
	ADDQ $128, R11
	SUBQ $32, CX
	JMP  block32
block8:
	CMPQ CX, $8
	JLT  done8
	VXORPS Y0, Y0, Y0
	XORQ R12, R12
tap8:
	CMPQ R12, R10
	JGE  store8
	MOVQ (R8)(R12*8), AX
	LEAQ (SI)(AX*4), AX
	ADDQ R11, AX
	MOVQ (R9)(R12*8), BX
	LEAQ (DX)(BX*4), BX
	ADDQ R11, BX
	VMOVUPS (AX), Y4
	VFMADD231PS (BX), Y4, Y0
	INCQ R12
	JMP  tap8
store8:
	VMOVUPS Y0, (DI)(R11*1)
	ADDQ $32, R11
	SUBQ $8, CX
	JMP  block8
done8:
	VZEROUPPER
	RET
