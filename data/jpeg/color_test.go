package jpeg

import (
	"bytes"
	"testing"
)

// TestYCCToRGBMatchesGo: the row conversion this build uses (AVX2 assembly on amd64) gives
// exactly yccToRGBGo's bytes for every (Y, Cb, Cr) triple, on rows of lengths around the
// assembly's 16-pixel steps (tails done in Go), leaving the bytes after the row alone.
func TestYCCToRGBMatchesGo(t *testing.T) {
	const n = 1 << 24 // every triple once
	y, cb, cr := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for i := range n {
		y[i], cb[i], cr[i] = uint8(i), uint8(i>>8), uint8(i>>16)
	}
	for _, width := range []int{n, 1, 15, 16, 17, 33, 47, 500} {
		want, got := make([]uint8, 3*width+5), make([]uint8, 3*width+5)
		for i := range want {
			want[i], got[i] = 7, 7
		}
		yccToRGBGo(y[:width], cb[:width], cr[:width], want)
		yccToRGB(y[:width], cb[:width], cr[:width], got)
		if !bytes.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("width %d: byte %d (pixel %d) is %d, want %d", width, i, i/3, got[i], want[i])
				}
			}
		}
	}
}
