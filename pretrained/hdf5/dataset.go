package hdf5

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// Dataset is an HDF5 dataset: a typed n-dimensional array.
type Dataset struct {
	obj     *object
	Type    Datatype
	Shape   []int // nil for a scalar
	space   dataspace
	layout  layout
	filters []filter
}

// Storage layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
)

// Chunk index types (layout version 4); indexBTree1 stands for layout version 3's v1 B-tree.
const (
	indexBTree1      = 0
	indexSingle      = 1
	indexImplicit    = 2
	indexFixedArray  = 3
	indexExtensible  = 4
	indexBTree2      = 5
	chunkKeyOverhead = 8 // chunk size and filter mask before the chunk offsets of a v1 B-tree key
)

type layout struct {
	class        int
	data         []byte // compact
	addr, size   uint64 // contiguous data; chunk index address
	chunk        []int  // chunk dimensions (without the element size)
	index        int
	filteredSize uint64 // single chunk with filters
	filterMask   uint32
}

// filter is one stage of a filter pipeline.
type filter struct {
	id     uint16
	name   string
	values []uint32
}

// Path is the dataset's path from the root.
func (d *Dataset) Path() string { return d.obj.path }

// Attrs lists the dataset's attributes.
func (d *Dataset) Attrs() ([]*Attribute, error) { return d.obj.attributes() }

// Attr returns the named attribute.
func (d *Dataset) Attr(name string) (*Attribute, error) { return d.obj.attribute(name) }

// Len is the number of elements.
func (d *Dataset) Len() int { return d.space.count() }

func newDataset(o *object) (*Dataset, error) {
	d := &Dataset{obj: o}
	for _, want := range []uint16{msgDatatype, msgDataspace, msgLayout} {
		m, ok := o.find(want)
		if !ok {
			return nil, fmt.Errorf("%s is not a dataset (no message %#x)", o.path, want)
		}
		if m.flags&msgFlagShared != 0 {
			return nil, fmt.Errorf("dataset %s: shared header messages (committed datatypes) are not supported", o.path)
		}
		var err error
		switch want {
		case msgDatatype:
			d.Type, err = decodeDatatype(m.data)
		case msgDataspace:
			d.space, err = decodeDataspace(o.f, m.data)
			d.Shape = d.space.dims
		case msgLayout:
			d.layout, err = decodeLayout(o.f, m.data, len(d.space.dims))
		}
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", o.path, err)
		}
	}
	if m, ok := o.find(msgFilters); ok {
		var err error
		if d.filters, err = decodeFilters(m.data); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", o.path, err)
		}
	}
	return d, nil
}

func decodeLayout(f *File, data []byte, rank int) (layout, error) {
	c := &cursor{b: data, f: f}
	version, class := c.u8(), int(c.u8())
	l := layout{class: class}
	if version < 3 || version > 4 {
		return l, fmt.Errorf("data layout version %d is not supported (3 and 4 are)", version)
	}
	switch class {
	case layoutCompact:
		n := int(c.u16())
		l.data = c.take(n)
	case layoutContiguous:
		l.addr, l.size = c.addr(), c.length()
	case layoutChunked:
		if version == 3 {
			return l, decodeChunkedV3(c, &l, rank)
		}
		return l, decodeChunkedV4(c, &l, rank)
	default:
		return l, fmt.Errorf("data layout class %d is not supported", class)
	}
	if c.err != nil {
		return l, fmt.Errorf("data layout message: %w", c.err)
	}
	return l, nil
}

func decodeChunkedV3(c *cursor, l *layout, rank int) error {
	dims := int(c.u8())
	l.addr = c.addr()
	for range dims {
		l.chunk = append(l.chunk, int(c.u32()))
	}
	l.index = indexBTree1
	return l.checkChunk(c, dims, rank)
}

func decodeChunkedV4(c *cursor, l *layout, rank int) error {
	flags := c.u8()
	dims, enc := int(c.u8()), int(c.u8())
	for range dims {
		l.chunk = append(l.chunk, int(c.uint(enc)))
	}
	l.index = int(c.u8())
	switch l.index {
	case indexSingle:
		if flags&0x02 != 0 {
			l.filteredSize, l.filterMask = c.length(), c.u32()
		}
	case indexImplicit:
	case indexFixedArray:
		c.skip(1) // page bits (the header repeats them)
	case indexExtensible:
		return fmt.Errorf("chunked dataset with an extensible-array index (a resizable dataset) is not supported")
	case indexBTree2:
		return fmt.Errorf("chunked dataset with a v2 B-tree index (resizable in several dimensions) is not supported")
	default:
		return fmt.Errorf("chunk index type %d", l.index)
	}
	l.addr = c.addr()
	return l.checkChunk(c, dims, rank)
}

// checkChunk drops the element-size dimension and checks the chunk's rank.
func (l *layout) checkChunk(c *cursor, dims, rank int) error {
	if c.err != nil {
		return fmt.Errorf("data layout message: %w", c.err)
	}
	if dims != rank+1 {
		return fmt.Errorf("chunk of rank %d for a dataset of rank %d", dims-1, rank)
	}
	l.chunk = l.chunk[:rank]
	for _, n := range l.chunk {
		if n < 1 {
			return fmt.Errorf("chunk dimensions %v", l.chunk)
		}
	}
	return nil
}

func decodeFilters(data []byte) ([]filter, error) {
	c := &cursor{b: data}
	version, n := c.u8(), int(c.u8())
	if version == 1 {
		c.skip(6)
	}
	var out []filter
	for range n {
		var fl filter
		fl.id = c.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(c.u16())
		}
		c.skip(2) // flags
		nvals := int(c.u16())
		if nameLen > 0 {
			name := c.take(nameLen)
			if i := indexNul(name); i >= 0 {
				name = name[:i]
			}
			fl.name = string(name)
			if version == 1 && nameLen%8 != 0 {
				c.skip(8 - nameLen%8)
			}
		}
		for range nvals {
			fl.values = append(fl.values, c.u32())
		}
		if version == 1 && nvals%2 == 1 {
			c.skip(4)
		}
		out = append(out, fl)
	}
	if c.err != nil {
		return nil, fmt.Errorf("filter pipeline message: %w", c.err)
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("filter pipeline version %d", version)
	}
	return out, nil
}

// Raw returns the dataset's elements as stored, in row-major order (C order).
func (d *Dataset) Raw() ([]byte, error) {
	b, err := d.raw()
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.obj.path, err)
	}
	return b, nil
}

func (d *Dataset) raw() ([]byte, error) {
	n := uint64(d.space.count()) * uint64(d.Type.Size)
	switch d.layout.class {
	case layoutCompact:
		if uint64(len(d.layout.data)) < n {
			return nil, fmt.Errorf("compact data of %d bytes, want %d", len(d.layout.data), n)
		}
		return d.layout.data[:n], nil
	case layoutContiguous:
		if d.obj.f.undefined(d.layout.addr) {
			return make([]byte, n), nil // never written: the fill value (zeros)
		}
		if d.layout.size < n {
			return nil, fmt.Errorf("contiguous data of %d bytes, want %d", d.layout.size, n)
		}
		return d.obj.f.readAt(d.layout.addr, n)
	}
	return d.readChunks(n)
}

// Float32s returns a numeric dataset's elements converted to float32, in row-major order.
func (d *Dataset) Float32s() ([]float32, error) {
	raw, err := d.Raw()
	if err != nil {
		return nil, err
	}
	if d.Type.Class == ClassFloat && d.Type.Size == 4 && !d.Type.BigEndian {
		return float32sLE(raw), nil
	}
	v, err := d.Type.float64s(raw, d.Len())
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.obj.path, err)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

// Float64s returns a numeric dataset's elements as float64.
func (d *Dataset) Float64s() ([]float64, error) {
	raw, err := d.Raw()
	if err != nil {
		return nil, err
	}
	v, err := d.Type.float64s(raw, d.Len())
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.obj.path, err)
	}
	return v, nil
}

// Strings returns a string dataset's elements.
func (d *Dataset) Strings() ([]string, error) {
	raw, err := d.Raw()
	if err != nil {
		return nil, err
	}
	s, err := d.Type.strings(d.obj.f, raw, d.Len())
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.obj.path, err)
	}
	return s, nil
}

// unfilter undoes the filter pipeline on one chunk (filters run in reverse order; a set bit
// in mask means the filter was skipped for this chunk).
func (d *Dataset) unfilter(b []byte, mask uint32, want int) ([]byte, error) {
	for i := len(d.filters) - 1; i >= 0; i-- {
		if mask&(1<<i) != 0 {
			continue
		}
		fl := d.filters[i]
		var err error
		switch fl.id {
		case 1: // deflate
			b, err = inflate(b, want)
		case 2: // shuffle
			size := d.Type.Size
			if len(fl.values) > 0 {
				size = int(fl.values[0])
			}
			b = unshuffle(b, size)
		case 3: // fletcher32: a 4-byte checksum at the end
			if len(b) < 4 {
				return nil, fmt.Errorf("fletcher32 chunk of %d bytes", len(b))
			}
			b = b[:len(b)-4]
		default:
			return nil, fmt.Errorf("filter %d (%s) is not supported (deflate, shuffle and fletcher32 are)", fl.id, fl.name)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

func inflate(b []byte, want int) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	defer r.Close()
	out := bytes.NewBuffer(make([]byte, 0, want))
	if _, err := io.Copy(out, io.LimitReader(r, int64(want)+1)); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return out.Bytes(), nil
}

// unshuffle undoes the shuffle filter: byte j of every element was stored together.
func unshuffle(b []byte, size int) []byte {
	if size <= 1 || len(b) < size {
		return b
	}
	n := len(b) / size
	out := make([]byte, len(b))
	for j := range size {
		for i := range n {
			out[i*size+j] = b[j*n+i]
		}
	}
	copy(out[n*size:], b[n*size:]) // leftover bytes are not shuffled
	return out
}

func float32sLE(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = mathFloat32(b[4*i:])
	}
	return out
}
