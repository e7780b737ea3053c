//go:build cgo

package engine

import (
	"bytes"
	"flag"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
	"k8s.io/klog/v2"
)

// offlineXLA is GoMLX's XLA backend without a PJRT plugin: it builds StableHLO programs but
// cannot compile them (no plugin on this machine). Its unexported fields are set by reflection;
// the test skips if GoMLX renamed them.
func offlineXLA(t *testing.T) backends.Backend {
	t.Helper()
	be := &xla.Backend{}
	for name, v := range map[string]any{"plugin": &pjrt.Plugin{}, "capabilities": xla.Capabilities, "numDevices": 1} {
		f := reflect.ValueOf(be).Elem().FieldByName(name)
		if !f.IsValid() || f.Type() != reflect.TypeOf(v) {
			t.Skipf("GoMLX's xla.Backend has no field %q of type %T any more; update offlineXLA", name, v)
		}
		reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(v))
	}
	return be
}

// stepStableHLO returns the StableHLO program GoMLX's XLA builder writes for a training step of
// g (batch 2) on be, which GoMLX logs at klog verbosity 2 before handing it to the plugin. The
// compilation itself fails (no plugin); the build error, if any, is returned as well.
func stepStableHLO(t *testing.T, be backends.Backend, g *model.Graph, cfg TrainConfig) (string, any) {
	t.Helper()
	var buf bytes.Buffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"v": "2", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := fs.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(&buf)
	defer func() {
		klog.Flush()
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
	}()
	m, err := (&Engine{Backend: be, Name: "xla:offline"}).NewModel(g, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var failure any
	func() {
		defer func() { failure = recover() }()
		graph, outs := stepGraphNodes(t, be, tr, 2)
		graph.Compile(outs...)
	}()
	klog.Flush()
	return buf.String(), failure
}

var constantRe = regexp.MustCompile(`"stablehlo.constant"\(\) \{ value = dense<([^>]*)> : tensor<([^>]*)>`)

// TestBF16StepHasNoBF16Literals checks the bfloat16 work-around where the GPU's parser cannot
// be run: GoMLX v0.26.0's XLA builder, unwrapped, writes a uint16 constant that is no number
// for the max-pool gradient of a bfloat16 graph (the literal the CUDA plugin rejected,
// reference/gpu.md); wrapped by bf16Safe, every constant of a bfloat16 training step of the test
// CNN and of a ResNet-18 is a float32 or integer literal.
func TestBF16StepHasNoBF16Literals(t *testing.T) {
	plain := offlineXLA(t)
	resnet, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 32, 32}, NumClasses: 5,
		UseBatchNorm: true, UsePooling: true})
	if err != nil {
		t.Fatal(err)
	}
	text, failure := stepStableHLO(t, plain, smallCNN(), TrainConfig{Precision: PrecisionBF16})
	if !strings.Contains(text, "tensor<ui16>") && failure == nil {
		t.Logf("unwrapped, GoMLX's XLA builder no longer writes the bad bfloat16 literal: the bf16Safe wrapper may not be needed any more")
	}
	for name, g := range map[string]*model.Graph{"small CNN": smallCNN(), "resnet18": resnet} {
		for _, cfg := range []TrainConfig{{Precision: PrecisionFP32}, {Precision: PrecisionBF16},
			{Precision: PrecisionBF16, Devices: []int{0}, SyncBN: true}} {
			what := fmt.Sprintf("%s %s devices %v", name, cfg.Precision, cfg.Devices)
			text, failure := stepStableHLO(t, wrapBF16Safe(plain), g, cfg)
			if !strings.Contains(text, "stablehlo.convolution") {
				t.Fatalf("%s: no StableHLO program was logged (build error: %v)", what, failure)
			}
			found := constantRe.FindAllStringSubmatch(text, -1)
			for _, c := range found {
				switch c[2][strings.LastIndex(c[2], "x")+1:] {
				case "f32", "i32", "i64", "ui64", "i1":
				default:
					t.Errorf("%s: constant dense<%s> : tensor<%s>; only float32 and integer literals are known to parse", what, c[1], c[2])
				}
			}
			if len(found) == 0 {
				t.Errorf("%s: no constants found; the pattern no longer matches GoMLX's output", what)
			}
			if cfg.Precision == PrecisionBF16 && !strings.Contains(text, "bf16") {
				t.Errorf("%s: the bf16 program has no bfloat16 values", what)
			}
			if hasAllReduce := strings.Contains(text, "stablehlo.all_reduce"); hasAllReduce != (cfg.Devices != nil) {
				t.Errorf("%s: all_reduce in the program: %v", what, hasAllReduce)
			}
		}
	}
}
