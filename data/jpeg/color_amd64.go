//go:build amd64 && !purego

package jpeg

import "golang.org/x/sys/cpu"

// yccToRGBAVX2 is yccToRGBGo on n pixels, n a multiple of 16 (color_amd64.s).
//
//go:noescape
func yccToRGBAVX2(y, cb, cr, dst *uint8, n int)

func init() {
	if cpu.X86.HasAVX2 {
		yccToRGB = yccToRGBAsm
	}
}

// yccToRGBAsm converts the multiple-of-16 head of the row in assembly and the rest in Go.
func yccToRGBAsm(y, cb, cr, dst []uint8) {
	n := len(y) &^ 15
	if n > 0 {
		_, _, _ = cb[n-1], cr[n-1], dst[3*n-1]
		yccToRGBAVX2(&y[0], &cb[0], &cr[0], &dst[0], n)
	}
	yccToRGBGo(y[n:], cb[n:], cr[n:], dst[3*n:])
}
