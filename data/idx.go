package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Class names of the IDX datasets bonsai knows, made safe for folder names.
var (
	FashionMNISTClasses = []string{"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"}
	MNISTClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
)

// IDXImages holds N grayscale images of Rows x Cols bytes each, row-major.
type IDXImages struct {
	N, Rows, Cols int
	Pixels        []byte
}

// Image returns image i as a grayscale image sharing the pixel memory.
func (m *IDXImages) Image(i int) *image.Gray {
	size := m.Rows * m.Cols
	return &image.Gray{Pix: m.Pixels[i*size : (i+1)*size], Stride: m.Cols, Rect: image.Rect(0, 0, m.Cols, m.Rows)}
}

// maxIDXBytes bounds the data an IDX header may announce.
const maxIDXBytes = 1 << 32

// ReadIDXImages reads an idx3-ubyte image file (magic 0x00000803), gzip-compressed or not.
func ReadIDXImages(r io.Reader) (*IDXImages, error) {
	dims, data, err := readIDX(r, 3)
	if err != nil {
		return nil, err
	}
	return &IDXImages{N: dims[0], Rows: dims[1], Cols: dims[2], Pixels: data}, nil
}

// ReadIDXLabels reads an idx1-ubyte label file (magic 0x00000801), gzip-compressed or not.
func ReadIDXLabels(r io.Reader) ([]byte, error) {
	_, data, err := readIDX(r, 1)
	return data, err
}

func readIDX(r io.Reader, wantDims int) ([]int, []byte, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip stream: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("reading IDX magic number: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || int(magic[3]) != wantDims {
		return nil, nil, fmt.Errorf("magic number %x: want 000008%02x (unsigned bytes, %d dimension(s)); is this the right file?", magic, wantDims, wantDims)
	}
	dims := make([]int, wantDims)
	total := uint64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("reading IDX dimension %d: %w", i+1, err)
		}
		dims[i] = int(d)
		total *= uint64(d)
		if total > maxIDXBytes {
			return nil, nil, fmt.Errorf("IDX header announces more than %d bytes", uint64(maxIDXBytes))
		}
	}
	data, err := io.ReadAll(io.LimitReader(br, int64(total)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading IDX data: %w", err)
	}
	if uint64(len(data)) != total {
		return nil, nil, fmt.Errorf("IDX header announces %v = %d bytes of data, file holds %s", dims, total, sizeWord(len(data), total))
	}
	return dims, data, nil
}

func sizeWord(got int, want uint64) string {
	if uint64(got) > want {
		return "more (trailing bytes)"
	}
	return fmt.Sprintf("only %d (truncated)", got)
}

// IDXOptions configure ConvertIDX.
type IDXOptions struct {
	Images, Labels string // paths to the idx3 image and idx1 label files
	Out            string
	ClassNames     []string // label -> class folder name
	LimitPerClass  int      // 0: all images; else a seeded random sample of this many per class
	Seed           int64
	Force          bool
}

// ConvertIDX writes the images as Out/<class>/<index>.png, where index is the image's
// position in the file, counted from 1 and zero-padded to 5 digits.
func ConvertIDX(opts IDXOptions) (*Result, error) {
	if err := checkClassNames(opts.ClassNames); err != nil {
		return nil, err
	}
	if opts.LimitPerClass < 0 {
		return nil, fmt.Errorf("the limit per class must be >= 0, got %d", opts.LimitPerClass)
	}
	imgs, imgHash, err := readIDXFile(opts.Images, func(r io.Reader) (*IDXImages, error) { return ReadIDXImages(r) })
	if err != nil {
		return nil, err
	}
	labels, lblHash, err := readIDXFile(opts.Labels, ReadIDXLabels)
	if err != nil {
		return nil, err
	}
	if err := checkIDXPair(opts, imgs, labels); err != nil {
		return nil, err
	}
	inputs := map[string]any{
		"images": imgHash, "labels": lblHash, "class_names": opts.ClassNames,
		"limit_per_class": opts.LimitPerClass,
	}
	if opts.LimitPerClass > 0 {
		inputs["seed"] = opts.Seed // the seed only matters when sampling
	}
	res := &Result{}
	b, err := beginOutput(opts.Out, "dataset idx", inputs, opts.Force, res)
	if b == nil {
		return res, err
	}
	m := &Manifest{Command: "dataset idx", Inputs: inputs, Counts: map[string]map[string]int{}}
	if err := writeIDXImages(b.tmp, imgs, labels, opts, m); err != nil {
		b.abort()
		return nil, err
	}
	if err := b.commit(m); err != nil {
		b.abort()
		return nil, err
	}
	res.Manifest = m
	return res, nil
}

func checkClassNames(names []string) error {
	if len(names) < 2 {
		return fmt.Errorf("need at least 2 class names, got %d", len(names))
	}
	seen := map[string]bool{}
	for _, n := range names {
		if err := ValidClassName(n); err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("class name %q is given twice", n)
		}
		seen[n] = true
	}
	return nil
}

// readIDXFile opens path, parses it with parse and returns a hash of the raw file.
func readIDXFile[T any](path string, parse func(io.Reader) (T, error)) (T, string, error) {
	var zero T
	f, err := openRegular(path, "IDX file")
	if err != nil {
		return zero, "", fmt.Errorf("reading IDX file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	v, err := parse(io.TeeReader(f, h))
	if err != nil {
		return zero, "", fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return zero, "", fmt.Errorf("reading %s: %w", path, err)
	}
	return v, hex.EncodeToString(h.Sum(nil))[:16], nil
}

func checkIDXPair(opts IDXOptions, imgs *IDXImages, labels []byte) error {
	if imgs.N != len(labels) {
		return fmt.Errorf("%s holds %d images but %s holds %d labels; pass matching files (e.g. both t10k-*)", opts.Images, imgs.N, opts.Labels, len(labels))
	}
	if imgs.N == 0 {
		return fmt.Errorf("%s holds no images", opts.Images)
	}
	if imgs.Rows == 0 || imgs.Cols == 0 {
		return fmt.Errorf("%s: images are %dx%d", opts.Images, imgs.Rows, imgs.Cols)
	}
	for i, l := range labels {
		if int(l) >= len(opts.ClassNames) {
			return fmt.Errorf("%s: label %d of image %d has no class name (%d names given); give a name for every label", opts.Labels, l, i+1, len(opts.ClassNames))
		}
	}
	return nil
}

func writeIDXImages(root string, imgs *IDXImages, labels []byte, opts IDXOptions, m *Manifest) error {
	width := max(5, len(fmt.Sprint(imgs.N)))
	for label, class := range opts.ClassNames {
		chosen := idxSelection(labels, label, opts)
		if len(chosen) == 0 {
			continue // no folder for a class the file does not hold (an empty one breaks Open)
		}
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		for _, i := range chosen {
			path := filepath.Join(dir, fmt.Sprintf("%0*d.png", width, i+1))
			if err := writePNG(path, imgs.Image(i)); err != nil {
				return err
			}
		}
		addCount(m, "all", class, len(chosen))
	}
	return nil
}

// idxSelection returns the indices of label's images: all, or a seeded sample, in file order.
func idxSelection(labels []byte, label int, opts IDXOptions) []int {
	var idx []int
	for i, l := range labels {
		if int(l) == label {
			idx = append(idx, i)
		}
	}
	if opts.LimitPerClass > 0 && len(idx) > opts.LimitPerClass {
		shuffle(newRNG(opts.Seed, "idx/"+opts.ClassNames[label]), idx)
		idx = idx[:opts.LimitPerClass]
		sort.Ints(idx)
	}
	return idx
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ParseClassNames turns --class-names (fashion-mnist, mnist, or a comma-separated list) into
// folder names.
func ParseClassNames(s string) ([]string, error) {
	switch strings.ToLower(s) {
	case "fashion-mnist", "fashion_mnist", "fashionmnist":
		return FashionMNISTClasses, nil
	case "mnist":
		return MNISTClasses, nil
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	return names, checkClassNames(names)
}
