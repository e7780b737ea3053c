package loader

import "encoding/binary"

// exifOrientation returns the EXIF orientation tag (1..8) of a JPEG, or 1 when the file has no
// APP1 Exif segment, no orientation tag, or a malformed one.
func exifOrientation(jpg []byte) int { return orientationOf(findExifTIFF(jpg)) }

// pngOrientation returns the EXIF orientation tag (1..8) of a PNG's eXIf chunk, or 1.
func pngOrientation(png []byte) int { return orientationOf(findPNGExif(png)) }

// orientationOf reads the orientation of a TIFF-structured EXIF block (1 when absent).
func orientationOf(tiff []byte) int {
	if tiff == nil {
		return 1
	}
	if v := orientationFromTIFF(tiff); v >= 1 && v <= 8 {
		return v
	}
	return 1
}

// findExifTIFF walks the JPEG marker segments before the first scan and returns the TIFF
// payload of the first APP1 segment that starts with "Exif\0\0".
func findExifTIFF(b []byte) []byte {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			i += 2 // markers without a length
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan or end of image: no more headers
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// findPNGExif walks the PNG chunks before the image data and returns the payload of the eXIf
// chunk (a TIFF structure, as PNG 1.5 defines it), or nil.
func findPNGExif(b []byte) []byte {
	i := 8 // after the signature
	for i+8 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n < 0 || i+8+n > len(b) || typ == "IDAT" || typ == "IEND" {
			return nil
		}
		if typ == "eXIf" {
			return b[i+8 : i+8+n]
		}
		i += 12 + n // length, type, data, CRC
	}
	return nil
}

// orientationFromTIFF reads tag 0x0112 (Orientation, SHORT) from IFD0 of a TIFF structure.
func orientationFromTIFF(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(t[e+2:]); typ != 3 { // SHORT
			return 0
		}
		return int(bo.Uint16(t[e+8:]))
	}
	return 0
}

// applyOrientation returns m transformed so that it displays upright for the EXIF orientation
// o: 2 mirror, 3 rotate 180, 4 flip vertically, 5 transpose, 6 rotate 90 clockwise,
// 7 transverse, 8 rotate 90 counter-clockwise.
func applyOrientation(m *Image, o int) *Image {
	if o <= 1 || o > 8 {
		return m
	}
	w, h, c := m.Width, m.Height, m.Channels
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewImage(ow, oh, c)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := orientedSource(o, x, y, w, h)
			copy(out.Pix[(y*ow+x)*c:(y*ow+x+1)*c], m.Pix[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
	return out
}

// orientedSource maps output pixel (x, y) to its source pixel in a w x h stored image.
func orientedSource(o, x, y, w, h int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return y, h - 1 - x
	case 7:
		return w - 1 - y, h - 1 - x
	case 8:
		return w - 1 - y, x
	}
	return x, y
}
