package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/bonsai-ml/bonsai/model"
)

// maxHeaderLen bounds the JSON header, as the reference safetensors implementation does.
const maxHeaderLen = 100_000_000

const metadataKey = "__metadata__"

// tensorInfo is one tensor's entry in the safetensors header.
type tensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// encodeSafetensors lays out tensors (sorted by name, contiguous, F32) after the header.
func encodeSafetensors(tensors map[string]*model.Tensor, meta map[string]string) ([]byte, error) {
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	header := map[string]any{metadataKey: meta}
	var offset int64
	for _, name := range names {
		t := tensors[name]
		if err := checkTensor(name, t); err != nil {
			return nil, err
		}
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		size := int64(len(t.Data)) * 4
		header[name] = tensorInfo{DType: "F32", Shape: shape, DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	headerJSON, err := marshalHeader(header)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+int64(len(headerJSON))+offset)
	binary.LittleEndian.PutUint64(out, uint64(len(headerJSON)))
	out = append(out, headerJSON...)
	for _, name := range names {
		for _, v := range tensors[name].Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// checkTensor rejects names and tensors the container cannot hold.
func checkTensor(name string, t *model.Tensor) error {
	if name == "" || name == metadataKey {
		return fmt.Errorf("invalid tensor name %q", name)
	}
	if t == nil {
		return fmt.Errorf("tensor %q is nil", name)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q has a negative dimension in shape %v", name, t.Shape)
		}
	}
	if len(t.Data) != t.Size() {
		return fmt.Errorf("tensor %q has %d values for shape %v (want %d)", name, len(t.Data), t.Shape, t.Size())
	}
	for i, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tensor %q holds %v at index %d: a model file holds finite values only", name, v, i)
		}
	}
	return nil
}

// marshalHeader encodes the header JSON without HTML escaping, padded with spaces to a
// multiple of 8 bytes so that the data starts aligned (as the reference writer does).
func marshalHeader(header map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header); err != nil {
		return nil, fmt.Errorf("encoding safetensors header: %w", err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	for (8+len(b))%8 != 0 {
		b = append(b, ' ')
	}
	if len(b) > maxHeaderLen {
		return nil, fmt.Errorf("safetensors header is %d bytes, over the %d limit", len(b), maxHeaderLen)
	}
	return b, nil
}

// decodeSafetensors parses a whole safetensors file held in memory.
func decodeSafetensors(data []byte) (map[string]*model.Tensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes is too short for a header", ErrCorrupt, len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeaderLen || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d does not fit the %d-byte file (truncated?)", ErrCorrupt, n, len(data))
	}
	headerJSON, body := data[8:8+n], data[8+n:]
	if len(headerJSON) == 0 || headerJSON[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header does not start with '{'", ErrCorrupt)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(headerJSON, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header JSON: %v", ErrCorrupt, err)
	}
	var meta map[string]string
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, metadataKey, err)
		}
		delete(raw, metadataKey)
	}
	infos := make(map[string]tensorInfo, len(raw))
	for name, r := range raw {
		var info tensorInfo
		if err := json.Unmarshal(r, &info); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", ErrCorrupt, name, err)
		}
		infos[name] = info
	}
	if err := checkLayout(infos, int64(len(body))); err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]*model.Tensor, len(raw))
	for name, info := range infos {
		t, err := decodeTensor(name, info, body)
		if err != nil {
			return nil, nil, err
		}
		tensors[name] = t
	}
	return tensors, meta, nil
}

// checkLayout checks, as the reference safetensors reader does, that the tensors' data
// offsets tile the data exactly: in order from 0, without overlap or gap, ending at the end
// of the file. A header one byte short, or overlapping tensors, fail here.
func checkLayout(infos map[string]tensorInfo, size int64) error {
	names := make([]string, 0, len(infos))
	for name := range infos {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := infos[names[i]].DataOffsets, infos[names[j]].DataOffsets
		return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])
	})
	var at int64
	for _, name := range names {
		begin, end := infos[name].DataOffsets[0], infos[name].DataOffsets[1]
		if begin != at || end < begin {
			return fmt.Errorf("%w: tensor %q: data offsets [%d, %d] %s", ErrCorrupt, name, begin, end, layoutProblem(begin, end, at))
		}
		at = end
	}
	if at != size {
		return fmt.Errorf("%w: the tensors take %d bytes but the data is %d bytes (a damaged header or a truncated file)", ErrCorrupt, at, size)
	}
	return nil
}

func layoutProblem(begin, end, at int64) string {
	switch {
	case end < begin:
		return "end before they begin"
	case begin < at:
		return fmt.Sprintf("overlap the tensor before (which ends at %d)", at)
	}
	return fmt.Sprintf("leave a gap after %d", at)
}

// decodeTensor reads one tensor's data, converting to float32, and refuses non-finite values.
func decodeTensor(name string, info tensorInfo, body []byte) (*model.Tensor, error) {
	width, ok := dtypeWidth[info.DType]
	if !ok {
		return nil, fmt.Errorf("tensor %q has dtype %q; supported: F32, F64, F16, BF16, I64, I32, U8", name, info.DType)
	}
	count, err := elementCount(info.Shape, int64(len(body)))
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrCorrupt, name, err)
	}
	begin, end := info.DataOffsets[0], info.DataOffsets[1]
	if begin < 0 || end < begin || end > int64(len(body)) {
		return nil, fmt.Errorf("%w: tensor %q: data offsets [%d, %d] outside the %d-byte data (truncated?)", ErrCorrupt, name, begin, end, len(body))
	}
	if end-begin != count*width {
		return nil, fmt.Errorf("%w: tensor %q: %d bytes for shape %v of %s", ErrCorrupt, name, end-begin, info.Shape, info.DType)
	}
	shape := make([]int, len(info.Shape))
	for i, d := range info.Shape {
		shape[i] = int(d)
	}
	data := toFloat32(info.DType, body[begin:end], int(count))
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: tensor %q holds %v at index %d; the model cannot predict with it", ErrCorrupt, name, v, i)
		}
	}
	return &model.Tensor{Shape: shape, Data: data}, nil
}

// elementCount multiplies the dimensions, refusing negative ones and products that could not
// fit in limit bytes (which also rules out overflow).
func elementCount(shape []int64, limit int64) (int64, error) {
	count := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
		if count > limit/d {
			return 0, fmt.Errorf("shape %v is larger than the file", shape)
		}
		count *= d
	}
	return count, nil
}

// dtypeWidth is the byte width of each safetensors dtype this package reads.
var dtypeWidth = map[string]int64{"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1}

// toFloat32 converts n little-endian values of dtype to float32.
func toFloat32(dtype string, b []byte, n int) []float32 {
	out := make([]float32, n)
	le := binary.LittleEndian
	var at func(i int) float32
	switch dtype {
	case "F32":
		for i := range out { // the common case, kept free of indirect calls
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return out
	case "F64":
		at = func(i int) float32 { return float32(math.Float64frombits(le.Uint64(b[8*i:]))) }
	case "F16":
		at = func(i int) float32 { return halfToFloat32(le.Uint16(b[2*i:])) }
	case "BF16":
		at = func(i int) float32 { return math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16) }
	case "I64":
		at = func(i int) float32 { return float32(int64(le.Uint64(b[8*i:]))) }
	case "I32":
		at = func(i int) float32 { return float32(int32(le.Uint32(b[4*i:]))) }
	case "U8":
		at = func(i int) float32 { return float32(b[i]) }
	}
	for i := range out {
		out[i] = at(i)
	}
	return out
}

// halfToFloat32 converts an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
