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

// ewBinaryOps maps codes to ewBinaryAVX2's op numbers.
var ewBinaryOps = map[ewCode]int{ewAdd: 0, ewSub: 1, ewMul: 2, ewDiv: 3, ewMax: 4, ewMin: 5,
	ewGT: 6, ewGE: 7, ewLT: 8, ewLE: 9, ewEQ: 10, ewNE: 11, ewAnd: 12, ewOr: 13}

// execEWFast computes the largest multiple of 8 leading elements of dst with
// AVX2 and returns how many it did (0 when the CPU lacks AVX2/FMA or the
// operation has no vector loop).
func execEWFast(code ewCode, dst, a, b, c []float32) int {
	n := len(dst) &^ 7
	if !haveFastKernel || n == 0 {
		return 0
	}
	if op, ok := ewBinaryOps[code]; ok {
		ewBinaryAVX2(op, &dst[0], &a[0], &b[:n][0], n)
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
