package loader

import "testing"

// BenchmarkResizeRegion is one random-crop resample: a 500x375 RGB image resized to cover
// 224/0.7 and cropped to 224x224 (bilinear), the per-sample work of a cached epoch.
func BenchmarkResizeRegion(b *testing.B) {
	src := NewImage(500, 375, 3)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	rw, rh := coverSize(500, 375, 320, 320)
	r := region{rw, rh, 40, 30, 224, 224}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resizeRegion(src, r, "bilinear")
	}
}
