package loader

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pngHeader is the start of a PNG of the given size and colour (what DecodeConfig reads).
func pngHeader(width, height uint32, depth, colorType byte) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, width)
	binary.Write(&ihdr, binary.BigEndian, height)
	ihdr.Write([]byte{depth, colorType, 0, 0, 0})
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(ihdr.Len()-4))
	out = append(out, ihdr.Bytes()...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr.Bytes()))
}

// TestImageLimits: an image whose decoding would take gigabytes (a 16-bit RGBA 16384x16384
// PNG) is refused from its header, and so is a path that is not a regular file.
func TestImageLimits(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"16k 16-bit RGBA": {pngHeader(16384, 16384, 16, 6), "out of range"},
		"8k 16-bit RGBA":  {pngHeader(8200, 8200, 16, 6), "MiB to decode"},
	} {
		if _, err := Decode(c.data, 3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := DecodeFile(t.TempDir(), 3); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("a folder as image: %v", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := DecodeFile("/dev/zero", 3); err == nil || !strings.Contains(err.Error(), "device") {
			t.Errorf("/dev/zero as image: %v", err)
		}
	}
	ok := filepath.Join(t.TempDir(), "ok.png")
	os.WriteFile(ok, pngHeader(64, 64, 8, 2), 0o644)
	if _, err := DecodeFile(ok, 3); err == nil || strings.Contains(err.Error(), "limit") {
		t.Errorf("a small truncated PNG should fail on its data, not a limit: %v", err)
	}
}

// withPNGOrientation inserts an eXIf chunk (little-endian TIFF, Orientation = o) after a PNG's
// IHDR chunk.
func withPNGOrientation(p []byte, o int) []byte {
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, uint16(o))
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
	body := append([]byte("eXIf"), tiff...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...)
}

// TestPNGOrientation: a PNG's EXIF orientation is applied as a JPEG's is (a phone's PNG
// screenshot of a rotated photo trained sideways).
func TestPNGOrientation(t *testing.T) {
	src := rgbImage(32, 16, func(x, y int) color.NRGBA {
		if x < 16 {
			return color.NRGBA{255, 0, 0, 255}
		}
		return color.NRGBA{0, 0, 255, 255}
	})
	var b bytes.Buffer
	if err := png.Encode(&b, src); err != nil {
		t.Fatal(err)
	}
	m, err := Decode(withPNGOrientation(b.Bytes(), 6), 3) // rotated 90 clockwise
	if err != nil {
		t.Fatal(err)
	}
	if m.Width != 16 || m.Height != 32 || !near(pixelAt(m, 8, 4), []uint8{255, 0, 0}, 2) || !near(pixelAt(m, 8, 28), []uint8{0, 0, 255}, 2) {
		t.Errorf("orientation 6: %dx%d, top %v, bottom %v", m.Width, m.Height, pixelAt(m, 8, 4), pixelAt(m, 8, 28))
	}
}
