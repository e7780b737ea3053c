package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
)

func mathFloat32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// chunkRef locates one stored chunk.
type chunkRef struct {
	origin []int // element coordinates of the chunk's first element
	addr   uint64
	size   uint64 // stored (filtered) size
	mask   uint32 // filters skipped
}

// readChunks assembles a chunked dataset of n bytes from its chunks.
func (d *Dataset) readChunks(n uint64) ([]byte, error) {
	refs, err := d.chunkRefs()
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	chunkBytes := d.Type.Size
	for _, c := range d.layout.chunk {
		chunkBytes *= c
	}
	f := d.obj.f
	for _, r := range refs {
		if f.undefined(r.addr) {
			continue // never written: zeros
		}
		if r.size > uint64(f.size) {
			return nil, fmt.Errorf("chunk of %d bytes in a %d-byte file", r.size, f.size)
		}
		b, err := f.readAt(r.addr, r.size)
		if err != nil {
			return nil, fmt.Errorf("chunk at %v: %w", r.origin, err)
		}
		if b, err = d.unfilter(b, r.mask, chunkBytes); err != nil {
			return nil, fmt.Errorf("chunk at %v: %w", r.origin, err)
		}
		if len(b) < chunkBytes {
			return nil, fmt.Errorf("chunk at %v holds %d bytes, want %d", r.origin, len(b), chunkBytes)
		}
		if err := d.place(out, b, r.origin); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// place copies a decoded chunk into the dataset buffer, clipping at the dataset's edges.
func (d *Dataset) place(out, chunk []byte, origin []int) error {
	dims, cd, es := d.space.dims, d.layout.chunk, d.Type.Size
	rank := len(dims)
	if rank == 0 {
		copy(out, chunk[:es])
		return nil
	}
	for i := range rank {
		if origin[i] < 0 || origin[i] >= dims[i] || origin[i]%cd[i] != 0 {
			return fmt.Errorf("chunk offset %v outside the dataset %v", origin, dims)
		}
	}
	rowLen := min(cd[rank-1], dims[rank-1]-origin[rank-1]) * es
	idx := make([]int, rank) // position inside the chunk; the last axis is copied as a row
	for {
		src, dst := 0, 0
		for i := range rank {
			src = src*cd[i] + idx[i]
			dst = dst*dims[i] + origin[i] + idx[i]
		}
		copy(out[dst*es:dst*es+rowLen], chunk[src*es:])
		i := rank - 2
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < cd[i] && origin[i]+idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// grid is the number of chunks along each axis.
func (d *Dataset) grid() []int {
	g := make([]int, len(d.space.dims))
	for i, n := range d.space.dims {
		g[i] = (n + d.layout.chunk[i] - 1) / d.layout.chunk[i]
	}
	return g
}

// originOf is the element origin of the i-th chunk in row-major grid order.
func (d *Dataset) originOf(i int) []int {
	g := d.grid()
	o := make([]int, len(g))
	for k := len(g) - 1; k >= 0; k-- {
		o[k] = (i % g[k]) * d.layout.chunk[k]
		i /= g[k]
	}
	return o
}

func (d *Dataset) chunkCount() int {
	n := 1
	for _, g := range d.grid() {
		n *= g
	}
	return n
}

func (d *Dataset) unfilteredChunkSize() uint64 {
	n := uint64(d.Type.Size)
	for _, c := range d.layout.chunk {
		n *= uint64(c)
	}
	return n
}

// chunkRefs lists the stored chunks from the dataset's chunk index.
func (d *Dataset) chunkRefs() ([]chunkRef, error) {
	l, f := d.layout, d.obj.f
	if d.space.count() == 0 || f.undefined(l.addr) {
		return nil, nil
	}
	switch l.index {
	case indexBTree1:
		return d.btreeChunks()
	case indexSingle:
		size := d.unfilteredChunkSize()
		if len(d.filters) > 0 && l.filteredSize > 0 {
			size = l.filteredSize
		}
		return []chunkRef{{origin: make([]int, len(l.chunk)), addr: l.addr, size: size, mask: l.filterMask}}, nil
	case indexImplicit:
		size := d.unfilteredChunkSize()
		refs := make([]chunkRef, d.chunkCount())
		for i := range refs {
			refs[i] = chunkRef{origin: d.originOf(i), addr: l.addr + uint64(i)*size, size: size}
		}
		return refs, nil
	case indexFixedArray:
		return d.fixedArrayChunks()
	}
	return nil, fmt.Errorf("chunk index type %d is not supported", l.index)
}

// btreeChunks walks the v1 B-tree (node type 1) of a layout-version-3 chunked dataset.
func (d *Dataset) btreeChunks() ([]chunkRef, error) {
	f, rank := d.obj.f, len(d.space.dims)
	keySize := chunkKeyOverhead + 8*(rank+1)
	var refs []chunkRef
	err := f.walkBTree1(d.layout.addr, 1, keySize, func(key []byte, child uint64) error {
		c := &cursor{b: key, f: f}
		r := chunkRef{size: uint64(c.u32()), mask: c.u32(), addr: child}
		for range rank {
			r.origin = append(r.origin, int(c.u64()))
		}
		refs = append(refs, r)
		return c.err
	})
	return refs, err
}

// fixedArrayChunks reads a fixed-array chunk index ("FAHD" header, "FADB" data block).
func (d *Dataset) fixedArrayChunks() ([]chunkRef, error) {
	f := d.obj.f
	h, err := f.cursorAt(d.layout.addr, uint64(8+f.lengthSize+f.offsetSize))
	if err != nil {
		return nil, fmt.Errorf("fixed array index: %w", err)
	}
	h.signature("FAHD")
	h.skip(1)
	client, entrySize, pageBits := h.u8(), int(h.u8()), int(h.u8())
	count, block := h.length(), h.addr()
	if h.err != nil {
		return nil, fmt.Errorf("fixed array index: %w", h.err)
	}
	if count != uint64(d.chunkCount()) || pageBits > 32 {
		return nil, fmt.Errorf("fixed array index of %d entries for %d chunks", count, d.chunkCount())
	}
	filtered := client == 1
	if (filtered && entrySize <= f.offsetSize+4) || (!filtered && entrySize < f.offsetSize) {
		return nil, fmt.Errorf("fixed array entries of %d bytes", entrySize)
	}
	entries, err := d.fixedArrayEntries(block, int(count), entrySize, pageBits)
	if err != nil {
		return nil, err
	}
	refs := make([]chunkRef, count)
	for i := range refs {
		c := &cursor{b: entries[i*entrySize : (i+1)*entrySize], f: f}
		refs[i] = chunkRef{origin: d.originOf(i), addr: c.addr(), size: d.unfilteredChunkSize()}
		if filtered {
			refs[i].size = c.uint(entrySize - f.offsetSize - 4)
			refs[i].mask = c.u32()
		}
	}
	return refs, nil
}

// fixedArrayEntries returns the packed entries of a fixed-array data block, paged or not.
func (d *Dataset) fixedArrayEntries(block uint64, count, entrySize, pageBits int) ([]byte, error) {
	f := d.obj.f
	prefix := uint64(4 + 1 + 1 + f.offsetSize)
	perPage := 1 << pageBits
	if count <= perPage {
		b, err := f.readAt(block+prefix, uint64(count*entrySize))
		if err != nil {
			return nil, fmt.Errorf("fixed array data block: %w", err)
		}
		return b, nil
	}
	pages := (count + perPage - 1) / perPage
	at := block + prefix + uint64((pages+7)/8) + 4 // page bitmap, checksum
	out := make([]byte, 0, count*entrySize)
	for p := range pages {
		n := min(perPage, count-p*perPage)
		b, err := f.readAt(at, uint64(n*entrySize))
		if err != nil {
			return nil, fmt.Errorf("fixed array page %d: %w", p, err)
		}
		out = append(out, b...)
		at += uint64(perPage*entrySize) + 4
	}
	return out, nil
}
