package hdf5

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Group is an HDF5 group: named links to groups and datasets, plus attributes.
type Group struct{ obj *object }

// Path is the group's path from the root ("/", "/model_weights").
func (g *Group) Path() string { return g.obj.path }

// link is a named hard link.
type link struct {
	name string
	addr uint64
	kind string // "" for hard links, else "soft" or "external"
}

// Names lists the group's member names in byte order (h5py's default order).
func (g *Group) Names() ([]string, error) {
	links, err := g.links()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.name
	}
	slices.Sort(names)
	return names, nil
}

// links reads the group's links from its symbol table, link messages or dense link storage.
func (g *Group) links() ([]link, error) {
	o := g.obj
	var links []link
	for _, m := range o.msgs {
		var err error
		switch m.typ {
		case msgSymbolTable:
			links, err = o.symbolTableLinks(m, links)
		case msgLink:
			var l link
			if l, err = o.f.decodeLink(m.data); err == nil {
				links = append(links, l)
			}
		case msgLinkInfo:
			links, err = o.denseLinks(m, links)
		}
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", o.path, err)
		}
	}
	return links, nil
}

// symbolTableLinks walks the group's v1 B-tree to its symbol table nodes ("SNOD").
func (o *object) symbolTableLinks(m message, links []link) ([]link, error) {
	f := o.f
	c := &cursor{b: m.data, f: f}
	tree, heapAddr := c.addr(), c.addr()
	if c.err != nil {
		return nil, fmt.Errorf("symbol table message: %w", c.err)
	}
	heap, err := f.localHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	err = f.walkBTree1(tree, 0, f.lengthSize, func(_ []byte, snod uint64) error {
		head, err := f.cursorAt(snod, 8)
		if err != nil {
			return fmt.Errorf("symbol table node: %w", err)
		}
		head.signature("SNOD")
		head.skip(2)
		n := int(head.u16())
		if head.err != nil {
			return fmt.Errorf("symbol table node: %w", head.err)
		}
		entry := 2*f.offsetSize + 24
		c, err := f.cursorAt(snod+8, uint64(n*entry))
		if err != nil {
			return fmt.Errorf("symbol table node: %w", err)
		}
		for range n {
			nameOff, addr := c.addr(), c.addr()
			c.skip(24) // cache type, reserved, scratch pad
			name, err := heapString(heap, nameOff)
			if err != nil {
				return err
			}
			links = append(links, link{name: name, addr: addr})
		}
		return c.err
	})
	return links, err
}

// decodeLink decodes a link message.
func (f *File) decodeLink(data []byte) (link, error) {
	c := &cursor{b: data, f: f}
	c.skip(1) // version
	flags := c.u8()
	kind := uint8(0)
	if flags&0x08 != 0 {
		kind = c.u8()
	}
	if flags&0x04 != 0 {
		c.skip(8) // creation order
	}
	if flags&0x10 != 0 {
		c.skip(1) // name character set
	}
	n := int(c.uint(1 << (flags & 3)))
	l := link{name: string(c.take(n))}
	switch kind {
	case 0:
		l.addr = c.addr()
	case 1:
		l.kind = "soft"
	case 64:
		l.kind = "external"
	default:
		l.kind = fmt.Sprintf("type-%d", kind)
	}
	if c.err != nil {
		return link{}, fmt.Errorf("link message: %w", c.err)
	}
	return l, nil
}

// denseLinks reads the links stored in a fractal heap, indexed by name in a v2 B-tree.
func (o *object) denseLinks(m message, links []link) ([]link, error) {
	f := o.f
	c := &cursor{b: m.data, f: f}
	c.skip(1)
	flags := c.u8()
	if flags&0x01 != 0 {
		c.skip(8) // maximum creation index
	}
	heapAddr, nameTree := c.addr(), c.addr()
	if c.err != nil {
		return nil, fmt.Errorf("link info message: %w", c.err)
	}
	if f.undefined(heapAddr) {
		return links, nil // compact storage: the links are link messages
	}
	heap, err := f.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	err = f.walkBTree2(nameTree, func(rec []byte) (bool, error) {
		if len(rec) < 4+heap.idLen {
			return false, fmt.Errorf("link name record of %d bytes", len(rec))
		}
		data, err := heap.object(rec[4 : 4+heap.idLen]) // after the name hash
		if err != nil {
			return false, err
		}
		l, err := f.decodeLink(data)
		links = append(links, l)
		return err == nil, err
	})
	return links, err
}

// member opens the object a link names.
func (g *Group) member(name string) (*object, error) {
	links, err := g.links()
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.name != name {
			continue
		}
		if l.kind != "" {
			return nil, fmt.Errorf("%s is a %s link; only hard links are supported", path.Join(g.obj.path, name), l.kind)
		}
		return g.obj.f.object(l.addr, path.Join(g.obj.path, name))
	}
	return nil, fmt.Errorf("%s: %w", path.Join(g.obj.path, name), ErrNotFound)
}

// lookup follows a relative path of member names ("a/b/c").
func (g *Group) lookup(p string) (*object, error) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	cur := g
	for i, part := range parts {
		o, err := cur.member(part)
		if err != nil {
			return nil, err
		}
		if i == len(parts)-1 {
			return o, nil
		}
		if !o.isGroup() {
			return nil, fmt.Errorf("%s is not a group", o.path)
		}
		cur = &Group{o}
	}
	return nil, fmt.Errorf("empty path")
}

// Group opens the group at the relative path p ("model_weights/conv1").
func (g *Group) Group(p string) (*Group, error) {
	o, err := g.lookup(p)
	if err != nil {
		return nil, err
	}
	if !o.isGroup() {
		return nil, fmt.Errorf("%s is not a group", o.path)
	}
	return &Group{o}, nil
}

// Dataset opens the dataset at the relative path p ("conv1/kernel:0").
func (g *Group) Dataset(p string) (*Dataset, error) {
	o, err := g.lookup(p)
	if err != nil {
		return nil, err
	}
	return newDataset(o)
}

// IsGroup reports whether the member at relative path p is a group.
func (g *Group) IsGroup(p string) (bool, error) {
	o, err := g.lookup(p)
	if err != nil {
		return false, err
	}
	return o.isGroup(), nil
}

// Attrs lists the group's attributes.
func (g *Group) Attrs() ([]*Attribute, error) { return g.obj.attributes() }

// Attr returns the named attribute (an error wrapping ErrNotFound when absent).
func (g *Group) Attr(name string) (*Attribute, error) { return g.obj.attribute(name) }
