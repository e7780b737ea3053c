package hdf5

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// errTruncated is the sticky error of a cursor that ran past its bytes.
var errTruncated = errors.New("structure runs past its end: the file is damaged")

// cursor decodes little-endian fields from a byte slice. Reading past the end sets a sticky
// error and returns zeros, so decoders check c.err once at the end.
type cursor struct {
	b   []byte
	off int
	err error
	f   *File
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.off {
		c.err = errTruncated
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) skip(n int)   { c.take(n) }
func (c *cursor) left() int    { return len(c.b) - c.off }
func (c *cursor) u8() uint8    { return uint8(c.uint(1)) }
func (c *cursor) u16() uint16  { return uint16(c.uint(2)) }
func (c *cursor) u32() uint32  { return uint32(c.uint(4)) }
func (c *cursor) u64() uint64  { return c.uint(8) }
func (c *cursor) addr() uint64 { return c.uint(c.f.offsetSize) }
func (c *cursor) length() uint64 {
	return c.uint(c.f.lengthSize)
}

// uint reads an n-byte little-endian unsigned integer (n <= 8).
func (c *cursor) uint(n int) uint64 {
	b := c.take(n)
	if b == nil || n > 8 {
		if n > 8 {
			c.fail(fmt.Errorf("integer field of %d bytes", n))
		}
		return 0
	}
	var buf [8]byte
	copy(buf[:], b)
	return binary.LittleEndian.Uint64(buf[:])
}

// signature checks a 4-byte structure signature.
func (c *cursor) signature(want string) {
	if got := c.take(4); c.err == nil && string(got) != want {
		c.err = fmt.Errorf("signature %q where %q was expected: the file is damaged", got, want)
	}
}

// fail records err unless an error is already set.
func (c *cursor) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// cstring reads a NUL-terminated string.
func (c *cursor) cstring() string {
	for i := c.off; i < len(c.b); i++ {
		if c.b[i] == 0 {
			s := string(c.b[c.off:i])
			c.off = i + 1
			return s
		}
	}
	c.fail(errTruncated)
	return ""
}

// align8 skips to the next multiple of 8 relative to the start of the bytes.
func (c *cursor) align8() {
	if r := c.off % 8; r != 0 {
		c.skip(8 - r)
	}
}

// bytesFor is the number of bytes that encode values up to n (H5VM_limit_enc_size).
func bytesFor(n uint64) int {
	bits := 0
	for v := n; v > 1; v >>= 1 {
		bits++
	}
	return bits/8 + 1
}

// log2 of a power of two (or floor of log2).
func log2(n uint64) int {
	bits := 0
	for v := n; v > 1; v >>= 1 {
		bits++
	}
	return bits
}
