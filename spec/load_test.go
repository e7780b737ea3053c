package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

func mustLoad(t *testing.T, path string) *Experiment {
	t.Helper()
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTAOSampleSpecsLoadAndValidate(t *testing.T) {
	for _, name := range []string{"classification_spec.cfg", "classification_retrain_spec.cfg", "docs_example_spec.cfg", "classification_spec.yaml"} {
		t.Run(name, func(t *testing.T) {
			e := mustLoad(t, filepath.Join("testdata", name))
			for _, task := range []Task{Train, Evaluate, Inference, Prune, Export} {
				if err := e.Validate(task); err != nil {
					t.Errorf("Validate(%s): %v", task, err)
				}
			}
		})
	}
}

func TestTAOSampleSpecValues(t *testing.T) {
	e := mustLoad(t, "testdata/classification_spec.cfg")
	if e.Format != TextFormat {
		t.Errorf("format %v", e.Format)
	}
	c, h, w := e.InputSize()
	got := []any{e.Arch(), e.NLayers(), [3]int{c, h, w}, e.FreezeBlocks(), e.Proto.GetModelConfig().GetUseBatchNorm(),
		e.Proto.GetModelConfig().GetAllProjections(), e.Optimizer(), e.Regularizer(), e.LRSchedule(),
		e.PreprocessMode(), e.ImageMean(), e.BNMomentum(), e.BNEpsilon(), e.HorizontalFlip(),
		e.Proto.GetTrainConfig().GetMixupAlpha(), e.Proto.GetEvalConfig().GetTopK(), e.Proto.GetEvalConfig().GetBatchSize()}
	want := []any{"resnet", 18, [3]int{3, 224, 224}, []int{0, 1}, true,
		true, Optimizer{Kind: "sgd", LR: 0.01, Momentum: 0.9}, Regularizer{Type: "l2", Conv2D: true, Dense: true, WeightDecay: 5e-5},
		LRSchedule{Kind: "step", BaseLR: 0.006, StepSize: 10, Gamma: 0.1},
		"caffe", []float64{103.939, 116.779, 123.68}, 0.9, 1e-5, true,
		float32(0.1), uint32(3), uint32(256)}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("value %d: got %#v, want %#v", i, got[i], want[i])
		}
	}
	if ws := e.Warnings(); len(ws) != 0 {
		t.Errorf("sample spec gave warnings: %q", ws)
	}
	if p := e.PretrainedModelPath(); !strings.HasSuffix(p, "pretrained_classification_vresnet18/resnet_18.hdf5") || !filepath.IsAbs(p) {
		t.Errorf("pretrained path %q", p)
	}
}

func TestRetrainSpecDiffersOnlyWhereTAOSays(t *testing.T) {
	a := mustLoad(t, "testdata/classification_spec.cfg").Proto
	b := mustLoad(t, "testdata/classification_retrain_spec.cfg").Proto
	b = proto.Clone(b).(*specpb.Experiment)
	if len(b.ModelConfig.FreezeBlocks) != 0 {
		t.Fatal("retrain spec has freeze_blocks")
	}
	if !strings.HasSuffix(b.TrainConfig.PretrainedModelPath, "resnet18_nopool_bn_pruned.hdf5") {
		t.Errorf("retrain pretrained_model_path %q", b.TrainConfig.PretrainedModelPath)
	}
	b.ModelConfig.FreezeBlocks = a.ModelConfig.FreezeBlocks
	b.TrainConfig.PretrainedModelPath = a.TrainConfig.PretrainedModelPath
	b.EvalConfig.ModelPath = a.EvalConfig.ModelPath
	if !proto.Equal(a, b) {
		t.Errorf("retrain spec differs beyond freeze_blocks and the two paths:\n%v\n%v", a, b)
	}
}

func TestDocsExampleSpec(t *testing.T) {
	e := mustLoad(t, "testdata/docs_example_spec.cfg")
	mc := e.Proto.GetModelConfig()
	if e.NLayers() != 101 || !mc.GetUsePooling() || !mc.GetRetainHead() || mc.GetUseBias() || mc.GetAllProjections() {
		t.Errorf("model_config %v", mc)
	}
	if e.Interpolation() != specpb.InterpolationMethod_BICUBIC {
		t.Errorf("interpolation %v", e.Interpolation())
	}
	if s := e.LRSchedule(); s.Kind != "cosine" || s.BaseLR != 0.04 || s.SoftStart != 0 {
		t.Errorf("schedule %+v", s)
	}
	if m := e.ImageMean(); !reflect.DeepEqual(m, []float64{103.9, 116.8, 123.7}) {
		t.Errorf("image mean (B,G,R) %v", m)
	}
	if r := e.Regularizer(); r.WeightDecay != 1.5e-5 {
		t.Errorf("weight decay %v", r.WeightDecay)
	}
	ws := strings.Join(e.Warnings(), "\n")
	if !strings.Contains(ws, "docs_example_spec.cfg:57:3: train_config.label_smoothing: TAO 5 ignores") {
		t.Errorf("want a located label_smoothing warning, got %q", ws)
	}
}

func TestOneLineCommaForm(t *testing.T) {
	e, err := Parse("r.cfg", []byte(`model_config { arch: "resnet", n_layers: 10; use_pooling: true, }`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Arch() != "resnet" || e.NLayers() != 10 || !e.Proto.GetModelConfig().GetUsePooling() {
		t.Errorf("got %v", e.Proto)
	}
}

func TestYAMLEqualsTextSpec(t *testing.T) {
	text := mustLoad(t, "testdata/classification_spec.cfg")
	y := mustLoad(t, "testdata/classification_spec.yaml")
	if y.Format != YAML {
		t.Errorf("format %v", y.Format)
	}
	if !proto.Equal(text.Proto, y.Proto) {
		t.Errorf("YAML spec differs:\ntext: %v\nyaml: %v", text.Proto, y.Proto)
	}
}

func TestRelativePathsResolveAgainstSpecFolder(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "specs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "exp.cfg")
	text := `train_config { train_dataset_path: "../data/train" val_dataset_path: "/abs/val" }
eval_config { model_path: "w.hdf5" }`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	e := mustLoad(t, path)
	if got, want := e.TrainDatasetPath(), filepath.Join(dir, "data", "train"); got != want {
		t.Errorf("train path %q, want %q", got, want)
	}
	if got := e.ValDatasetPath(); got != "/abs/val" {
		t.Errorf("absolute path changed to %q", got)
	}
	if got, want := e.ModelPath(), filepath.Join(sub, "w.hdf5"); got != want {
		t.Errorf("model path %q, want %q", got, want)
	}
	if e.PretrainedModelPath() != "" {
		t.Errorf("unset path resolved to %q", e.PretrainedModelPath())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no_such_spec.cfg")
	if err == nil || !strings.Contains(err.Error(), "testdata/no_such_spec.cfg") {
		t.Errorf("got %v", err)
	}
}

func TestLoadForChecksTask(t *testing.T) {
	if _, err := LoadFor("testdata/classification_spec.cfg", Train); err != nil {
		t.Error(err)
	}
	e := mustLoad(t, "testdata/classification_spec.cfg")
	if err := e.Validate(Task("tune")); err == nil || !strings.Contains(err.Error(), `unknown task "tune"`) {
		t.Errorf("got %v", err)
	}
}

// TestSyntaxErrors checks that each malformed spec gives one error naming
// file:line:col and saying what is wrong.
func TestSyntaxErrors(t *testing.T) {
	cases := []struct{ file, text, want string }{
		{"s.cfg", "model_config {\n  arch: \"resnet\"\n  n_layer: 18\n}", `s.cfg:3:3: unknown field "n_layer" in model_config; did you mean "n_layers"?`},
		{"s.cfg", "train_config {\n  optimizer { sgd { lr: 0.1 momentun: 0.9 } }\n}", `s.cfg:2:29: unknown field "momentun" in train_config.optimizer.sgd; did you mean "momentum"?`},
		{"s.cfg", "model_config { input_image_sise: \"3,224,224\" }", `did you mean "input_image_size"?`},
		{"s.cfg", "model_config { arch: \"ré\" n_layer: 1 }", `s.cfg:1:27: unknown field "n_layer" in model_config`},
		{"s.cfg", "model_confg { arch: \"resnet\" }", `s.cfg:1:1: unknown field "model_confg" at top level; did you mean "model_config"?`},
		{"s.cfg", "train_config { top_k: 3 }", `s.cfg:1:16: unknown field "top_k" in train_config; "top_k" belongs in eval_config`},
		{"s.cfg", "model_config {\n arch: \"x\"\ntrain_config { }", `s.cfg:3:1: unknown field "train_config" in model_config; "train_config" is a top-level block: is a '}' missing before it?`},
		{"s.cfg", "model_config {\n  resize_interpolation_method: BICUBIK\n}", `s.cfg:2:32: model_config.resize_interpolation_method: invalid value BICUBIK; allowed: BILINEAR, BICUBIC; did you mean "BICUBIC"?`},
		{"s.cfg", "model_config { input_image_size: 3 }", `s.cfg:1:34: model_config.input_image_size: invalid string value 3; text must be quoted: "3"`},
		{"s.cfg", "model_config { n_layers: -1 }", `s.cfg:1:26: model_config.n_layers: invalid uint32 value -1; expected a whole number >= 0`},
		{"s.cfg", "model_config { dropout: high }", `s.cfg:1:25: model_config.dropout: invalid float value high; expected a number`},
		{"s.cfg", "model_config { use_bias: yes }", `s.cfg:1:26: model_config.use_bias: invalid bool value yes; expected true or false`},
		{"s.cfg", "model_config { arch: \"a\" arch: \"b\" }", `s.cfg:1:26: field "arch" is set twice`},
		{"s.cfg", "train_config { optimizer { sgd {} adam {} } }", `s.cfg:1:35: "adam" conflicts with another choice already set; set only one of sgd, adam, rmsprop`},
		{"s.cfg", "train_config { image_mean { kye: \"r\" value: 1 } }", `s.cfg:1:29: unknown map entry field "kye"`},
		{"s.cfg", "model_config {\n  arch: \"resnet\"\n", `s.cfg:1:1: model_config: block is not closed before the end of the file; add a '}'`},
		{"s.cfg", "model_config { arch: \"resnet\" } }", `s.cfg:1:33: syntax error: unexpected '}': no block is open here`},
		{"s.cfg", "model_config { arch \"resnet\" }", `s.cfg:1:16: syntax error: missing field separator`},
		{"s.yaml", "model_config:\n  arch: resnet\n  n_layer: 18\n", `s.yaml:3:3: unknown field "n_layer" in model_config; did you mean "n_layers"?`},
		{"s.yaml", "model_config:\n  resize_interpolation_method: bicubik\n", `s.yaml:2:32: model_config.resize_interpolation_method: invalid value "bicubik"; allowed: BILINEAR, BICUBIC; did you mean "BICUBIC"?`},
		{"s.yaml", "train_config:\n  optimizer:\n    sgd: {}\n    adam: {}\n", `s.yaml:4:5: train_config.optimizer.adam: conflicts with "sgd"`},
		{"s.yaml", "model_config:\n  arch: a\n  arch: b\n", `s.yaml:3:3: field "arch" is set twice`},
		{"s.yaml", "model_config: 3\n", `s.yaml:1:15: model_config: expected a mapping of fields`},
		{"s.yaml", "model_config:\n  n_layers: -3\n", `s.yaml:2:13: model_config.n_layers: invalid value "-3"; expected a whole number`},
		{"s.yaml", "model_config:\n  use_bias: maybe\n", `s.yaml:2:13: model_config.use_bias: invalid value "maybe"; expected true or false`},
		{"s.yaml", "model_config:\n  dropout: [1]\n", `s.yaml:2:12: model_config.dropout: expected a single value, found a list`},
		{"s.yaml", "train_config:\n  image_mean: [1, 2]\n", `s.yaml:2:15: train_config.image_mean: expected a mapping of keys to values`},
		{"s.yaml", "model_config:\n  arch: [\n", `s.yaml:2: yaml:`},
	}
	for _, c := range cases {
		_, err := Parse(c.file, []byte(c.text))
		if err == nil {
			t.Errorf("%q: no error, want %q", c.text, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got  %v\n want %s", c.text, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error spans several lines: %v", c.text, err)
		}
	}
}

func TestPositionsOfNestedFields(t *testing.T) {
	data, err := os.ReadFile("testdata/classification_spec.cfg")
	if err != nil {
		t.Fatal(err)
	}
	p := scanTextPositions(data)
	for path, want := range map[string]pos{
		"model_config.n_layers":                              {3, 3},
		"model_config.freeze_blocks":                         {7, 3},
		"train_config.optimizer.sgd.nesterov":                {20, 5},
		"train_config.reg_config.weight_decay":               {35, 5},
		"train_config.lr_config.step.gamma":                  {43, 7},
		"eval_config.enable_center_crop":                     {53, 3},
		"train_config.lr_config.step.nonexistent_falls_back": {40, 5},
	} {
		if got, ok := p.find(path); !ok || got != want {
			t.Errorf("%s at %v, want %v", path, got, want)
		}
	}
	if got := p.byPath["model_config.freeze_blocks"]; len(got) != 2 {
		t.Errorf("freeze_blocks occurrences %v, want 2", got)
	}
}

func TestTextScannerTolerance(t *testing.T) {
	src := "a: [1, -2, - inf] # c { \nb < c: 'x\\'}' \"y\" > d [ { e: 1 }, { e: 2 } ] f: { g: -1e-5 }"
	p := scanTextPositions([]byte(src))
	var got []string
	for _, f := range p.fields {
		got = append(got, f.Path)
	}
	want := []string{"a", "b", "b.c", "d", "d.e", "d.e", "f", "f.g"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.yaml": YAML, "a.YML": YAML, "a.cfg": TextFormat, "a.txt": TextFormat, "spec": TextFormat} {
		if got := FormatOf(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	e, err := Parse("a.yml", []byte("model_config: {arch: resnet}\n"))
	if err != nil || e.Arch() != "resnet" {
		t.Errorf(".yml not read as YAML: %v", err)
	}
}

func TestByteOrderMarkAndCRLF(t *testing.T) {
	e, err := Parse("w.cfg", []byte("\xef\xbb\xbfmodel_config {\r\n  arch: \"resnet\"\r\n  n_layers: 34\r\n}\r\n"))
	if err != nil || e.NLayers() != 34 {
		t.Fatalf("got %v", err)
	}
	_, err = Parse("w.cfg", []byte("model_config {\r\n  arch: \"resnet\"\r\n  n_layer: 34\r\n}\r\n"))
	if err == nil || !strings.Contains(err.Error(), "w.cfg:3:3:") {
		t.Errorf("CRLF position: %v", err)
	}
}

func TestEmptySpecLoads(t *testing.T) {
	for _, name := range []string{"e.cfg", "e.yaml"} {
		e, err := Parse(name, []byte("# nothing\n"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := e.Validate(Train); err == nil || !strings.Contains(err.Error(), "model_config: missing") {
			t.Errorf("%s: Validate(train) = %v", name, err)
		}
	}
}

// TestLimits: a spec over 1 MiB, nested too deep (text or YAML), or not a regular file is
// refused with a message, quickly.
func TestLimits(t *testing.T) {
	deepText := strings.Repeat("train_config { ", 40) + strings.Repeat("}", 40)
	var deepYAML strings.Builder
	for i := 0; i < 40; i++ {
		deepYAML.WriteString(strings.Repeat("  ", i) + "model_config:\n")
	}
	for name, c := range map[string]struct{ file, text, want string }{
		"size":       {"big.cfg", "# " + strings.Repeat("x", MaxSpecBytes), "byte limit"},
		"text depth": {"deep.cfg", deepText, "nested more than 32"},
		"yaml depth": {"deep.yaml", deepYAML.String(), "nested more than 32"},
		"yaml flow":  {"flow.yaml", "model_config: " + strings.Repeat("{a: ", 40) + "1" + strings.Repeat("}", 40), "nested more than 32"},
		"quoted ok":  {"q.cfg", `model_config { arch: "` + strings.Repeat("{", 40) + `" }`, "unknown arch"},
	} {
		_, err := Parse(c.file, []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("a folder as spec: %v", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "character device") {
			t.Errorf("/dev/zero as spec: %v", err)
		}
	}
}

// TestYAMLSecondDocumentRefused: a "---" and more after the spec would be ignored; refuse it.
func TestYAMLSecondDocumentRefused(t *testing.T) {
	_, err := Parse("s.yaml", []byte("model_config:\n  arch: resnet\n---\nmodel_config:\n  arch: vgg\n"))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:3") || !strings.Contains(err.Error(), "second YAML document") {
		t.Errorf("two documents: %v", err)
	}
	if _, err := Parse("s.yaml", []byte("---\nmodel_config:\n  arch: resnet\n")); err != nil {
		t.Errorf("one document with a leading ---: %v", err)
	}
}
