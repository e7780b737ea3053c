package loader

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	bonsaijpeg "github.com/bonsai-ml/bonsai/data/jpeg"
	"github.com/bonsai-ml/bonsai/internal/readfile"
)

// Image is an 8-bit image in row-major HWC order with 1 (luminance) or 3 (RGB) channels.
type Image struct {
	Width, Height, Channels int
	Pix                     []uint8
}

// NewImage returns a black image of the given size.
func NewImage(width, height, channels int) *Image {
	return &Image{Width: width, Height: height, Channels: channels,
		Pix: make([]uint8, width*height*channels)}
}

// Bytes is the memory the pixels use.
func (m *Image) Bytes() int { return len(m.Pix) }

// Limits on one image, so that no file (a corrupt header, a 16-bit 16k x 16k PNG) makes a
// decoder allocate gigabytes: maxPixels (a 134-megapixel photo passes) and maxDecodedBytes for
// the decoder's own buffer (by its colour model: 8 bytes a pixel for 16-bit RGBA). Each worker
// decodes one image at a time, so a loader holds at most Workers times this. maxPixels is a
// variable so that the fuzz test can lower it.
var maxPixels = 1 << 27

const (
	maxDecodedBytes = 512 << 20
	// MaxImageFileBytes bounds an image file's size.
	MaxImageFileBytes = 256 << 20
)

// ErrUnsupportedFormat is returned for files that are neither JPEG nor PNG.
var ErrUnsupportedFormat = errors.New("not a JPEG or PNG file")

// DecodeFile reads and decodes the image at path into the given number of channels (1 or 3).
// Errors name the path.
func DecodeFile(path string, channels int) (*Image, error) {
	return decodeFileFor(path, channels, nil)
}

// decodeFileFor is DecodeFile for a pipeline that keeps at most need(w, h) pixels of a w x h
// image (nil: all of it); see decode.
func decodeFileFor(path string, channels int, need func(w, h int) (int, int)) (*Image, error) {
	data, err := readfile.Read(path, "image", MaxImageFileBytes)
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	m, err := decode(data, channels, need)
	if err != nil {
		return nil, fmt.Errorf("decoding image %s: %w", path, err)
	}
	return m, nil
}

// Decode decodes a JPEG or PNG held in data into 1 (luminance) or 3 (RGB) channels, applying the
// EXIF orientation of JPEGs. It never panics: a decoder panic becomes an error.
func Decode(data []byte, channels int) (m *Image, err error) {
	return decode(data, channels, nil)
}

// decode is Decode. Baseline JPEGs go through package jpeg (libjpeg's arithmetic, as PIL), the
// others through the standard library. When need is set and a JPEG is at least twice as large
// on both sides as need(w, h) (w x h as oriented), it is decoded at 1/2, 1/4 or 1/8 of its size
// (DCT scaling, as PIL's draft mode), the smallest that still covers need(w, h).
func decode(data []byte, channels int, need func(w, h int) (int, int)) (m *Image, err error) {
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("channels must be 1 or 3, got %d", channels)
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("corrupt image (decoder panic: %v)", r)
		}
	}()
	if m := decodeBaselineJPEG(data, channels, need); m != nil {
		return m, nil
	}
	img, orientation, err := decodeStd(data)
	if err != nil {
		return nil, err
	}
	return applyOrientation(toImage(img, channels), orientation), nil
}

// decodeBaselineJPEG decodes data with Bonsai's package jpeg, or returns nil for anything that is not a
// JPEG it decodes within the size limits (the standard library then decodes it, or reports
// what is wrong with it).
func decodeBaselineJPEG(data []byte, channels int, need func(w, h int) (int, int)) *Image {
	if !bytes.HasPrefix(data, []byte{0xFF, 0xD8}) {
		return nil
	}
	cfg, err := bonsaijpeg.DecodeConfig(data)
	if err != nil || !cfg.Supported || cfg.Width*cfg.Height > maxPixels ||
		int64(cfg.Width)*int64(cfg.Height)*6 > maxDecodedBytes {
		return nil
	}
	orientation := exifOrientation(data)
	scale := 1
	if need != nil {
		w, h := cfg.Width, cfg.Height
		if orientation >= 5 { // rotated by 90 degrees
			w, h = h, w
		}
		nw, nh := need(w, h)
		for s := 8; s > 1; s /= 2 {
			if (w+s-1)/s >= nw && (h+s-1)/s >= nh {
				scale = s
				break
			}
		}
	}
	j, err := bonsaijpeg.Decode(data, scale, channels)
	if err != nil {
		return nil
	}
	return applyOrientation(&Image{Width: j.Width, Height: j.Height, Channels: j.Channels, Pix: j.Pix}, orientation)
}

// decodeNeed is what the pipeline keeps of a w x h image, for decoding JPEGs at a reduced
// scale: with random crop, the cover of the largest crop (stable's downscale); nil otherwise,
// so that evaluation decodes at full size as TAO does.
func (p *pipeline) decodeNeed() func(w, h int) (int, int) {
	if !p.randomCrop {
		return nil
	}
	return func(w, h int) (int, int) {
		return coverSize(w, h, float64(p.width)/minCropFraction, float64(p.height)/minCropFraction)
	}
}

// decodeStd runs the standard library decoder chosen by the file's magic bytes and returns the
// image with its EXIF orientation (1 when absent).
func decodeStd(data []byte) (image.Image, int, error) {
	var decode func([]byte) (image.Image, error)
	var config func([]byte) (image.Config, error)
	orientation := 1
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
		config = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		orientation = exifOrientation(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
		config = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		orientation = pngOrientation(data)
	default:
		return nil, 0, ErrUnsupportedFormat
	}
	cfg, err := config(data)
	if err != nil {
		return nil, 0, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, 0, fmt.Errorf("image size %dx%d out of range (at most %d pixels)",
			cfg.Width, cfg.Height, maxPixels)
	}
	if n := int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel); n > maxDecodedBytes {
		return nil, 0, fmt.Errorf("image size %dx%d would take %d MiB to decode, over the %d MiB limit; downscale it",
			cfg.Width, cfg.Height, n>>20, maxDecodedBytes>>20)
	}
	img, err := decode(data)
	if err != nil {
		return nil, 0, err
	}
	return img, orientation, nil
}

// bytesPerPixel is what the standard decoders allocate per pixel for a colour model.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.Gray16Model:
		return 2
	case color.YCbCrModel:
		return 3
	}
	return 1 // gray, paletted
}

// toImage converts any decoded image to packed RGB or luminance.
func toImage(img image.Image, channels int) *Image {
	b := img.Bounds()
	out := NewImage(b.Dx(), b.Dy(), channels)
	switch src := img.(type) {
	case *image.YCbCr:
		fromYCbCr(src, out)
	case *image.Gray:
		fromGray(src, out)
	default:
		fromGeneric(img, out)
	}
	return out
}

// fromYCbCr converts row by row with the chroma subsampling resolved once per row, using the
// same integer arithmetic as color.YCbCrToRGB (so the result is identical to it).
func fromYCbCr(src *image.YCbCr, out *Image) {
	b := src.Bounds()
	w := b.Dx()
	shift := chromaShift(src.SubsampleRatio)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		yRow := src.Y[src.YOffset(b.Min.X, y):][:w]
		if out.Channels == 1 {
			copy(out.Pix[(y-b.Min.Y)*w:], yRow) // the luma plane is the luminance
			continue
		}
		c0 := src.COffset(b.Min.X, y) - b.Min.X>>shift
		dst := out.Pix[(y-b.Min.Y)*w*3:][:w*3]
		for x := 0; x < w; x++ {
			ci := c0 + (b.Min.X+x)>>shift
			yy := int32(yRow[x]) * 0x10101
			cb1, cr1 := int32(src.Cb[ci])-128, int32(src.Cr[ci])-128
			dst[3*x] = clamp16(yy + 91881*cr1)
			dst[3*x+1] = clamp16(yy - 22554*cb1 - 46802*cr1)
			dst[3*x+2] = clamp16(yy + 116130*cb1)
		}
	}
}

// chromaShift is log2 of the horizontal chroma subsampling.
func chromaShift(r image.YCbCrSubsampleRatio) int {
	switch r {
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		return 1
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		return 2
	}
	return 0
}

// clamp16 takes bits 16..23 of a 16.16 fixed-point value clamped to [0, 255].
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

func fromGray(src *image.Gray, out *Image) {
	b := src.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := src.Pix[(y-b.Min.Y)*src.Stride:]
		for x := 0; x < b.Dx(); x++ {
			v := row[x]
			for c := 0; c < out.Channels; c++ {
				out.Pix[i] = v
				i++
			}
		}
	}
}

// fromGeneric handles CMYK, RGBA, NRGBA, paletted and 16-bit images through color.Color.
// RGBA() is alpha-premultiplied, so transparent pixels come out composited onto black.
func fromGeneric(img image.Image, out *Image) {
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r8, g8, b8 := uint8(r>>8), uint8(g>>8), uint8(bl>>8)
			if out.Channels == 1 {
				out.Pix[i] = luminance(r8, g8, b8)
				i++
				continue
			}
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r8, g8, b8
			i += 3
		}
	}
}

// luminance is ITU-R 601-2 luma with PIL's convert("L") fixed-point weights.
func luminance(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}
