package loader

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
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
