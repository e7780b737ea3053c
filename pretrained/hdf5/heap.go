package hdf5

import (
	"fmt"
)

// localHeap reads the data segment of a local heap ("HEAP"), which holds the link names of a
// symbol-table group.
func (f *File) localHeap(addr uint64) ([]byte, error) {
	c, err := f.cursorAt(addr, uint64(8+2*f.lengthSize+f.offsetSize))
	if err != nil {
		return nil, fmt.Errorf("local heap: %w", err)
	}
	c.signature("HEAP")
	c.skip(4) // version, reserved
	size := c.length()
	c.length() // free list head
	data := c.addr()
	if c.err != nil {
		return nil, fmt.Errorf("local heap: %w", c.err)
	}
	b, err := f.readAt(data, size)
	if err != nil {
		return nil, fmt.Errorf("local heap data: %w", err)
	}
	return b, nil
}

// heapString is the NUL-terminated string at off in a local heap's data.
func heapString(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", fmt.Errorf("name offset %d outside the local heap (%d bytes)", off, len(heap))
	}
	c := &cursor{b: heap, off: int(off)}
	s := c.cstring()
	return s, c.err
}

// globalObject reads object index of the global heap collection at addr (variable-length data).
func (f *File) globalObject(addr uint64, index uint32) ([]byte, error) {
	coll, ok := f.globalHeaps[addr]
	if !ok {
		head, err := f.cursorAt(addr, uint64(8+f.lengthSize))
		if err != nil {
			return nil, fmt.Errorf("global heap: %w", err)
		}
		head.signature("GCOL")
		head.skip(4)
		size := head.length()
		if head.err != nil {
			return nil, fmt.Errorf("global heap: %w", head.err)
		}
		if coll, err = f.readUpTo(addr, size); err != nil {
			return nil, fmt.Errorf("global heap: %w", err)
		}
		f.globalHeaps[addr] = coll
	}
	c := &cursor{b: coll, off: 8 + f.lengthSize, f: f}
	for c.left() >= 8+f.lengthSize {
		idx := c.u16()
		c.skip(6) // reference count, reserved
		size := c.length()
		if idx == 0 { // free space: the rest of the collection
			break
		}
		if size > uint64(c.left()) {
			break
		}
		data := c.take(int(size))
		if uint32(idx) == index {
			return data, nil
		}
		c.align8()
	}
	return nil, fmt.Errorf("global heap collection %#x has no object %d", addr, index)
}

// fractalHeap is a fractal heap header ("FRHP"), holding dense links and attributes.
type fractalHeap struct {
	f            *File
	addr         uint64
	idLen        int
	filterLen    int
	flags        uint8
	maxManaged   uint64
	hugeBTree    uint64
	width        int
	startBlock   uint64
	maxDirect    uint64
	maxHeapBits  int
	rootBlock    uint64
	rootRows     int
	offsetBytes  int // bytes of a heap offset (block offsets and managed IDs)
	lengthBytes  int // bytes of a managed object's length in an ID
	maxDirectRow int // rows of direct blocks in an indirect block
}

func (f *File) fractalHeap(addr uint64) (*fractalHeap, error) {
	b, err := f.readUpTo(addr, 256)
	if err != nil {
		return nil, fmt.Errorf("fractal heap: %w", err)
	}
	c := &cursor{b: b, f: f}
	h := &fractalHeap{f: f, addr: addr}
	c.signature("FRHP")
	c.skip(1) // version
	h.idLen, h.filterLen = int(c.u16()), int(c.u16())
	h.flags = c.u8()
	h.maxManaged = uint64(c.u32())
	c.length() // next huge object ID
	h.hugeBTree = c.addr()
	c.length() // free space in managed blocks
	c.addr()   // free-space manager
	c.length() // managed space
	c.length() // allocated managed space
	c.length() // direct block allocation iterator
	c.length() // managed objects
	c.length() // huge objects size
	c.length() // huge objects count
	c.length() // tiny objects size
	c.length() // tiny objects count
	h.width = int(c.u16())
	h.startBlock = c.length()
	h.maxDirect = c.length()
	h.maxHeapBits = int(c.u16())
	c.u16() // starting rows of the root indirect block
	h.rootBlock = c.addr()
	h.rootRows = int(c.u16())
	if c.err != nil {
		return nil, fmt.Errorf("fractal heap at %#x: %w", addr, c.err)
	}
	if h.width < 1 || h.startBlock < 1 || h.maxDirect < h.startBlock || h.maxHeapBits < 1 || h.maxHeapBits > 64 {
		return nil, fmt.Errorf("fractal heap at %#x: bad doubling table (width %d, blocks %d..%d, %d bits)", addr, h.width, h.startBlock, h.maxDirect, h.maxHeapBits)
	}
	h.offsetBytes = (h.maxHeapBits + 7) / 8
	h.lengthBytes = min((log2(h.maxDirect)+7)/8, bytesFor(h.maxManaged))
	h.maxDirectRow = log2(h.maxDirect) - log2(h.startBlock) + 2
	return h, nil
}

// object returns the bytes of the heap object with the given heap ID.
func (h *fractalHeap) object(id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, fmt.Errorf("empty heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0:
		c := &cursor{b: id[1:], f: h.f}
		off, n := c.uint(h.offsetBytes), c.uint(h.lengthBytes)
		if c.err != nil {
			return nil, fmt.Errorf("managed heap ID: %w", c.err)
		}
		return h.managed(off, n)
	case 1:
		return h.huge(id[1:])
	case 2:
		n := int(id[0]&0x0f) + 1
		if 1+n > len(id) {
			return nil, fmt.Errorf("tiny heap object of %d bytes in a %d-byte ID", n, len(id))
		}
		return id[1 : 1+n], nil
	}
	return nil, fmt.Errorf("heap ID type %d", (id[0]>>4)&3)
}

// rowSize is the block size of doubling-table row r.
func (h *fractalHeap) rowSize(r int) uint64 {
	if r <= 1 {
		return h.startBlock
	}
	return h.startBlock << (r - 1)
}

// managed reads n bytes at heap offset off by walking the doubling table from the root.
func (h *fractalHeap) managed(off, n uint64) ([]byte, error) {
	if h.filterLen > 0 {
		return nil, fmt.Errorf("filtered fractal heaps are not supported")
	}
	block, blockOff, rows := h.rootBlock, uint64(0), h.rootRows
	for depth := 0; ; depth++ {
		if depth > 64 {
			return nil, fmt.Errorf("fractal heap too deep")
		}
		if rows == 0 { // a direct block
			return h.direct(block, blockOff, off, n)
		}
		child, childOff, childRows, err := h.indirectChild(block, rows, blockOff, off)
		if err != nil {
			return nil, err
		}
		block, blockOff, rows = child, childOff, childRows
	}
}

// direct reads an object from the direct block at addr, which starts at heap offset blockOff.
func (h *fractalHeap) direct(addr, blockOff, off, n uint64) ([]byte, error) {
	if off < blockOff {
		return nil, fmt.Errorf("heap offset %d before its block", off)
	}
	b, err := h.f.readAt(addr, off-blockOff+n)
	if err != nil {
		return nil, fmt.Errorf("fractal heap direct block: %w", err)
	}
	if string(b[:min(4, len(b))]) != "FHDB" {
		return nil, fmt.Errorf("fractal heap direct block at %#x: bad signature", addr)
	}
	return b[off-blockOff:], nil
}

// indirectChild finds, in the indirect block at addr (rows rows, starting at heap offset
// blockOff), the child block holding heap offset off.
func (h *fractalHeap) indirectChild(addr uint64, rows int, blockOff, off uint64) (child, childOff uint64, childRows int, err error) {
	rel := off - blockOff
	pos := uint64(0)
	entry := 0
	for r := 0; r < rows; r++ {
		size := h.rowSize(r)
		span := size * uint64(h.width)
		if rel < pos+span {
			col := (rel - pos) / size
			entry += int(col)
			childOff = blockOff + pos + col*size
			if r < h.maxDirectRow {
				childRows = 0
			} else {
				childRows = log2(size) - log2(h.startBlock*uint64(h.width)) + 1
			}
			child, err = h.childAddress(addr, entry)
			if err == nil && h.f.undefined(child) {
				err = fmt.Errorf("heap offset %d is in an unallocated block", off)
			}
			return child, childOff, childRows, err
		}
		pos += span
		entry += h.width
	}
	return 0, 0, 0, fmt.Errorf("heap offset %d beyond the indirect block", off)
}

// childAddress reads entry i of the indirect block at addr.
func (h *fractalHeap) childAddress(addr uint64, i int) (uint64, error) {
	at := addr + uint64(4+1+h.f.offsetSize+h.offsetBytes+i*h.f.offsetSize)
	c, err := h.f.cursorAt(at, uint64(h.f.offsetSize))
	if err != nil {
		return 0, fmt.Errorf("fractal heap indirect block: %w", err)
	}
	return c.addr(), c.err
}

// huge reads a huge object through the heap's v2 B-tree of huge objects.
func (h *fractalHeap) huge(id []byte) ([]byte, error) {
	if h.filterLen > 0 {
		return nil, fmt.Errorf("filtered huge heap objects are not supported")
	}
	if len(id) >= h.f.offsetSize+h.f.lengthSize { // directly accessed
		c := &cursor{b: id, f: h.f}
		at, n := c.addr(), c.length()
		return h.f.readAt(at, n)
	}
	c := &cursor{b: id, f: h.f}
	want := c.uint(min(len(id), h.f.lengthSize))
	var found []byte
	err := h.f.walkBTree2(h.hugeBTree, func(rec []byte) (bool, error) {
		r := &cursor{b: rec, f: h.f}
		at, n, key := r.addr(), r.length(), r.length()
		if r.err != nil {
			return false, r.err
		}
		if key != want {
			return true, nil
		}
		b, err := h.f.readAt(at, n)
		found = b
		return false, err
	})
	if err != nil {
		return nil, fmt.Errorf("huge heap object: %w", err)
	}
	if found == nil {
		return nil, fmt.Errorf("huge heap object %d not found", want)
	}
	return found, nil
}
