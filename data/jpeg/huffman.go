package jpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var errCorrupt = errors.New("jpeg: corrupt entropy-coded data")

// bitReader reads the entropy-coded segment most significant bit first, removing the zero
// byte stuffed after each 0xFF. At a marker (or the end of the data) it supplies zero bits, as
// libjpeg does.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // the next n bits are its top n bits; the bits below them are 0
	n      uint
	marker bool
	padded uint // zero bits supplied after a marker or the end of the data
}

var errTruncated = errors.New("jpeg: entropy-coded data ends early (truncated file?)")

// truncated reports whether the decoder consumed bits the data does not have.
func (r *bitReader) truncated() bool { return r.padded > r.n }

// fill tops the accumulator up to at least 57 bits: 8 bytes at a time when the next 8 hold no
// 0xFF (no stuffing, no marker), else byte by byte.
func (r *bitReader) fill() { r.acc, r.n = r.refill(r.acc, r.n) }

// refill8 appends to acc (holding n <= 56 bits) the whole bytes that fit of the 8 at data[pos:],
// when there are 8 and none is 0xFF; ok is false (and nothing changed) otherwise.
func refill8(data []byte, pos int, acc uint64, n uint) (uint64, uint, int, bool) {
	if pos+8 > len(data) {
		return acc, n, pos, false
	}
	x := binary.BigEndian.Uint64(data[pos:])
	if (^x-0x0101010101010101)&x&0x8080808080808080 != 0 { // a zero byte of ^x: 0xFF in x
		return acc, n, pos, false
	}
	b := (64 - n) / 8
	x &^= 1<<(64-8*b) - 1 // the first b bytes (Go's shifts by 64 give 0)
	return acc | x>>n, n + 8*b, pos + int(b), true
}

// refill is fill for a caller holding the buffer in acc and n.
func (r *bitReader) refill(acc uint64, n uint) (uint64, uint) {
	if !r.marker {
		if a, m, pos, ok := refill8(r.data, r.pos, acc, n); ok {
			r.pos = pos
			return a, m
		}
	}
	r.acc, r.n = acc, n
	r.fillBytes()
	return r.acc, r.n
}

// fillBytes is fill one byte at a time, removing stuffing and stopping at markers.
func (r *bitReader) fillBytes() {
	for r.n <= 56 {
		var b byte
		if !r.marker && r.pos < len(r.data) {
			b = r.data[r.pos]
			if b != 0xFF {
				r.pos++
			} else if r.pos+1 < len(r.data) && r.data[r.pos+1] == 0 {
				r.pos += 2
			} else {
				r.marker, b = true, 0
			}
		}
		if r.marker || r.pos >= len(r.data) {
			r.padded += 8
		}
		r.acc |= uint64(b) << (56 - r.n)
		r.n += 8
	}
}

// restart discards the bits left before a restart marker and reads the marker (searching
// forward for it in a damaged file).
func (r *bitReader) restart() error {
	if r.truncated() {
		return errTruncated
	}
	r.acc, r.n, r.marker, r.padded = 0, 0, false, 0
	for r.pos+1 < len(r.data) {
		if r.data[r.pos] == 0xFF && r.data[r.pos+1] >= markerRST0 && r.data[r.pos+1] <= markerRST7 {
			r.pos += 2
			return nil
		}
		r.pos++
	}
	return errTruncated
}

// lutBits is the code length the lookup table resolves at once; longer codes take the slow path.
const lutBits = 10

// huffTable is a Huffman table: a lookup of the first lutBits bits, and for longer codes the
// canonical code ranges of JPEG's Annex C. For AC coefficients, fast decodes a symbol and its
// value bits together when both fit in the first lutBits bits.
type huffTable struct {
	set     bool
	lut     [1 << lutBits]uint16 // length<<8 | symbol, 0 for codes longer than lutBits
	fast    [1 << lutBits]int32  // value<<16 | run<<8 | code+value length, or 0
	maxcode [17]int32            // largest code of each length, -1 if none
	valptr  [17]int32            // index in vals of the first code of each length
	mincode [17]int32
	vals    [256]uint8
}

func (d *decoder) readHuffman(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("jpeg: short Huffman table")
		}
		class, id := seg[0]>>4, int(seg[0]&15)
		if class > 1 || id > 3 {
			return fmt.Errorf("jpeg: bad Huffman table class %d id %d", class, id)
		}
		t := &d.dc[id]
		if class == 1 {
			t = &d.ac[id]
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total > 256 || len(seg) < 17+total {
			return fmt.Errorf("jpeg: bad Huffman table")
		}
		*t = huffTable{set: true}
		copy(t.vals[:], seg[17:17+total])
		if err := t.build(counts); err != nil {
			return err
		}
		seg = seg[17+total:]
	}
	return nil
}

// build assigns the canonical codes (Annex C) and fills the lookup tables.
func (t *huffTable) build(counts [17]int) error {
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		t.valptr[l], t.mincode[l], t.maxcode[l] = int32(k), code, -1
		if counts[l] > 0 {
			t.maxcode[l] = code + int32(counts[l]) - 1
		}
		for range counts[l] {
			if l <= lutBits {
				t.fillLUT(int(code), l, t.vals[k])
			}
			code++
			k++
		}
		if code > 1<<l {
			return fmt.Errorf("jpeg: bad Huffman code lengths")
		}
		code <<= 1
	}
	return nil
}

// fillLUT enters the code of length l for symbol sym in the lookup tables: every lutBits-bit
// prefix that starts with it.
func (t *huffTable) fillLUT(code, l int, sym uint8) {
	run, size := int32(sym>>4), sym&15
	first := code << (lutBits - l)
	for j := range 1 << (lutBits - l) {
		t.lut[first+j] = uint16(l)<<8 | uint16(sym)
		if size == 0 || l+int(size) > lutBits {
			continue
		}
		bits := int32(j>>(lutBits-l-int(size))) & (1<<size - 1)
		t.fast[first+j] = extend(bits, size)<<16 | run<<8 | int32(l+int(size))
	}
}

// extend turns size magnitude bits into the coefficient they code (JPEG's EXTEND).
func extend(v int32, size uint8) int32 {
	if v < 1<<(size-1) {
		v -= 1<<size - 1
	}
	return v
}

// decode reads one Huffman-coded symbol.
func (r *bitReader) decode(t *huffTable) (uint8, error) {
	if r.n < 16 {
		r.fill()
	}
	if e := t.lut[r.acc>>(64-lutBits)]; e != 0 {
		r.acc <<= e >> 8
		r.n -= uint(e >> 8)
		return uint8(e), nil
	}
	for l := lutBits + 1; l <= 16; l++ {
		code := int32(r.acc >> uint(64-l))
		if code <= t.maxcode[l] {
			r.acc <<= uint(l)
			r.n -= uint(l)
			return t.vals[t.valptr[l]+code-t.mincode[l]], nil
		}
	}
	return 0, errCorrupt
}

// decodeBlock reads one block's coefficients into coef (natural order, not dequantized), with
// pred the component's DC predictor, and returns the number of coefficients up to the last
// nonzero one in coded order (1: DC only). With dcOnly it reads past the AC coefficients
// without storing them.
func (r *bitReader) decodeBlock(coef *[64]int32, dc, ac *huffTable, pred *int32, dcOnly bool) (int, error) {
	// The bit buffer lives in locals (registers); refills and the slow paths write it back.
	acc, n := r.refill(r.acc, r.n)
	var s uint8
	if e := dc.lut[acc>>(64-lutBits)]; e != 0 {
		acc <<= e >> 8
		n -= uint(e >> 8)
		s = uint8(e)
	} else {
		var err error
		r.acc, r.n = acc, n
		if s, err = r.decode(dc); err != nil {
			return 0, err
		}
		acc, n = r.acc, r.n
	}
	if s > 15 {
		return 0, errCorrupt
	}
	if s > 0 { // n >= 16 after a symbol decoded with n >= 32
		*pred += extend(int32(acc>>(64-s)), s)
		acc <<= s
		n -= uint(s)
	}
	coef[0] = *pred
	var err error
	last := 1
	for k := 1; k < 64; k++ {
		if n < 32 { // refill, with refill8 inlined here
			var ok bool
			if !r.marker {
				acc, n, r.pos, ok = refill8(r.data, r.pos, acc, n)
			}
			if !ok {
				acc, n = r.refill(acc, n)
			}
		}
		// Symbol and value at once when both are in the first lutBits bits.
		if e := ac.fast[acc>>(64-lutBits)]; e != 0 {
			ln := uint(e & 0xFF)
			acc <<= ln
			n -= ln
			k += int(e>>8) & 15
			if k > 63 {
				return 0, errCorrupt
			}
			if !dcOnly {
				coef[zigzag[k&63]] = e >> 16
			}
			last = k + 1
			continue
		}
		var rs uint8
		if e := ac.lut[acc>>(64-lutBits)]; e != 0 {
			acc <<= e >> 8
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			r.acc, r.n = acc, n
			if rs, err = r.decode(ac); err != nil {
				return 0, err
			}
			acc, n = r.acc, r.n
		}
		run, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if run != 15 {
				break // end of block
			}
			k += 15
			continue
		}
		k += run
		if k > 63 {
			return 0, errCorrupt
		}
		// receiveExtend, inlined: n >= 16 after the symbol.
		v := int32(acc >> (64 - size))
		acc <<= size
		n -= size
		if dcOnly {
			continue
		}
		coef[zigzag[k]] = extend(v, uint8(size))
		last = k + 1
	}
	r.acc, r.n = acc, n
	return last, nil
}
