package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// sampleFile is a small but complete model file: a conv -> bn -> relu -> pool -> dense graph.
func sampleFile() *File {
	g := &model.Graph{
		Arch: "resnet", NLayers: 10, Input: [3]int{3, 8, 8}, Output: "predictions",
		Layers: []*model.Layer{
			{Name: "input_1", Op: model.OpInput, Block: -1},
			{Name: "conv1", Op: model.OpConv, Inputs: []string{"input_1"}, Filters: 4, Kernel: [2]int{3, 3},
				Strides: [2]int{2, 2}, Dilation: [2]int{1, 1}, Padding: model.PadSame, Groups: 1, Block: 0, Frozen: true},
			{Name: "bn_conv1", Op: model.OpBatchNorm, Inputs: []string{"conv1"}, Epsilon: 1e-5, Momentum: 0.9, Block: 0},
			{Name: "activation_1", Op: model.OpActivation, Inputs: []string{"bn_conv1"}, Activation: model.ActLeakyReLU, Alpha: 0.1, Block: -1},
			{Name: "avg_pool", Op: model.OpGlobalAvgPool, Inputs: []string{"activation_1"}, Block: -1},
			{Name: "predictions", Op: model.OpDense, Inputs: []string{"avg_pool"}, Units: 3, UseBias: true, Block: -1},
		},
	}
	r := rand.New(rand.NewPCG(1, 2))
	randTensor := func(shape ...int) *model.Tensor {
		t := model.NewTensor(shape...)
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64())
		}
		return t
	}
	w := model.Weights{
		"conv1/kernel":             randTensor(3, 3, 3, 4),
		"bn_conv1/gamma":           randTensor(4),
		"bn_conv1/beta":            randTensor(4),
		"bn_conv1/moving_mean":     randTensor(4),
		"bn_conv1/moving_variance": randTensor(4),
		"predictions/kernel":       randTensor(4, 3),
		"predictions/bias":         randTensor(3),
		"scalar/param":             {Shape: []int{}, Data: []float32{7}},
		"empty/param":              {Shape: []int{0, 5}, Data: []float32{}},
	}
	// Values that must survive bit for bit.
	w["predictions/bias"].Data = []float32{math.MaxFloat32, -math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1))}
	w["bn_conv1/beta"].Data[0] = math.Float32frombits(1) // smallest subnormal
	return &File{
		Graph:     g,
		Weights:   w,
		Optimizer: map[string]*model.Tensor{"conv1/kernel/momentum": randTensor(3, 3, 3, 4), "iterations": {Shape: []int{}, Data: []float32{42}}},
		Classmap:  map[string]int{"cat": 0, "dog": 1, "<bird & fish>": 2},
		Preprocessing: Preprocessing{Mode: "caffe", ImageMean: map[string]float32{"b": 103.939, "g": 116.779, "r": 123.68},
			InputSize: [3]int{3, 8, 8}, Interpolation: "bilinear", CenterCrop: true},
		Spec:  "model_config {\n  arch: \"resnet\"\n  n_layers: 10\n}\n",
		Epoch: 12,
		Extra: map[string]string{"bonsai_version": "dev", "note": "ünïcode ✓"},
	}
}

// sameBits reports whether two tensor maps hold the same shapes and bit patterns.
func sameBits(t *testing.T, what string, got, want map[string]*model.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("%s: tensor %q missing", what, name)
		}
		if !reflect.DeepEqual(append([]int{}, g.Shape...), append([]int{}, w.Shape...)) || len(g.Data) != len(w.Data) {
			t.Fatalf("%s %q: shape %v (%d values), want %v (%d)", what, name, g.Shape, len(g.Data), w.Shape, len(w.Data))
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("%s %q[%d]: bits %08x, want %08x", what, name, i, math.Float32bits(g.Data[i]), math.Float32bits(w.Data[i]))
			}
		}
	}
}

func checkSameFile(t *testing.T, got, want *File) {
	t.Helper()
	if !reflect.DeepEqual(got.Graph, want.Graph) {
		t.Errorf("graph differs:\n got %+v\nwant %+v", got.Graph, want.Graph)
	}
	sameBits(t, "weights", got.Weights, want.Weights)
	sameBits(t, "optimizer", got.Optimizer, want.Optimizer)
	if !reflect.DeepEqual(got.Classmap, want.Classmap) {
		t.Errorf("classmap %v, want %v", got.Classmap, want.Classmap)
	}
	if !reflect.DeepEqual(got.Preprocessing, want.Preprocessing) {
		t.Errorf("preprocessing %+v, want %+v", got.Preprocessing, want.Preprocessing)
	}
	if got.Spec != want.Spec || got.Epoch != want.Epoch {
		t.Errorf("spec/epoch %q/%d, want %q/%d", got.Spec, got.Epoch, want.Spec, want.Epoch)
	}
	if !reflect.DeepEqual(got.Extra, want.Extra) {
		t.Errorf("extra %v, want %v", got.Extra, want.Extra)
	}
}

func TestRoundTripPlain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resnet_012"+Ext)
	want := sampleFile()
	if err := Save(path, want, ""); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	checkSameFile(t, got, want)
	// Saving what was loaded gives the same bytes: the encoding is deterministic.
	again := filepath.Join(t.TempDir(), "again"+Ext)
	if err := Save(again, got, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("re-saving a loaded file changed its bytes")
	}
}

// TestLayoutIsSafetensors reads the file the way any safetensors reader does, without this
// package's decoder: aligned header, F32 entries, contiguous offsets covering the data.
func TestLayoutIsSafetensors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m"+Ext)
	f := sampleFile()
	if err := Save(path, f, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	var meta map[string]string
	if err := json.Unmarshal(header["__metadata__"], &meta); err != nil {
		t.Fatalf("__metadata__ is not a string map: %v", err)
	}
	if meta["format"] != "bonsai/1" || meta["epoch"] != "12" {
		t.Errorf("metadata format/epoch = %q/%q", meta["format"], meta["epoch"])
	}
	var g model.Graph
	if err := json.Unmarshal([]byte(meta["graph"]), &g); err != nil || g.Arch != "resnet" {
		t.Errorf("graph metadata: %v, arch %q", err, g.Arch)
	}
	body := data[8+n:]
	var end int64
	names := 0
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		names++
		var info tensorInfo
		if err := json.Unmarshal(raw, &info); err != nil || info.DType != "F32" {
			t.Fatalf("tensor %q entry %s: %v", name, raw, err)
		}
		end = max(end, info.DataOffsets[1])
	}
	if names != len(f.Weights)+len(f.Optimizer) || end != int64(len(body)) {
		t.Errorf("%d tensors ending at %d; want %d ending at %d", names, end, len(f.Weights)+len(f.Optimizer), len(body))
	}
	var info tensorInfo
	json.Unmarshal(header["conv1/kernel"], &info)
	first := math.Float32frombits(binary.LittleEndian.Uint32(body[info.DataOffsets[0]:]))
	if first != f.Weights["conv1/kernel"].Data[0] {
		t.Errorf("conv1/kernel[0] reads %v, want %v", first, f.Weights["conv1/kernel"].Data[0])
	}
	if _, ok := header["optimizer/conv1/kernel/momentum"]; !ok {
		t.Error("optimizer state not stored under optimizer/")
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m"+FileExt("s3cret"))
	want := sampleFile()
	if err := Save(path, want, "s3cret"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("BONSAIENC1")) {
		t.Fatalf("encrypted file starts with %q", data[:10])
	}
	if bytes.Contains(data, []byte("conv1/kernel")) || bytes.Contains(data, []byte("resnet")) {
		t.Fatal("encrypted file contains plain text")
	}
	got, err := Load(path, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	checkSameFile(t, got, want)

	t.Run("wrong key", func(t *testing.T) {
		_, err := Load(path, "guess")
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("got %v, want ErrWrongKey", err)
		}
		want := "wrong key for " + path + ": decryption failed (authentication)"
		if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("message %q, want one line starting %q", err, want)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		_, err := Load(path, "")
		if !errors.Is(err, ErrKeyRequired) || !strings.Contains(err.Error(), path) {
			t.Fatalf("got %v, want ErrKeyRequired naming the path", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		for _, at := range []int{12, 20, len(data) / 2, len(data) - 1} { // iterations, salt, body, tag
			bad := bytes.Clone(data)
			bad[at] ^= 0x01
			p := filepath.Join(t.TempDir(), "bad"+EncryptedExt)
			os.WriteFile(p, bad, 0o644)
			if _, err := Load(p, "s3cret"); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("flipping byte %d: got %v, want an error naming the file", at, err)
			}
		}
	})
}

func TestPlainFileIgnoresKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m"+Ext)
	if err := Save(path, sampleFile(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, "unused"); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptAndTruncated(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good"+Ext)
	if err := Save(good, sampleFile(), ""); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	n := int(binary.LittleEndian.Uint64(data))
	hugeHeader := bytes.Clone(data)
	binary.LittleEndian.PutUint64(hugeHeader, 1<<62)
	cases := map[string][]byte{
		"empty":           {},
		"short":           data[:5],
		"header cut":      data[:8+n/2],
		"data cut":        data[:len(data)-3],
		"huge header":     hugeHeader,
		"not json":        append(binary.LittleEndian.AppendUint64(nil, 4), "abcd"...),
		"jpeg":            {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 1},
		"encrypted stub":  []byte("BONSAIENC1\x01\x00"),
		"bad format":      withMeta(t, data, "format", "bonsai/99"),
		"bad epoch":       withMeta(t, data, "epoch", "twelve"),
		"bad graph":       withMeta(t, data, "graph", `{"arch": 5}`),
		"bad classmap":    withMeta(t, data, "classmap", `["cat"]`),
		"unknown dtype":   replaceOnce(t, data, `"dtype":"F32"`, `"dtype":"C64"`),
		"negative offset": replaceOnce(t, data, `"data_offsets":[0,`, `"data_offsets":[-8,`),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+Ext)
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, "key")
			if err == nil {
				t.Fatal("corrupt file loaded without error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line naming %s", err, p)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing"+Ext), ""); err == nil || !strings.Contains(err.Error(), "missing"+Ext) {
		t.Errorf("missing file: %v", err)
	}
}

// withMeta rewrites one metadata entry of a valid plain file.
func withMeta(t *testing.T, data []byte, key, value string) []byte {
	t.Helper()
	tensors, meta, err := decodeSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	meta[key] = value
	out, err := encodeSafetensors(tensors, meta)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceOnce edits the header text in place, keeping its length by padding with spaces.
func replaceOnce(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint64(data))
	header := string(data[8 : 8+n])
	if !strings.Contains(header, old) || len(new) < len(old) {
		t.Fatalf("cannot replace %q in header", old)
	}
	header = strings.Replace(header, old, new, 1)
	header = strings.TrimRight(header, " ")
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data[8+n:]...)
}

func TestFailedSaveKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resnet_001"+Ext)
	if err := Save(path, sampleFile(), ""); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	bad := sampleFile()
	bad.Weights["conv1/kernel"].Data = bad.Weights["conv1/kernel"].Data[:5] // shape says 108
	if err := Save(path, bad, ""); err == nil || !strings.Contains(err.Error(), "conv1/kernel") {
		t.Errorf("saving a malformed tensor: %v", err)
	}
	// A write that fails half way (disk full, killed encoder) must not replace the file either.
	errDiskFull := errors.New("disk full")
	err := atomicfile.Write(path, func(w io.Writer) error {
		w.Write(before[:len(before)/2])
		return errDiskFull
	})
	if !errors.Is(err, errDiskFull) {
		t.Errorf("atomicfile.Write returned %v, want the writer's error", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a failed save changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestSaveRejectsReservedNames(t *testing.T) {
	dir := t.TempDir()
	f := sampleFile()
	f.Weights["optimizer/x"] = model.NewTensor(1)
	if err := Save(filepath.Join(dir, "a"+Ext), f, ""); err == nil {
		t.Error("weight under optimizer/ accepted")
	}
	f = sampleFile()
	f.Extra["graph"] = "{}"
	if err := Save(filepath.Join(dir, "b"+Ext), f, ""); err == nil {
		t.Error("extra metadata overriding graph accepted")
	}
}

// TestForeignDtypes decodes a file as another tool might write it: F16, BF16, F64 and I64
// tensors and no Bonsai metadata.
func TestForeignDtypes(t *testing.T) {
	var body []byte
	body = binary.LittleEndian.AppendUint16(body, 0x3c00) // f16 1.0
	body = binary.LittleEndian.AppendUint16(body, 0xc000) // f16 -2.0
	body = binary.LittleEndian.AppendUint16(body, 0x0001) // f16 smallest subnormal 2^-24
	body = binary.LittleEndian.AppendUint16(body, 0x3fc0) // bf16 1.5
	body = binary.LittleEndian.AppendUint64(body, math.Float64bits(0.1))
	body = binary.LittleEndian.AppendUint64(body, uint64(12345))
	header := `{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},` +
		`"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[6,8]},` +
		`"c":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},` +
		`"bn/num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[16,24]}}`
	data := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	data = append(append(data, header...), body...)
	f, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{"a": {1, -2, 1.0 / (1 << 24)}, "b": {1.5}, "c": {0.1}, "bn/num_batches_tracked": {12345}}
	for name, vals := range want {
		if !reflect.DeepEqual(f.Weights[name].Data, vals) {
			t.Errorf("%s = %v, want %v", name, f.Weights[name].Data, vals)
		}
	}
	if f.Graph != nil || f.Classmap != nil {
		t.Error("foreign file should have no graph or classmap")
	}
}

// TestRandomHeadersDoNotPanic feeds Decode thousands of damaged headers: random bytes spliced
// into a valid header, random header lengths, and random JSON-ish text.
func TestRandomHeadersDoNotPanic(t *testing.T) {
	valid, err := Encode(sampleFile())
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint64(valid))
	r := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte(`{}[]":,0123456789-eE.FBI "dtypeshapedata_offsets__metadata__`)
	for i := range 3000 {
		data := bytes.Clone(valid)
		switch i % 3 {
		case 0: // flip a few header bytes
			for range 1 + r.IntN(4) {
				data[8+r.IntN(n)] = byte(r.IntN(256))
			}
		case 1: // random header length
			binary.LittleEndian.PutUint64(data, r.Uint64N(uint64(len(data))+16))
		case 2: // random structured text
			h := make([]byte, r.IntN(200))
			for j := range h {
				h[j] = alphabet[r.IntN(len(alphabet))]
			}
			data = append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...)
			data = append(data, make([]byte, r.IntN(64))...)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("Decode panicked on case %d: %v\nheader: %q", i, p, data[8:min(len(data), 8+n)])
				}
			}()
			Decode(data)
		}()
	}
}

// FuzzDecode runs its seeds in every test run; `go test -fuzz FuzzDecode` searches further.
func FuzzDecode(f *testing.F) {
	valid, err := Encode(sampleFile())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(data)
	})
}

// resnet18File builds TAO's ResNet-18 graph with random weights for every parameter.
func resnet18File(t testing.TB) *File {
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 64, 64}, NumClasses: 5,
		UseBatchNorm: true, UsePooling: true, Activation: "relu", BNMomentum: 0.9, BNEpsilon: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	w := model.Weights{}
	for _, k := range keys {
		tensor := model.NewTensor(params[k].Shape...)
		for i := range tensor.Data {
			tensor.Data[i] = float32(r.NormFloat64())
		}
		w[k] = tensor
	}
	return &File{Graph: g, Weights: w, Classmap: map[string]int{"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}, Epoch: 1}
}

func TestResNet18RoundTrip(t *testing.T) {
	want := resnet18File(t)
	path := filepath.Join(t.TempDir(), "resnet_001"+Ext)
	if err := Save(path, want, ""); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	checkSameFile(t, got, want)
	total, _, err := got.Graph.ParamCount()
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, w := range got.Weights {
		stored += w.Size()
	}
	if info, _ := os.Stat(path); stored != total || info.Size() < int64(4*total) {
		t.Errorf("stored %d values in %d bytes; the graph has %d parameters", stored, info.Size(), total)
	}
}

func TestWeightsMustMatchGraph(t *testing.T) {
	dir := t.TempDir()
	missing := sampleFile()
	delete(missing.Weights, "bn_conv1/moving_variance")
	if err := Save(filepath.Join(dir, "a"+Ext), missing, ""); err == nil || !strings.Contains(err.Error(), "bn_conv1/moving_variance") {
		t.Errorf("missing weight: %v", err)
	}
	reshaped := sampleFile()
	reshaped.Weights["predictions/kernel"].Shape = []int{3, 4}
	if err := Save(filepath.Join(dir, "b"+Ext), reshaped, ""); err == nil || !strings.Contains(err.Error(), "predictions/kernel") {
		t.Errorf("wrong shape: %v", err)
	}
	// A file written by hand with a graph that does not hold together fails to load.
	data, err := Encode(sampleFile())
	if err != nil {
		t.Fatal(err)
	}
	bad := withMeta(t, data, "graph", strings.Replace(mustGraphJSON(t), `"avg_pool"]`, `"nowhere"]`, 1))
	p := filepath.Join(dir, "c"+Ext)
	os.WriteFile(p, bad, 0o644)
	if _, err := Load(p, ""); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("invalid graph: %v", err)
	} else {
		t.Log(err)
	}
}

func mustGraphJSON(t *testing.T) string {
	b, err := json.Marshal(sampleFile().Graph)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkSaveLoadResNet18 measures a plain and an encrypted round trip of ResNet-18 weights.
func BenchmarkSaveLoadResNet18(b *testing.B) {
	f := resnet18File(b)
	dir := b.TempDir()
	for _, key := range []string{"", "k"} {
		name := map[string]string{"": "plain", "k": "encrypted"}[key]
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(dir, "m"+FileExt(key))
			for b.Loop() {
				if err := Save(path, f, key); err != nil {
					b.Fatal(err)
				}
				if _, err := Load(path, key); err != nil {
					b.Fatal(err)
				}
			}
			info, _ := os.Stat(path)
			b.SetBytes(info.Size())
		})
	}
}

func TestSaveCreatesParentFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "m.safetensors")
	f := &File{Weights: model.Weights{"x/kernel": &model.Tensor{Shape: []int{2}, Data: []float32{1, 2}}}}
	if err := Save(path, f, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, ""); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefusesDamagedContents: files that decode but would predict garbage are refused:
// non-finite weights, a header length one byte short, overlapping tensors, window attributes
// out of range in the graph; and Save refuses non-finite weights.
func TestLoadRefusesDamagedContents(t *testing.T) {
	f := sampleFile()
	data, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	short := append(binary.LittleEndian.AppendUint64(nil, n-1), data[8:]...)
	nan := bytes.Clone(data)
	binary.LittleEndian.PutUint32(nan[len(nan)-4:], math.Float32bits(float32(math.NaN())))
	graph, _ := json.Marshal(f.Graph)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"NaN weight":          {nan, "NaN"},
		"header one short":    {short, "damaged"},
		"overlapping tensors": {replaceOnce(t, data, `"data_offsets":[16,`, `"data_offsets":[12,`), "overlap"},
		"stride 0":            {withMeta(t, data, MetaGraph, strings.Replace(string(graph), `"strides":[2,2]`, `"strides":[0,0]`, 1)), "strides"},
		"stride -1":           {withMeta(t, data, MetaGraph, strings.Replace(string(graph), `"strides":[2,2]`, `"strides":[-1,-1]`, 1)), "strides"},
		"huge input":          {withMeta(t, data, MetaGraph, strings.Replace(string(graph), `"input":[3,8,8]`, `"input":[3,60000,60000]`, 1)), "input size"},
	}
	for name, c := range cases {
		if _, err := Decode(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
	f.Weights["predictions/bias"].Data[0] = float32(math.Inf(1))
	if err := Save(filepath.Join(t.TempDir(), "m"+Ext), f, ""); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("Save with an infinite weight: %v", err)
	}
}

// TestTAONameNamesTheSafetensorsSibling: a missing .hdf5/.tlt path whose .safetensors exists
// says so.
func TestTAONameNamesTheSafetensorsSibling(t *testing.T) {
	dir := t.TempDir()
	if err := Save(filepath.Join(dir, "resnet_080"+Ext), sampleFile(), ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"resnet_080.hdf5", "resnet_080.tlt"} {
		_, err := Load(filepath.Join(dir, name), "")
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "resnet_080"+Ext)+" exists") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
