package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Datatype classes.
const (
	ClassInteger = 0
	ClassFloat   = 1
	ClassString  = 3
	ClassVarLen  = 9
)

// Datatype is a decoded datatype message: the classes Keras files use.
type Datatype struct {
	Class     int
	Size      int // bytes per element (for variable-length data: of the stored reference)
	BigEndian bool
	Signed    bool
	// VarString is set for variable-length strings (class 9, type 1).
	VarString bool
	// SpacePadded fixed-length strings are padded with spaces; the others end at the first NUL.
	SpacePadded bool
}

// String names the type as h5dump would ("float32", "string(12)", "vlen string").
func (t Datatype) String() string {
	switch {
	case t.Class == ClassFloat:
		return fmt.Sprintf("float%d", 8*t.Size)
	case t.Class == ClassInteger && t.Signed:
		return fmt.Sprintf("int%d", 8*t.Size)
	case t.Class == ClassInteger:
		return fmt.Sprintf("uint%d", 8*t.Size)
	case t.Class == ClassString:
		return fmt.Sprintf("string(%d)", t.Size)
	case t.VarString:
		return "vlen string"
	}
	return fmt.Sprintf("class %d", t.Class)
}

func decodeDatatype(data []byte) (Datatype, error) {
	c := &cursor{b: data}
	cv := c.u8()
	bits := [3]uint8{c.u8(), c.u8(), c.u8()}
	t := Datatype{Class: int(cv & 0x0f), Size: int(c.u32())}
	if c.err != nil {
		return t, fmt.Errorf("datatype message: %w", c.err)
	}
	switch t.Class {
	case ClassInteger:
		t.BigEndian, t.Signed = bits[0]&1 != 0, bits[0]&0x08 != 0
		if t.Size != 1 && t.Size != 2 && t.Size != 4 && t.Size != 8 {
			return t, fmt.Errorf("integer of %d bytes", t.Size)
		}
	case ClassFloat:
		t.BigEndian = bits[0]&1 != 0
		if bits[0]&0x40 != 0 {
			return t, fmt.Errorf("VAX-order floats are not supported")
		}
		return t, checkIEEE(c, t.Size)
	case ClassString:
		t.SpacePadded = bits[0]&0x0f == 2
	case ClassVarLen:
		if bits[0]&0x0f != 1 {
			return t, fmt.Errorf("variable-length sequences are not supported (only strings)")
		}
		t.VarString = true
	default:
		return t, fmt.Errorf("datatype class %d is not supported (integers, floats and strings are)", t.Class)
	}
	return t, nil
}

// checkIEEE checks a float's bit layout: IEEE half, single or double precision.
func checkIEEE(c *cursor, size int) error {
	c.skip(4) // bit offset, precision
	expLoc, expSize, mantLoc, mantSize := c.u8(), c.u8(), c.u8(), c.u8()
	want := map[int][4]uint8{2: {10, 5, 0, 10}, 4: {23, 8, 0, 23}, 8: {52, 11, 0, 52}}
	w, ok := want[size]
	if c.err != nil {
		return fmt.Errorf("float datatype: %w", c.err)
	}
	if !ok || [4]uint8{expLoc, expSize, mantLoc, mantSize} != w {
		return fmt.Errorf("float of %d bytes (exponent %d bits at %d, mantissa %d bits at %d) is not IEEE half, single or double precision", size, expSize, expLoc, mantSize, mantLoc)
	}
	return nil
}

// dataspace is the shape of a dataset or attribute: nil dims for a scalar; null is empty.
type dataspace struct {
	dims []int
	null bool
}

func (s dataspace) count() int {
	if s.null {
		return 0
	}
	n := 1
	for _, d := range s.dims {
		n *= d
	}
	return n
}

// maxElements bounds a dataspace (and what a damaged file can make us allocate).
const maxElements = 1 << 34

func decodeDataspace(f *File, data []byte) (dataspace, error) {
	c := &cursor{b: data, f: f}
	version, rank, flags := c.u8(), int(c.u8()), c.u8()
	var s dataspace
	switch version {
	case 1:
		c.skip(5)
	case 2:
		typ := c.u8()
		s.null = typ == 2
	default:
		return s, fmt.Errorf("dataspace version %d", version)
	}
	total := uint64(1)
	for range rank {
		d := c.length()
		total *= max(d, 1)
		if d > maxElements || total > maxElements {
			return s, fmt.Errorf("dataspace of more than %d elements", uint64(maxElements))
		}
		s.dims = append(s.dims, int(d))
	}
	_ = flags // maximum dimensions and permutations do not change the data's shape
	if c.err != nil {
		return s, fmt.Errorf("dataspace message: %w", c.err)
	}
	return s, nil
}

// order returns the byte order of a numeric type.
func (t Datatype) order() binary.ByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// float64s converts raw numeric elements to float64.
func (t Datatype) float64s(raw []byte, n int) ([]float64, error) {
	if t.Class != ClassFloat && t.Class != ClassInteger {
		return nil, fmt.Errorf("%s data is not numeric", t)
	}
	if len(raw) < n*t.Size {
		return nil, fmt.Errorf("%d bytes of data for %d %s values", len(raw), n, t)
	}
	out := make([]float64, n)
	o := t.order()
	for i := range out {
		b := raw[i*t.Size : (i+1)*t.Size]
		out[i] = t.value(o, b)
	}
	return out, nil
}

func (t Datatype) value(o binary.ByteOrder, b []byte) float64 {
	if t.Class == ClassFloat {
		switch t.Size {
		case 2:
			return float64(halfToFloat32(o.Uint16(b)))
		case 4:
			return float64(math.Float32frombits(o.Uint32(b)))
		default:
			return math.Float64frombits(o.Uint64(b))
		}
	}
	var u uint64
	switch t.Size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(o.Uint16(b))
	case 4:
		u = uint64(o.Uint32(b))
	default:
		u = o.Uint64(b)
	}
	if t.Signed {
		shift := 64 - 8*t.Size
		return float64(int64(u<<shift) >> shift)
	}
	return float64(u)
}

// halfToFloat32 converts IEEE half-precision bits to float32.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// strings converts raw string elements (fixed-length, or variable-length references into the
// global heap) to Go strings.
func (t Datatype) strings(f *File, raw []byte, n int) ([]string, error) {
	out := make([]string, n)
	switch {
	case t.Class == ClassString:
		if len(raw) < n*t.Size {
			return nil, fmt.Errorf("%d bytes of data for %d strings of %d bytes", len(raw), n, t.Size)
		}
		for i := range out {
			s := string(raw[i*t.Size : (i+1)*t.Size])
			if t.SpacePadded {
				s = strings.TrimRight(s, " ")
			} else if j := strings.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			out[i] = s
		}
	case t.VarString:
		ref := 4 + f.offsetSize + 4
		if len(raw) < n*ref {
			return nil, fmt.Errorf("%d bytes of data for %d variable-length strings", len(raw), n)
		}
		for i := range out {
			c := &cursor{b: raw[i*ref : (i+1)*ref], f: f}
			size, coll, idx := c.u32(), c.addr(), c.u32()
			if size == 0 || f.undefined(coll) || coll == 0 {
				continue
			}
			b, err := f.globalObject(coll, idx)
			if err != nil {
				return nil, err
			}
			out[i] = string(b[:min(int(size), len(b))])
		}
	default:
		return nil, fmt.Errorf("%s data is not a string", t)
	}
	return out, nil
}
