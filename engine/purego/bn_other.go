//go:build !amd64 || purego

package purego

func bnSumsRow[T float](x, y []T, s1, s2 []float64)   { bnSumsRowGo(x, y, s1, s2) }
func bnAffineRow[T float](dst, x, f, s []T)           { bnAffineRowGo(dst, x, f, s) }
func bnGradInputRow[T float](dst, dy, x, a, b, c []T) { bnGradInputRowGo(dst, dy, x, a, b, c) }
