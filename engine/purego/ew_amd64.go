//go:build amd64 && !purego

package purego

// Element-wise float32 loops in AVX2 (ew_amd64.s); n is a multiple of 8.
//
//go:noescape
func ewBinaryAVX2(op int, dst, a, b *float32, n int)

//go:noescape
func ewWhereAVX2(dst, cond, a, b *float32, n int)

//go:noescape
func ewNegAVX2(dst, a *float32, n int)

//go:noescape
func ewLogisticAVX2(dst, a *float32, n int, times int)

//go:noescape
func ewMulAddAVX2(dst, a, b, c *float32, n int)

// ewBinaryOps maps codes to ewBinaryAVX2's op numbers plus one (0: none); an
// array, as it is read once per row of every pooling window.
var ewBinaryOps = [...]int8{ewAdd: 1, ewSub: 2, ewMul: 3, ewDiv: 4, ewMax: 5, ewMin: 6,
	ewGT: 7, ewGE: 8, ewLT: 9, ewLE: 10, ewEQ: 11, ewNE: 12, ewAnd: 13, ewOr: 14, ewSwish: 0}

// execEWFast computes the largest multiple of 8 leading elements of dst with
// AVX2 and returns how many it did (0 when the CPU lacks AVX2/FMA or the
// operation has no vector loop).
func execEWFast(code ewCode, dst, a, b, c []float32) int {
	n := len(dst) &^ 7
	if !haveFastKernel || n == 0 {
		return 0
	}
	if op := ewBinaryOps[code]; op > 0 {
		ewBinaryAVX2(int(op)-1, &dst[0], &a[0], &b[:n][0], n)
		return n
	}
	switch code {
	case ewWhere:
		ewWhereAVX2(&dst[0], &a[:n][0], &b[:n][0], &c[:n][0], n)
	case ewNeg:
		ewNegAVX2(&dst[0], &a[:n][0], n)
	case ewLogistic:
		ewLogisticAVX2(&dst[0], &a[:n][0], n, 0)
	case ewSwish:
		ewLogisticAVX2(&dst[0], &a[:n][0], n, 1)
	case ewMulAdd:
		ewMulAddAVX2(&dst[0], &a[:n][0], &b[:n][0], &c[:n][0], n)
	default:
		return 0
	}
	return n
}
