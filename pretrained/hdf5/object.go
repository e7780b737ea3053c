package hdf5

import (
	"fmt"
)

// Header message types used by this reader.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgLink         = 0x06
	msgLayout       = 0x08
	msgFilters      = 0x0B
	msgAttribute    = 0x0C
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// message flag bit: the message is shared (stored elsewhere).
const msgFlagShared = 0x02

// message is one header message.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// object is a parsed object header: a group, a dataset or a named datatype.
type object struct {
	f    *File
	addr uint64
	path string
	msgs []message
}

// maxHeaderBlocks bounds the continuation blocks followed for one object (a loop guard).
const maxHeaderBlocks = 10000

// object reads the object header at addr.
func (f *File) object(addr uint64, path string) (*object, error) {
	o := &object{f: f, addr: addr, path: path}
	head, err := f.readUpTo(addr, 16)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", path, err)
	}
	if len(head) >= 4 && string(head[:4]) == "OHDR" {
		err = o.readV2()
	} else if len(head) > 0 && head[0] == 1 {
		err = o.readV1()
	} else {
		err = fmt.Errorf("no object header at %#x", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", path, err)
	}
	return o, nil
}

// readV1 reads a version-1 object header: a 16-byte prefix, then messages in 8-byte aligned
// blocks.
func (o *object) readV1() error {
	c, err := o.f.cursorAt(o.addr, 16)
	if err != nil {
		return err
	}
	c.skip(2) // version, reserved
	nmsgs := int(c.u16())
	c.skip(4) // reference count
	size := uint64(c.u32())
	if c.err != nil {
		return c.err
	}
	return o.readBlocks([2]uint64{o.addr + 16, size}, func(b *cursor, _ int) ([][2]uint64, error) {
		var next [][2]uint64
		for b.left() >= 8 && len(o.msgs) < nmsgs {
			typ, msize := b.u16(), int(b.u16())
			flags := b.u8()
			b.skip(3)
			blk, err := o.addMessage(b, typ, flags, msize)
			if err != nil {
				return nil, err
			}
			next = append(next, blk...)
		}
		return next, nil
	})
}

// readBlocks decodes the header's first block and, in turn, every continuation block the
// messages point to.
func (o *object) readBlocks(first [2]uint64, decode func(b *cursor, i int) ([][2]uint64, error)) error {
	blocks := [][2]uint64{first}
	for i := 0; i < len(blocks); i++ {
		if i >= maxHeaderBlocks {
			return fmt.Errorf("too many header continuation blocks")
		}
		b, err := o.f.cursorAt(blocks[i][0], blocks[i][1])
		if err != nil {
			return err
		}
		next, err := decode(b, i)
		if err != nil {
			return err
		}
		blocks = append(blocks, next...)
	}
	return nil
}

// addMessage takes one message's data from b and records it; a continuation message returns
// the block it points to.
func (o *object) addMessage(b *cursor, typ uint16, flags uint8, size int) ([][2]uint64, error) {
	data := b.take(size)
	if b.err != nil {
		return nil, fmt.Errorf("header message: %w", b.err)
	}
	m := message{typ: typ, flags: flags, data: data}
	o.msgs = append(o.msgs, m)
	if typ != msgContinuation {
		return nil, nil
	}
	blk, err := o.continuation(m)
	if err != nil {
		return nil, err
	}
	return [][2]uint64{blk}, nil
}

// continuation decodes a continuation message: the address and length of the next block.
func (o *object) continuation(m message) ([2]uint64, error) {
	c := &cursor{b: m.data, f: o.f}
	at, n := c.addr(), c.length()
	if c.err != nil {
		return [2]uint64{}, fmt.Errorf("continuation message: %w", c.err)
	}
	return [2]uint64{at, n}, nil
}

// readV2 reads a version-2 object header ("OHDR") and its "OCHK" continuation blocks.
func (o *object) readV2() error {
	head, err := o.f.readUpTo(o.addr, 6+16+4+8)
	if err != nil {
		return err
	}
	c := &cursor{b: head, f: o.f}
	c.signature("OHDR")
	if v := c.u8(); c.err == nil && v != 2 {
		return fmt.Errorf("object header version %d", v)
	}
	flags := c.u8()
	if flags&0x20 != 0 {
		c.skip(16) // access, modification, change and birth times
	}
	if flags&0x10 != 0 {
		c.skip(4) // attribute phase change values
	}
	size := c.uint(1 << (flags & 3))
	if c.err != nil {
		return c.err
	}
	order := flags&0x04 != 0
	return o.readBlocks([2]uint64{o.addr + uint64(c.off), size}, func(b *cursor, i int) ([][2]uint64, error) {
		if i > 0 {
			b.signature("OCHK")
			b.b = b.b[:max(len(b.b)-4, 0)] // checksum
		}
		return o.messagesV2(b, order)
	})
}

// messagesV2 decodes the messages of one v2 header block and returns its continuation blocks.
func (o *object) messagesV2(b *cursor, order bool) ([][2]uint64, error) {
	hdr := 4
	if order {
		hdr = 6
	}
	var next [][2]uint64
	for b.left() >= hdr {
		typ := uint16(b.u8())
		msize := int(b.u16())
		flags := b.u8()
		if order {
			b.skip(2)
		}
		blk, err := o.addMessage(b, typ, flags, msize)
		if err != nil {
			return nil, err
		}
		next = append(next, blk...)
	}
	return next, nil
}

// find returns the first message of a type.
func (o *object) find(typ uint16) (message, bool) {
	for _, m := range o.msgs {
		if m.typ == typ {
			return m, true
		}
	}
	return message{}, false
}

// isGroup reports whether the object is a group (symbol table, links or link info).
func (o *object) isGroup() bool {
	for _, m := range o.msgs {
		if m.typ == msgSymbolTable || m.typ == msgLink || m.typ == msgLinkInfo {
			return true
		}
	}
	_, layout := o.find(msgLayout)
	_, dtype := o.find(msgDatatype)
	return !layout && !dtype
}
