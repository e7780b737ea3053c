// Package jpeg owns Bonsai's JPEG decoder for training data: baseline (sequential, Huffman,
// 8-bit) JPEGs with one (gray) or three (YCbCr) components, decoded straight to packed RGB or
// luminance, optionally at 1/2, 1/4 or 1/8 of their size by reduced inverse DCTs (what libjpeg's
// scale_denom and PIL's draft do), which skips most of the work when a photo is much larger than
// the network's input.
//
// At full size it computes what libjpeg (and so PIL, TAO's Keras image loader) computes by
// default: the accurate integer inverse DCT (the Loeffler-Ligtenberg-Moschytz algorithm with 13
// fractional bits), "fancy" triangle-filter chroma upsampling for 2x1 and 2x2 subsampling, and
// fixed-point YCbCr to RGB with 16 fractional bits. Go's image/jpeg differs from it (another
// inverse DCT, chroma replicated).
//
// On amd64 CPUs with AVX2 the full-size inverse DCT and the YCbCr to RGB conversion run in
// assembly (idct_amd64.s, color_amd64.s) with the same integer arithmetic, so the same pixels;
// elsewhere (arm64, the purego build tag) the Go versions do.
//
// Everything else (progressive and arithmetic-coded files, 12-bit samples, CMYK and Adobe
// transforms, unusual sampling factors, multi-scan sequential files) returns ErrUnsupported, and
// callers fall back to image/jpeg.
package jpeg

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks a valid JPEG this package does not decode.
var ErrUnsupported = errors.New("jpeg: unsupported JPEG feature")

// Image is a decoded image: Pix holds Height rows of Width*Channels bytes (RGB or luminance).
type Image struct {
	Width, Height, Channels int
	Pix                     []uint8
}

// Config is what the frame header says.
type Config struct {
	Width, Height int
	Components    int  // 1 (gray) or 3 (YCbCr)
	Supported     bool // whether Decode handles the file (otherwise it returns ErrUnsupported)
}

const (
	markerSOF0  = 0xC0 // baseline
	markerSOF1  = 0xC1 // extended sequential, Huffman
	markerDHT   = 0xC4
	markerRST0  = 0xD0
	markerRST7  = 0xD7
	markerSOI   = 0xD8
	markerEOI   = 0xD9
	markerSOS   = 0xDA
	markerDQT   = 0xDB
	markerDRI   = 0xDD
	markerAPP0  = 0xE0
	markerAPP14 = 0xEE
)

type component struct {
	id     uint8
	h, v   int // sampling factors
	tq     int // quantization table
	td, ta int // DC and AC Huffman tables of the scan
	pred   int32
	bs     int // samples per block side as decoded (8 at full size)
	// plane holds the component's samples (at the decoding scale), stride samples a row.
	plane  []uint8
	stride int
}

type decoder struct {
	r          bitReader
	width      int
	height     int
	comps      []component
	quant      [4][64]int32 // natural order
	quantSet   [4]bool
	dc, ac     [4]huffTable
	restart    int
	adobe      bool
	adobeXform int
	hmax, vmax int
	frameSeen  bool
}

// DecodeConfig reads the headers up to the frame header.
func DecodeConfig(data []byte) (Config, error) {
	d := &decoder{}
	err := d.readHeaders(data, true)
	if err != nil && !errors.Is(err, ErrUnsupported) {
		return Config{}, err
	}
	c := Config{Width: d.width, Height: d.height, Components: len(d.comps)}
	c.Supported = err == nil && d.supported() == nil
	if !d.frameSeen {
		return Config{}, fmt.Errorf("jpeg: no frame header")
	}
	return c, nil
}

// Decode decodes data at 1/scale of its size (scale 1, 2, 4 or 8; each side rounded up) into
// channels 3 (RGB) or 1 (luminance: the Y component of a color JPEG).
func Decode(data []byte, scale, channels int) (*Image, error) {
	if scale != 1 && scale != 2 && scale != 4 && scale != 8 {
		return nil, fmt.Errorf("jpeg: scale %d is not 1, 2, 4 or 8", scale)
	}
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("jpeg: channels %d is not 1 or 3", channels)
	}
	d := &decoder{}
	if err := d.readHeaders(data, false); err != nil {
		return nil, err
	}
	if err := d.supported(); err != nil {
		return nil, err
	}
	if err := d.decodeScan(scale); err != nil {
		return nil, err
	}
	return d.output(scale, channels), nil
}

// supported checks the frame for what this package decodes.
func (d *decoder) supported() error {
	switch {
	case len(d.comps) != 1 && len(d.comps) != 3:
		return fmt.Errorf("%w: %d components", ErrUnsupported, len(d.comps))
	case d.adobe && d.adobeXform != 1 && len(d.comps) == 3:
		return fmt.Errorf("%w: Adobe RGB (untransformed) components", ErrUnsupported)
	}
	if len(d.comps) == 3 {
		if d.comps[1].h != 1 || d.comps[1].v != 1 || d.comps[2].h != 1 || d.comps[2].v != 1 ||
			d.comps[0].h > 2 || d.comps[0].v > 2 {
			return fmt.Errorf("%w: sampling factors %dx%d,%dx%d,%dx%d", ErrUnsupported,
				d.comps[0].h, d.comps[0].v, d.comps[1].h, d.comps[1].v, d.comps[2].h, d.comps[2].v)
		}
	}
	return nil
}

// readHeaders parses markers up to the start of the (single) scan; with frameOnly it stops
// after the frame header.
func (d *decoder) readHeaders(data []byte, frameOnly bool) error {
	if len(data) < 4 || data[0] != 0xFF || data[1] != markerSOI {
		return fmt.Errorf("jpeg: missing SOI marker")
	}
	pos := 2
	for {
		// Find the next marker (skipping fill bytes).
		for pos < len(data) && data[pos] != 0xFF {
			pos++
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return fmt.Errorf("jpeg: no scan before the end of the data")
		}
		marker := data[pos]
		pos++
		if marker == markerEOI {
			return fmt.Errorf("jpeg: no scan before EOI")
		}
		if marker >= markerRST0 && marker <= markerRST7 || marker == 0x01 {
			continue // no length
		}
		if pos+2 > len(data) {
			return fmt.Errorf("jpeg: truncated marker segment")
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 || pos+n > len(data) {
			return fmt.Errorf("jpeg: bad marker segment length %d", n)
		}
		seg := data[pos+2 : pos+n]
		pos += n
		var err error
		switch {
		case marker == markerSOF0 || marker == markerSOF1:
			err = d.readFrame(seg)
			if err == nil && frameOnly {
				return nil
			}
		case marker >= 0xC2 && marker <= 0xCF && marker != markerDHT && marker != 0xC8 && marker != 0xCC:
			// Progressive, lossless, hierarchical or arithmetic-coded frames.
			if err = d.readFrame(seg); err == nil {
				err = fmt.Errorf("%w: frame type SOF%d", ErrUnsupported, marker-0xC0)
			}
			return err
		case marker == 0xCC:
			return fmt.Errorf("%w: arithmetic coding", ErrUnsupported)
		case marker == markerDHT:
			err = d.readHuffman(seg)
		case marker == markerDQT:
			err = d.readQuant(seg)
		case marker == markerDRI:
			if len(seg) != 2 {
				return fmt.Errorf("jpeg: bad DRI segment")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case marker == markerAPP14:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.adobeXform = true, int(seg[11])
			}
		case marker == markerSOS:
			if !d.frameSeen {
				return fmt.Errorf("jpeg: scan before frame header")
			}
			if err := d.readScanHeader(seg); err != nil {
				return err
			}
			d.r = bitReader{data: data, pos: pos}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *decoder) readFrame(seg []byte) error {
	if d.frameSeen {
		return fmt.Errorf("jpeg: two frame headers")
	}
	if len(seg) < 6 {
		return fmt.Errorf("jpeg: short frame header")
	}
	d.frameSeen = true
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", ErrUnsupported, seg[0])
	}
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	n := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return fmt.Errorf("%w: image height given by a DNL marker", ErrUnsupported)
	}
	if n == 0 || len(seg) != 6+3*n {
		return fmt.Errorf("jpeg: bad frame header")
	}
	d.comps = make([]component, n)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return fmt.Errorf("jpeg: bad component %d in frame header", i)
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	return nil
}

// zigzag maps the coded order of coefficients to the natural (row-major) order.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

func (d *decoder) readQuant(seg []byte) error {
	for len(seg) > 0 {
		precision, id := seg[0]>>4, int(seg[0]&15)
		if id > 3 {
			return fmt.Errorf("jpeg: bad quantization table id %d", id)
		}
		size := 64
		if precision == 1 {
			size = 128
		}
		if len(seg) < 1+size {
			return fmt.Errorf("jpeg: short quantization table")
		}
		for k := range 64 {
			v := int32(seg[1+k])
			if precision == 1 {
				v = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
			}
			d.quant[id][zigzag[k]] = v
		}
		d.quantSet[id] = true
		seg = seg[1+size:]
	}
	return nil
}

func (d *decoder) readScanHeader(seg []byte) error {
	if len(seg) < 1 {
		return fmt.Errorf("jpeg: short scan header")
	}
	n := int(seg[0])
	if len(seg) != 4+2*n {
		return fmt.Errorf("jpeg: bad scan header")
	}
	if n != len(d.comps) {
		return fmt.Errorf("%w: a scan of %d of %d components", ErrUnsupported, n, len(d.comps))
	}
	for i := range n {
		id, tables := seg[1+2*i], seg[2+2*i]
		c := &d.comps[i]
		if c.id != id {
			return fmt.Errorf("%w: scan components out of frame order", ErrUnsupported)
		}
		c.td, c.ta = int(tables>>4), int(tables&15)
		if c.td > 3 || c.ta > 3 || !d.dc[c.td].set || !d.ac[c.ta].set {
			return fmt.Errorf("jpeg: scan uses an undefined Huffman table")
		}
		if !d.quantSet[c.tq] {
			return fmt.Errorf("jpeg: component uses an undefined quantization table")
		}
	}
	ss, se, ahal := seg[1+2*n], seg[2+2*n], seg[3+2*n]
	if ss != 0 || se != 63 || ahal != 0 {
		return fmt.Errorf("%w: spectral selection %d-%d, approximation %#x", ErrUnsupported, ss, se, ahal)
	}
	return nil
}
