package hdf5

import (
	"fmt"
)

// maxTreeDepth bounds B-tree recursion (a loop guard for damaged files).
const maxTreeDepth = 64

// btree1Node is one node of a version-1 B-tree ("TREE"): keys[i] precedes children[i].
type btree1Node struct {
	level    int
	keys     [][]byte
	children []uint64
}

// btree1 reads the v1 B-tree node at addr whose keys are keySize bytes.
func (f *File) btree1(addr uint64, wantType uint8, keySize int) (*btree1Node, error) {
	head, err := f.cursorAt(addr, uint64(8+2*f.offsetSize))
	if err != nil {
		return nil, fmt.Errorf("v1 B-tree: %w", err)
	}
	head.signature("TREE")
	typ, level, used := head.u8(), int(head.u8()), int(head.u16())
	if head.err != nil {
		return nil, fmt.Errorf("v1 B-tree at %#x: %w", addr, head.err)
	}
	if typ != wantType {
		return nil, fmt.Errorf("v1 B-tree at %#x has node type %d, want %d", addr, typ, wantType)
	}
	body := uint64(used)*uint64(keySize+f.offsetSize) + uint64(keySize)
	c, err := f.cursorAt(addr+uint64(8+2*f.offsetSize), body)
	if err != nil {
		return nil, fmt.Errorf("v1 B-tree: %w", err)
	}
	n := &btree1Node{level: level}
	for i := 0; i < used; i++ {
		n.keys = append(n.keys, c.take(keySize))
		n.children = append(n.children, c.addr())
	}
	n.keys = append(n.keys, c.take(keySize))
	return n, c.err
}

// walkBTree1 calls leaf for every child of the level-0 nodes of a v1 B-tree, in key order,
// with the key that precedes it.
func (f *File) walkBTree1(addr uint64, typ uint8, keySize int, leaf func(key []byte, child uint64) error) error {
	var walk func(addr uint64, depth int) error
	walk = func(addr uint64, depth int) error {
		if depth > maxTreeDepth {
			return fmt.Errorf("v1 B-tree deeper than %d levels: the file is damaged", maxTreeDepth)
		}
		n, err := f.btree1(addr, typ, keySize)
		if err != nil {
			return err
		}
		for i, child := range n.children {
			if n.level > 0 {
				err = walk(child, depth+1)
			} else {
				err = leaf(n.keys[i], child)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(addr, 0)
}

// btree2 is a version-2 B-tree header ("BTHD") with the derived node sizes.
type btree2 struct {
	recordSize int
	nodeSize   int
	depth      int
	root       uint64
	rootRecs   int
	// nrecBytes[d] and totalBytes[d]: bytes of a child pointer's record counts for a child at
	// depth d (0 = leaves).
	nrecBytes, totalBytes []int
}

func (f *File) readBTree2(addr uint64) (*btree2, error) {
	c, err := f.cursorAt(addr, uint64(4+1+1+4+2+2+1+1+f.offsetSize+2+f.lengthSize))
	if err != nil {
		return nil, fmt.Errorf("v2 B-tree: %w", err)
	}
	c.signature("BTHD")
	c.skip(2) // version, type
	t := &btree2{}
	t.nodeSize, t.recordSize, t.depth = int(c.u32()), int(c.u16()), int(c.u16())
	c.skip(2) // split and merge percents
	t.root, t.rootRecs = c.addr(), int(c.u16())
	if c.err != nil {
		return nil, fmt.Errorf("v2 B-tree at %#x: %w", addr, c.err)
	}
	if t.recordSize < 1 || t.nodeSize <= 10+t.recordSize || t.depth > maxTreeDepth {
		return nil, fmt.Errorf("v2 B-tree at %#x: bad node size %d, record size %d or depth %d", addr, t.nodeSize, t.recordSize, t.depth)
	}
	t.sizes(f)
	return t, nil
}

// sizes derives the record-count field widths of internal nodes' child pointers, as the
// library computes them from the node and record sizes.
func (t *btree2) sizes(f *File) {
	const prefix = 10 // signature, version, type, checksum
	maxRec := uint64((t.nodeSize - prefix) / t.recordSize)
	cum := maxRec
	nrecSize := bytesFor(maxRec)
	t.nrecBytes = make([]int, t.depth+1)
	t.totalBytes = make([]int, t.depth+1)
	cumSize := 0 // cumulative size field of the level below
	for d := 0; d <= t.depth; d++ {
		t.nrecBytes[d] = nrecSize
		t.totalBytes[d] = cumSize
		if d == t.depth {
			break
		}
		ptr := f.offsetSize + nrecSize + cumSize
		if d+1 == 1 {
			ptr = f.offsetSize + nrecSize
		}
		levelMax := uint64(max((t.nodeSize-(prefix+ptr))/(t.recordSize+ptr), 0))
		cum = (levelMax+1)*cum + levelMax
		cumSize = bytesFor(cum)
	}
}

// walkBTree2 calls visit with every record of the v2 B-tree at addr, in order, until visit
// returns false.
func (f *File) walkBTree2(addr uint64, visit func(rec []byte) (bool, error)) error {
	t, err := f.readBTree2(addr)
	if err != nil {
		return err
	}
	if f.undefined(t.root) || t.rootRecs == 0 {
		return nil
	}
	_, err = f.walkNode2(t, t.root, t.depth, t.rootRecs, visit)
	return err
}

// walkNode2 visits the node at addr (depth levels above the leaves, nrec records).
func (f *File) walkNode2(t *btree2, addr uint64, depth, nrec int, visit func([]byte) (bool, error)) (bool, error) {
	c, err := f.cursorAt(addr, uint64(t.nodeSize))
	if err != nil {
		c2, err2 := f.readUpTo(addr, uint64(t.nodeSize))
		if err2 != nil {
			return false, fmt.Errorf("v2 B-tree node: %w", err)
		}
		c = &cursor{b: c2, f: f}
	}
	sig := "BTLF"
	if depth > 0 {
		sig = "BTIN"
	}
	c.signature(sig)
	c.skip(2) // version, type
	recs := make([][]byte, nrec)
	for i := range recs {
		recs[i] = c.take(t.recordSize)
	}
	if depth == 0 {
		if c.err != nil {
			return false, fmt.Errorf("v2 B-tree leaf at %#x: %w", addr, c.err)
		}
		for _, r := range recs {
			if more, err := visit(r); !more || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	type child struct {
		addr uint64
		nrec int
	}
	kids := make([]child, nrec+1)
	for i := range kids {
		kids[i].addr = c.addr()
		kids[i].nrec = int(c.uint(t.nrecBytes[depth-1]))
		if depth > 1 {
			c.uint(t.totalBytes[depth-1])
		}
	}
	if c.err != nil {
		return false, fmt.Errorf("v2 B-tree internal node at %#x: %w", addr, c.err)
	}
	for i, k := range kids {
		if more, err := f.walkNode2(t, k.addr, depth-1, k.nrec, visit); !more || err != nil {
			return false, err
		}
		if i < nrec {
			if more, err := visit(recs[i]); !more || err != nil {
				return false, err
			}
		}
	}
	return true, nil
}
