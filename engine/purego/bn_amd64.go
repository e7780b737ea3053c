//go:build amd64 && !purego

package purego

// Batch-norm row loops in AVX2/FMA (bn_amd64.s); n is a multiple of 8.
//
//go:noescape
func bnSumsAVX2(x, y *float32, s1, s2 *float64, n int)

//go:noescape
func bnAffineAVX2(dst, x, f, s *float32, n int)

//go:noescape
func bnGradInputAVX2(dst, dy, x, a, b, c *float32, n int)

// bnSumsRow adds y to s1 and x·y to s2, element by element, in float64.
func bnSumsRow[T float](x, y []T, s1, s2 []float64) {
	n := len(y)
	if x32, ok := any(x).([]float32); ok && haveFastKernel && n >= 8 {
		y32 := any(y).([]float32)
		body := n &^ 7
		_, _, _ = x32[body-1], s1[body-1], s2[body-1]
		bnSumsAVX2(&x32[0], &y32[0], &s1[0], &s2[0], body)
		x, y, s1, s2 = x[body:], y[body:], s1[body:], s2[body:]
	}
	bnSumsRowGo(x, y, s1, s2)
}

// bnAffineRow sets dst = x·f + s.
func bnAffineRow[T float](dst, x, f, s []T) {
	n := len(dst)
	if d32, ok := any(dst).([]float32); ok && haveFastKernel && n >= 8 {
		x32, f32, s32 := any(x).([]float32), any(f).([]float32), any(s).([]float32)
		body := n &^ 7
		_, _, _ = x32[body-1], f32[body-1], s32[body-1]
		bnAffineAVX2(&d32[0], &x32[0], &f32[0], &s32[0], body)
		dst, x, f, s = dst[body:], x[body:], f[body:], s[body:]
	}
	bnAffineRowGo(dst, x, f, s)
}

// bnGradInputRow sets dst = a·dy + b·x + c.
func bnGradInputRow[T float](dst, dy, x, a, b, c []T) {
	n := len(dst)
	if d32, ok := any(dst).([]float32); ok && haveFastKernel && n >= 8 {
		dy32, x32, a32, b32, c32 := any(dy).([]float32), any(x).([]float32), any(a).([]float32), any(b).([]float32), any(c).([]float32)
		body := n &^ 7
		_, _, _, _, _ = dy32[body-1], x32[body-1], a32[body-1], b32[body-1], c32[body-1]
		bnGradInputAVX2(&d32[0], &dy32[0], &x32[0], &a32[0], &b32[0], &c32[0], body)
		dst, dy, x, a, b, c = dst[body:], dy[body:], x[body:], a[body:], b[body:], c[body:]
	}
	bnGradInputRowGo(dst, dy, x, a, b, c)
}
