//go:build amd64 && !purego

#include "textflag.h"

// One row combination of the input transform: Y0..Y3 = row A op row B (the
// four columns of the tile; pointers at 32*row + 8*column in SI), then the
// column combination (Bᵀ applied on the right) stored to V rows 4r..4r+3 at
// base (a register already offset by CX): (base), (base)(S), (base)(2S), (base)(3S).
#define IN_ROW(OP, A0, A1, A2, A3, B0, B1, B2, B3, BASE) \
	MOVQ A0(SI), AX; VMOVUPS (AX)(CX*1), Y0; MOVQ B0(SI), AX; OP (AX)(CX*1), Y0, Y0; \
	MOVQ A1(SI), AX; VMOVUPS (AX)(CX*1), Y1; MOVQ B1(SI), AX; OP (AX)(CX*1), Y1, Y1; \
	MOVQ A2(SI), AX; VMOVUPS (AX)(CX*1), Y2; MOVQ B2(SI), AX; OP (AX)(CX*1), Y2, Y2; \
	MOVQ A3(SI), AX; VMOVUPS (AX)(CX*1), Y3; MOVQ B3(SI), AX; OP (AX)(CX*1), Y3, Y3; \
	VSUBPS Y2, Y0, Y4; \
	VADDPS Y2, Y1, Y5; \
	VSUBPS Y1, Y2, Y6; \
	VSUBPS Y3, Y1, Y7; \
	LEAQ (BASE)(CX*1), AX; \
	VMOVUPS Y4, (AX); \
	VMOVUPS Y5, (AX)(DX*1); \
	VMOVUPS Y6, (AX)(DX*2); \
	VMOVUPS Y7, (AX)(R8*1)

// func winogradInputAVX2(in *[16]*float32, v *float32, stride, n int)
// For channels [0, n), n a multiple of 8: v[i*stride+ch] = (Bᵀ d B)[i] with
// d[j] = in[j][ch], i and j row-major over the 4×4 tile.
TEXT ·winogradInputAVX2(SB), NOSPLIT, $0-32
	MOVQ in+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ stride+16(FP), DX
	MOVQ n+24(FP), BX
	SHLQ $2, DX             // stride in bytes
	SHLQ $2, BX             // n in bytes
	LEAQ (DX)(DX*2), R8     // 3*stride
	LEAQ (DI)(DX*4), R9     // V row 4
	LEAQ (R9)(DX*4), R10    // V row 8
	LEAQ (R10)(DX*4), R11   // V row 12
	XORQ CX, CX
inloop:
	// Bᵀ rows: d0-d2, d1+d2, d2-d1, d1-d3.
	IN_ROW(VSUBPS, 0, 8, 16, 24, 64, 72, 80, 88, DI)
	IN_ROW(VADDPS, 32, 40, 48, 56, 64, 72, 80, 88, R9)
	IN_ROW(VSUBPS, 64, 72, 80, 88, 32, 40, 48, 56, R10)
	IN_ROW(VSUBPS, 32, 40, 48, 56, 96, 104, 112, 120, R11)
	ADDQ $32, CX
	CMPQ CX, BX
	JLT inloop
	VZEROUPPER
	RET

// One column of Aᵀ m: m rows 0..3 at M0..M3; T0 = m0+m1+m2, T1 = m1-m2-m3.
#define OUT_COL(M0, M1, M2, M3, T0, T1) \
	VMOVUPS M1, Y0; \
	VMOVUPS M2, Y1; \
	VADDPS Y1, Y0, Y2; \
	VSUBPS Y1, Y0, Y3; \
	VADDPS M0, Y2, T0; \
	VSUBPS M3, Y3, T1

// func winogradOutputAVX2(m *float32, stride int, out *[4]*float32, n int)
// For channels [0, n), n a multiple of 8: out[j][ch] = (Aᵀ m A)[j] with m[i] =
// m[i*stride+ch], j row-major over the 2×2 outputs.
TEXT ·winogradOutputAVX2(SB), NOSPLIT, $0-32
	MOVQ m+0(FP), DI
	MOVQ stride+8(FP), DX
	MOVQ out+16(FP), SI
	MOVQ n+24(FP), BX
	SHLQ $2, DX
	SHLQ $2, BX
	LEAQ (DX)(DX*2), R8
	LEAQ (DI)(DX*4), R9
	LEAQ (R9)(DX*4), R10
	LEAQ (R10)(DX*4), R11
	XORQ CX, CX
outloop:
	OUT_COL((DI), (R9), (R10), (R11), Y4, Y8)
	OUT_COL((DI)(DX*1), (R9)(DX*1), (R10)(DX*1), (R11)(DX*1), Y5, Y9)
	OUT_COL((DI)(DX*2), (R9)(DX*2), (R10)(DX*2), (R11)(DX*2), Y6, Y10)
	OUT_COL((DI)(R8*1), (R9)(R8*1), (R10)(R8*1), (R11)(R8*1), Y7, Y11)
	// A on the right: columns c0+c1+c2 and c1-c2-c3 of each row.
	VADDPS Y5, Y4, Y12
	VADDPS Y6, Y12, Y12
	VSUBPS Y6, Y5, Y13
	VSUBPS Y7, Y13, Y13
	VADDPS Y9, Y8, Y14
	VADDPS Y10, Y14, Y14
	VSUBPS Y10, Y9, Y15
	VSUBPS Y11, Y15, Y15
	MOVQ 0(SI), AX
	VMOVUPS Y12, (AX)(CX*1)
	MOVQ 8(SI), AX
	VMOVUPS Y13, (AX)(CX*1)
	MOVQ 16(SI), AX
	VMOVUPS Y14, (AX)(CX*1)
	MOVQ 24(SI), AX
	VMOVUPS Y15, (AX)(CX*1)
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, CX
	CMPQ CX, BX
	JLT outloop
	VZEROUPPER
	RET

// One column c of G g: g rows 0..2 at G0, G1, G2; A0..A3 = g0, ½(g0+g1+g2),
// ½(g0-g1+g2), g2 (Y15 holds ½).
#define KER_COL(G0, G1, G2, A0, A1, A2, A3) \
	VMOVUPS G0, A0; \
	VMOVUPS G2, A3; \
	VADDPS A3, A0, Y12; \
	VMOVUPS G1, Y13; \
	VADDPS Y13, Y12, Y14; \
	VMULPS Y15, Y14, A1; \
	VSUBPS Y13, Y12, Y14; \
	VMULPS Y15, Y14, A2

// One row r of (G g) Gᵀ from the row's three columns: u rows 4r..4r+3 at
// (BASE), (BASE)(R9), (BASE)(R9*2), (BASE)(CX) get a0, ½(a0+a1+a2), ½(a0-a1+a2), a2.
#define KER_ROW(C0, C1, C2, BASE) \
	VMOVUPS C0, (BASE); \
	VMOVUPS C2, (BASE)(CX*1); \
	VADDPS C2, C0, Y12; \
	VADDPS C1, Y12, Y13; \
	VMULPS Y15, Y13, Y13; \
	VMOVUPS Y13, (BASE)(R9*1); \
	VSUBPS C1, Y12, Y14; \
	VMULPS Y15, Y14, Y14; \
	VMOVUPS Y14, (BASE)(R9*2)

DATA winogradHalf<>+0(SB)/4, $0.5
GLOBL winogradHalf<>(SB), RODATA|NOPTR, $4

// func winogradKernelAVX2(w *float32, s0, s1 int, u *float32, plane, n int)
// For n output channels (a multiple of 8), contiguous in w: kernel element
// (kh, kw, j) at w[kh*s0 + kw*s1 + j]; u[i*plane + j] = (G g Gᵀ)[i].
TEXT ·winogradKernelAVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ s0+8(FP), DX
	MOVQ s1+16(FP), R8
	MOVQ u+24(FP), DI
	MOVQ plane+32(FP), R9
	MOVQ n+40(FP), BX
	SHLQ $2, DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(DX*1), R10    // g row 1
	LEAQ (R10)(DX*1), R11   // g row 2
	LEAQ (R9)(R9*2), CX     // 3*plane
	LEAQ (DI)(R9*4), AX     // u row 4
	LEAQ (AX)(R9*4), R12    // u row 8
	LEAQ (R12)(R9*4), R13   // u row 12
	VBROADCASTSS winogradHalf<>(SB), Y15
kerloop:
	KER_COL((SI), (R10), (R11), Y0, Y1, Y2, Y3)
	KER_COL((SI)(R8*1), (R10)(R8*1), (R11)(R8*1), Y4, Y5, Y6, Y7)
	KER_COL((SI)(R8*2), (R10)(R8*2), (R11)(R8*2), Y8, Y9, Y10, Y11)
	KER_ROW(Y0, Y4, Y8, DI)
	KER_ROW(Y1, Y5, Y9, AX)
	KER_ROW(Y2, Y6, Y10, R12)
	KER_ROW(Y3, Y7, Y11, R13)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	ADDQ $32, AX
	ADDQ $32, R12
	ADDQ $32, R13
	SUBQ $8, BX
	JNZ kerloop
	VZEROUPPER
	RET

// BACK4: the kernel gradient's Gᵀ with the signs S of winogradGradTile folded in, on Y0..Y3
// (m0..m3) into Y4..Y6; Y15 = 0.5, Y7 scratch: h = (m1 + m2)/2,
//	o0 = m0 - h, o1 = (m2 - m1)/2, o2 = m3 - h
#define BACK4 \
	VADDPS Y2, Y1, Y7; VMULPS Y15, Y7, Y7; \
	VSUBPS Y7, Y0, Y4; VSUBPS Y1, Y2, Y5; VMULPS Y15, Y5, Y5; VSUBPS Y7, Y3, Y6

DATA winogradBackHalf<>+0(SB)/4, $0.5
GLOBL winogradBackHalf<>(SB), RODATA|NOPTR, $4

// func winogradGradBackAVX2(in *[16]*float32, out *[9]*float32, n int)
// out[k][j] = (Gᵀ (S⊗S ⊙ M) G)[k] with M[i] = in[i][j], for j < n (a multiple of 8);
// i row-major over 4×4, k over 3×3 (see winogradGradBackGo).
TEXT ·winogradGradBackAVX2(SB), 0, $384-24
	MOVQ in+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), BX
	SHLQ $2, BX
	VBROADCASTSS winogradBackHalf<>+0(SB), Y15
	XORQ CX, CX
back2loop:
	// column 0
	MOVQ 0(SI), AX
	VMOVUPS (AX)(CX*1), Y0
	MOVQ 32(SI), AX
	VMOVUPS (AX)(CX*1), Y1
	MOVQ 64(SI), AX
	VMOVUPS (AX)(CX*1), Y2
	MOVQ 96(SI), AX
	VMOVUPS (AX)(CX*1), Y3
	BACK4
	VMOVUPS Y4, 0(SP)
	VMOVUPS Y5, 128(SP)
	VMOVUPS Y6, 256(SP)
	// column 1
	MOVQ 8(SI), AX
	VMOVUPS (AX)(CX*1), Y0
	MOVQ 40(SI), AX
	VMOVUPS (AX)(CX*1), Y1
	MOVQ 72(SI), AX
	VMOVUPS (AX)(CX*1), Y2
	MOVQ 104(SI), AX
	VMOVUPS (AX)(CX*1), Y3
	BACK4
	VMOVUPS Y4, 32(SP)
	VMOVUPS Y5, 160(SP)
	VMOVUPS Y6, 288(SP)
	// column 2
	MOVQ 16(SI), AX
	VMOVUPS (AX)(CX*1), Y0
	MOVQ 48(SI), AX
	VMOVUPS (AX)(CX*1), Y1
	MOVQ 80(SI), AX
	VMOVUPS (AX)(CX*1), Y2
	MOVQ 112(SI), AX
	VMOVUPS (AX)(CX*1), Y3
	BACK4
	VMOVUPS Y4, 64(SP)
	VMOVUPS Y5, 192(SP)
	VMOVUPS Y6, 320(SP)
	// column 3
	MOVQ 24(SI), AX
	VMOVUPS (AX)(CX*1), Y0
	MOVQ 56(SI), AX
	VMOVUPS (AX)(CX*1), Y1
	MOVQ 88(SI), AX
	VMOVUPS (AX)(CX*1), Y2
	MOVQ 120(SI), AX
	VMOVUPS (AX)(CX*1), Y3
	BACK4
	VMOVUPS Y4, 96(SP)
	VMOVUPS Y5, 224(SP)
	VMOVUPS Y6, 352(SP)
	// row 0
	VMOVUPS 0(SP), Y0
	VMOVUPS 32(SP), Y1
	VMOVUPS 64(SP), Y2
	VMOVUPS 96(SP), Y3
	BACK4
	MOVQ 0(DI), AX
	VMOVUPS Y4, (AX)(CX*1)
	MOVQ 8(DI), AX
	VMOVUPS Y5, (AX)(CX*1)
	MOVQ 16(DI), AX
	VMOVUPS Y6, (AX)(CX*1)
	// row 1
	VMOVUPS 128(SP), Y0
	VMOVUPS 160(SP), Y1
	VMOVUPS 192(SP), Y2
	VMOVUPS 224(SP), Y3
	BACK4
	MOVQ 24(DI), AX
	VMOVUPS Y4, (AX)(CX*1)
	MOVQ 32(DI), AX
	VMOVUPS Y5, (AX)(CX*1)
	MOVQ 40(DI), AX
	VMOVUPS Y6, (AX)(CX*1)
	// row 2
	VMOVUPS 256(SP), Y0
	VMOVUPS 288(SP), Y1
	VMOVUPS 320(SP), Y2
	VMOVUPS 352(SP), Y3
	BACK4
	MOVQ 48(DI), AX
	VMOVUPS Y4, (AX)(CX*1)
	MOVQ 56(DI), AX
	VMOVUPS Y5, (AX)(CX*1)
	MOVQ 64(DI), AX
	VMOVUPS Y6, (AX)(CX*1)
	ADDQ $32, CX
	CMPQ CX, BX
	JLT back2loop
	VZEROUPPER
	RET
