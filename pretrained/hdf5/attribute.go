package hdf5

import (
	"fmt"
)

// Attribute is a small named value attached to a group or dataset.
type Attribute struct {
	Name  string
	Type  Datatype
	Shape []int // nil for a scalar
	f     *File
	count int
	raw   []byte
}

// Strings returns the attribute's values as strings (fixed or variable-length string types).
func (a *Attribute) Strings() ([]string, error) {
	s, err := a.Type.strings(a.f, a.raw, a.count)
	if err != nil {
		return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	return s, nil
}

// String returns a scalar (or one-element) string attribute.
func (a *Attribute) String() (string, error) {
	s, err := a.Strings()
	if err != nil {
		return "", err
	}
	if len(s) != 1 {
		return "", fmt.Errorf("attribute %s holds %d strings, not one", a.Name, len(s))
	}
	return s[0], nil
}

// Float64s returns a numeric attribute's values.
func (a *Attribute) Float64s() ([]float64, error) {
	v, err := a.Type.float64s(a.raw, a.count)
	if err != nil {
		return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	return v, nil
}

// decodeAttribute decodes an attribute message (versions 1 to 3).
func (f *File) decodeAttribute(data []byte) (*Attribute, error) {
	c := &cursor{b: data, f: f}
	version := c.u8()
	c.skip(1) // reserved (v1) or flags (v2, v3)
	nameLen, typeLen, spaceLen := int(c.u16()), int(c.u16()), int(c.u16())
	if version == 3 {
		c.skip(1) // name character set
	}
	pad := func() {
		if version == 1 {
			c.align8()
		}
	}
	name := c.take(nameLen)
	pad()
	typ := c.take(typeLen)
	pad()
	space := c.take(spaceLen)
	pad()
	if c.err != nil {
		return nil, fmt.Errorf("attribute message: %w", c.err)
	}
	if version < 1 || version > 3 {
		return nil, fmt.Errorf("attribute message version %d", version)
	}
	if i := indexNul(name); i >= 0 {
		name = name[:i]
	}
	a := &Attribute{Name: string(name), f: f}
	var err error
	if a.Type, err = decodeDatatype(typ); err != nil {
		return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	ds, err := decodeDataspace(f, space)
	if err != nil {
		return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
	}
	a.Shape, a.count = ds.dims, ds.count()
	a.raw = c.b[c.off:]
	if len(a.raw) < a.count*a.Type.Size {
		return nil, fmt.Errorf("attribute %s: %d bytes of data for %d elements of %d bytes", a.Name, len(a.raw), a.count, a.Type.Size)
	}
	return a, nil
}

func indexNul(b []byte) int {
	for i, v := range b {
		if v == 0 {
			return i
		}
	}
	return -1
}

// attributes reads the object's compact and dense attributes.
func (o *object) attributes() ([]*Attribute, error) {
	var out []*Attribute
	for _, m := range o.msgs {
		switch m.typ {
		case msgAttribute:
			if m.flags&msgFlagShared != 0 {
				return nil, fmt.Errorf("object %s: shared attribute messages are not supported", o.path)
			}
			a, err := o.f.decodeAttribute(m.data)
			if err != nil {
				return nil, fmt.Errorf("object %s: %w", o.path, err)
			}
			out = append(out, a)
		case msgAttrInfo:
			dense, err := o.denseAttributes(m)
			if err != nil {
				return nil, fmt.Errorf("object %s: %w", o.path, err)
			}
			out = append(out, dense...)
		}
	}
	return out, nil
}

// denseAttributes reads attributes kept in a fractal heap and indexed by name in a v2 B-tree.
func (o *object) denseAttributes(m message) ([]*Attribute, error) {
	f := o.f
	c := &cursor{b: m.data, f: f}
	c.skip(1)
	flags := c.u8()
	if flags&0x01 != 0 {
		c.skip(2) // maximum creation index
	}
	heapAddr, nameTree := c.addr(), c.addr()
	if c.err != nil {
		return nil, fmt.Errorf("attribute info message: %w", c.err)
	}
	if f.undefined(heapAddr) {
		return nil, nil
	}
	heap, err := f.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var out []*Attribute
	err = f.walkBTree2(nameTree, func(rec []byte) (bool, error) {
		if len(rec) < heap.idLen {
			return false, fmt.Errorf("attribute name record of %d bytes", len(rec))
		}
		data, err := heap.object(rec[:heap.idLen])
		if err != nil {
			return false, fmt.Errorf("dense attribute: %w", err)
		}
		a, err := f.decodeAttribute(data)
		if err != nil {
			return false, err
		}
		out = append(out, a)
		return true, nil
	})
	return out, err
}

// attribute returns the named attribute.
func (o *object) attribute(name string) (*Attribute, error) {
	all, err := o.attributes()
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("attribute %q of %s: %w", name, o.path, ErrNotFound)
}
