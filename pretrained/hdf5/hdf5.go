// Package hdf5 reads HDF5 files (the container of Keras' and TAO's .h5 / .hdf5 models), written
// in pure Go from the HDF5 File Format Specification (version 3.0). It is read-only and covers
// what h5py and Keras write:
//
//   - superblock versions 0 to 3, object headers versions 1 and 2 (with continuation blocks);
//   - groups stored as symbol tables (v1 B-tree + local heap) and as link messages, compact or
//     dense (fractal heap + v2 B-tree name index); hard links only;
//   - attributes in the object header (compact) or in a fractal heap (dense), huge heap objects
//     included;
//   - datasets with compact, contiguous or chunked storage; chunk indexes: v1 B-tree (layout
//     version 3), single chunk, implicit and fixed array (layout version 4); the deflate,
//     shuffle and fletcher32 filters;
//   - datatypes: little- and big-endian integers, IEEE floats of 2, 4 and 8 bytes, fixed-length
//     strings, and variable-length strings through the global heap.
//
// Anything else (extensible-array or v2 B-tree chunk indexes of resizable datasets, compound
// types, soft and external links, other filters) is reported as an error naming the feature.
// Checksums of version-2 structures are not verified; every read is bounds-checked, so a damaged
// file gives an error, never a panic.
package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// signature starts the superblock, at offset 0, 512, 1024, 2048, ...
var signature = []byte("\x89HDF\r\n\x1a\n")

// ErrNotHDF5 is returned for a file without an HDF5 superblock.
var ErrNotHDF5 = errors.New("not an HDF5 file (no superblock signature)")

// ErrNotFound is returned (wrapped) for a missing group member or attribute.
var ErrNotFound = errors.New("not found")

// File is an open HDF5 file.
type File struct {
	r      io.ReaderAt
	size   int64
	closer io.Closer
	name   string

	base        uint64 // base address: file addresses are relative to it
	offsetSize  int    // bytes of an address ("size of offsets")
	lengthSize  int    // bytes of a length ("size of lengths")
	superblock  int    // superblock version
	rootAddress uint64 // root group object header

	globalHeaps map[uint64][]byte // global heap collections already read, by address
}

// Open opens the HDF5 file at path.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewFile(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer, f.name = fh, path
	return f, nil
}

// NewFile reads an HDF5 file of the given size from r.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, size: size, globalHeaps: map[uint64][]byte{}}
	if err := f.readSuperblock(); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the underlying file when Open opened it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Root is the root group "/".
func (f *File) Root() (*Group, error) {
	o, err := f.object(f.rootAddress, "/")
	if err != nil {
		return nil, err
	}
	return &Group{o}, nil
}

// readSuperblock finds the signature and decodes the superblock (versions 0-3).
func (f *File) readSuperblock() error {
	at := int64(-1)
	for off := int64(0); off+8 <= f.size; off = max(512, off*2) {
		b := make([]byte, 8)
		if _, err := f.r.ReadAt(b, off); err != nil {
			return fmt.Errorf("reading superblock: %w", err)
		}
		if bytes.Equal(b, signature) {
			at = off
			break
		}
	}
	if at < 0 {
		return ErrNotHDF5
	}
	head := make([]byte, min(f.size-at, 256))
	if _, err := f.r.ReadAt(head, at); err != nil && err != io.EOF {
		return fmt.Errorf("reading superblock: %w", err)
	}
	c := &cursor{b: head, off: 8, f: f}
	f.superblock = int(c.u8())
	switch f.superblock {
	case 0, 1:
		return f.superblockV01(c)
	case 2, 3:
		return f.superblockV23(c)
	}
	return fmt.Errorf("superblock version %d is not supported", f.superblock)
}

func (f *File) superblockV01(c *cursor) error {
	c.skip(4) // free-space, root symbol table, reserved, shared header versions
	f.offsetSize, f.lengthSize = int(c.u8()), int(c.u8())
	if err := f.checkSizes(); err != nil {
		return err
	}
	c.skip(1 + 2 + 2 + 4) // reserved, leaf K, internal K, consistency flags
	if f.superblock == 1 {
		c.skip(4) // indexed storage K, reserved
	}
	f.base = c.addr()
	c.addr() // free-space info
	c.addr() // end of file
	c.addr() // driver information
	// Root group symbol table entry: link name offset, object header address, ...
	c.addr()
	f.rootAddress = c.addr()
	return c.err
}

func (f *File) superblockV23(c *cursor) error {
	f.offsetSize, f.lengthSize = int(c.u8()), int(c.u8())
	if err := f.checkSizes(); err != nil {
		return err
	}
	c.skip(1) // consistency flags
	f.base = c.addr()
	c.addr() // superblock extension
	c.addr() // end of file
	f.rootAddress = c.addr()
	return c.err
}

func (f *File) checkSizes() error {
	for _, s := range []int{f.offsetSize, f.lengthSize} {
		if s != 2 && s != 4 && s != 8 {
			return fmt.Errorf("superblock: size of offsets/lengths %d is not 2, 4 or 8", s)
		}
	}
	return nil
}

// undefined reports whether addr is the undefined address (all bits set).
func (f *File) undefined(addr uint64) bool {
	if f.offsetSize == 8 {
		return addr == ^uint64(0)
	}
	return addr == (uint64(1)<<(8*f.offsetSize))-1
}

// readAt reads n bytes at file address addr (relative to the base address).
func (f *File) readAt(addr uint64, n uint64) ([]byte, error) {
	if f.undefined(addr) {
		return nil, fmt.Errorf("read at the undefined address")
	}
	pos := f.base + addr
	if pos > uint64(f.size) || n > uint64(f.size)-pos {
		return nil, fmt.Errorf("read of %d bytes at %#x runs past the end of the file (%d bytes): the file is truncated or damaged", n, addr, f.size)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(pos)); err != nil && !(err == io.EOF && pos+n == uint64(f.size)) {
		return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, addr, err)
	}
	return b, nil
}

// readUpTo reads up to n bytes at addr, fewer at the end of the file.
func (f *File) readUpTo(addr uint64, n uint64) ([]byte, error) {
	pos := f.base + addr
	if pos < uint64(f.size) {
		n = min(n, uint64(f.size)-pos)
	}
	return f.readAt(addr, n)
}

// cursorAt returns a cursor over n bytes at addr.
func (f *File) cursorAt(addr, n uint64) (*cursor, error) {
	b, err := f.readAt(addr, n)
	if err != nil {
		return nil, err
	}
	return &cursor{b: b, f: f}, nil
}
