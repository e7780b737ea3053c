// Package tensorboard owns TensorBoard event files: the TFRecord framing and the Event and
// Summary protocol buffers, encoded by hand with protowire (field numbers from TensorFlow's
// event.proto and summary.proto), so that Bonsai writes what TAO's training writes under
// <results_dir>/events without TensorFlow.
//
// A file is a sequence of records: the data length as 8 little-endian bytes, the masked
// CRC-32C of those 8 bytes (4 bytes, little-endian), the data, the masked CRC-32C of the data.
// The mask is ((c >> 15) | (c << 17)) + 0xa282ead8. The first record is an Event carrying
// file_version "brain.Event:2"; each later one carries a Summary of scalars, images or
// histograms at a step. Files are named events.out.tfevents.<unix seconds, 10 digits>.<host>.
//
// Field numbers used: Event wall_time 1 (double), step 2 (int64), file_version 3, summary 5.
// Summary value 1. Summary.Value tag 1, simple_value 2 (float), image 4, histo 5.
// Summary.Image height 1, width 2, colorspace 3, encoded_image_string 4 (PNG).
// HistogramProto min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6 and bucket 7 (packed
// doubles).
package tensorboard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// FileVersion is the file_version of the first event, as TensorFlow writes it.
const FileVersion = "brain.Event:2"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC is TFRecord's masked CRC-32C of data.
func MaskedCRC(data []byte) uint32 {
	c := crc32.Checksum(data, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// Writer appends events to one event file. It is not safe for concurrent use.
type Writer struct {
	path string
	f    *os.File
	w    *bufio.Writer
	now  func() time.Time
}

// Create makes dir and a new event file in it, named as TensorFlow names them, and writes the
// file_version event.
func Create(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the TensorBoard folder: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	now := time.Now()
	base := filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%010d.%s", now.Unix(), host))
	path := base
	var f *os.File
	for i := 1; ; i++ { // a second run in the same second gets its own file
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) || i > 100 {
			break
		}
		path = fmt.Sprintf("%s.%d", base, i)
	}
	if err != nil {
		return nil, fmt.Errorf("creating a TensorBoard event file: %w", err)
	}
	tw := &Writer{path: path, f: f, w: bufio.NewWriter(f), now: time.Now}
	ev := appendDouble(nil, 1, tw.wallTime())
	ev = protowire.AppendTag(ev, 3, protowire.BytesType)
	ev = protowire.AppendString(ev, FileVersion)
	if err := tw.record(ev); err != nil {
		f.Close()
		return nil, err
	}
	return tw, tw.Flush()
}

// Path is the event file's path.
func (w *Writer) Path() string { return w.path }

func (w *Writer) wallTime() float64 {
	return float64(w.now().UnixNano()) / 1e9
}

// record writes one TFRecord.
func (w *Writer) record(data []byte) error {
	var head [12]byte
	binary.LittleEndian.PutUint64(head[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(head[8:], MaskedCRC(head[:8]))
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], MaskedCRC(data))
	w.w.Write(head[:])
	w.w.Write(data)
	if _, err := w.w.Write(tail[:]); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	return nil
}

// summary writes an Event at step whose Summary holds the given encoded Summary.Values.
func (w *Writer) summary(step int64, values ...[]byte) error {
	var sum []byte
	for _, v := range values {
		sum = protowire.AppendTag(sum, 1, protowire.BytesType)
		sum = protowire.AppendBytes(sum, v)
	}
	ev := appendDouble(nil, 1, w.wallTime())
	ev = protowire.AppendTag(ev, 2, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, 5, protowire.BytesType)
	ev = protowire.AppendBytes(ev, sum)
	return w.record(ev)
}

// value starts a Summary.Value with its tag.
func value(tag string) []byte {
	v := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendString(v, tag)
}

// Scalar writes one scalar (Summary.Value.simple_value, a float32) at step.
func (w *Writer) Scalar(tag string, step int64, v float64) error {
	val := value(tag)
	val = protowire.AppendTag(val, 2, protowire.Fixed32Type)
	val = protowire.AppendFixed32(val, math.Float32bits(float32(v)))
	return w.summary(step, val)
}

// Image is one picture of an image summary: PNG bytes and their size.
type Image struct {
	Tag                       string
	Width, Height, Colorspace int // Colorspace 1 (gray), 3 (RGB) or 4 (RGBA)
	PNG                       []byte
}

// Images writes pictures at step, in one event.
func (w *Writer) Images(step int64, images ...Image) error {
	vals := make([][]byte, len(images))
	for i, im := range images {
		var m []byte
		m = appendInt(m, 1, int64(im.Height))
		m = appendInt(m, 2, int64(im.Width))
		m = appendInt(m, 3, int64(im.Colorspace))
		m = protowire.AppendTag(m, 4, protowire.BytesType)
		m = protowire.AppendBytes(m, im.PNG)
		v := value(im.Tag)
		v = protowire.AppendTag(v, 4, protowire.BytesType)
		vals[i] = protowire.AppendBytes(v, m)
	}
	return w.summary(step, vals...)
}

// Histogram is a HistogramProto: bucket i counts the values in (BucketLimit[i-1], BucketLimit[i]],
// the first bucket starting at Min.
type Histogram struct {
	Min, Max, Num, Sum, SumSquares float64
	BucketLimit, Bucket            []float64
}

// NewHistogram summarises values in n equal-width buckets between their minimum and maximum
// (one bucket when they are all equal).
func NewHistogram(values []float32, n int) Histogram {
	h := Histogram{Min: math.Inf(1), Max: math.Inf(-1), Num: float64(len(values))}
	for _, v := range values {
		x := float64(v)
		h.Min, h.Max = math.Min(h.Min, x), math.Max(h.Max, x)
		h.Sum += x
		h.SumSquares += x * x
	}
	if len(values) == 0 {
		h.Min, h.Max = 0, 0
	}
	if h.Max == h.Min || n < 1 {
		n = 1
	}
	width := (h.Max - h.Min) / float64(n)
	h.BucketLimit, h.Bucket = make([]float64, n), make([]float64, n)
	for i := range h.BucketLimit {
		h.BucketLimit[i] = h.Min + width*float64(i+1)
	}
	h.BucketLimit[n-1] = h.Max
	for _, v := range values {
		i := n - 1
		if width > 0 {
			i = min(n-1, max(0, int(math.Ceil((float64(v)-h.Min)/width))-1))
		}
		h.Bucket[i]++
	}
	return h
}

// Histogram writes a histogram at step.
func (w *Writer) Histogram(tag string, step int64, h Histogram) error {
	var m []byte
	for i, x := range []float64{h.Min, h.Max, h.Num, h.Sum, h.SumSquares} {
		m = appendDouble(m, protowire.Number(i+1), x)
	}
	m = appendPacked(m, 6, h.BucketLimit)
	m = appendPacked(m, 7, h.Bucket)
	v := value(tag)
	v = protowire.AppendTag(v, 5, protowire.BytesType)
	return w.summary(step, protowire.AppendBytes(v, m))
}

// Flush writes buffered events to the file.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing %s: %w", w.path, cerr)
	}
	return err
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func appendInt(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendPacked(b []byte, num protowire.Number, xs []float64) []byte {
	var p []byte
	for _, x := range xs {
		p = protowire.AppendFixed64(p, math.Float64bits(x))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}
