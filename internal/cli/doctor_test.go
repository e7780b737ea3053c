package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
)

func TestDoctorReportsBackendAndCPU(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	var out, errb bytes.Buffer
	if code := Main([]string{"doctor", "--backend", "go"}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	xla := "  xla      no: built without cgo"
	if ok, _ := engine.XLALinked(); ok {
		xla = "  xla      yes: built with cgo"
	}
	for _, want := range []string{"CPU:", "SIMD:", "GPU:", "Backends in this binary:", "  go       yes: pure Go", xla,
		"no PJRT plugin found", "Backend:  purego", "device 0", "Faster backends:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"bench", "--batch", "0"}, &out, &errb); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if code := Main([]string{"bench", "--backend", "nope", "--arch", "resnet", "--n_layers", "10", "--size", "16", "--steps", "1"}, &out, &errb); code != ExitFailure || !strings.Contains(errb.String(), "unknown backend") {
		t.Fatalf("exit %d (%s), want a failure naming the unknown backend", code, errb.String())
	}
}

func TestBenchRunsOnPureGo(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"bench", "--backend", "go", "--n_layers", "10", "--size", "16", "--batch", "2", "--steps", "1", "--warmup", "0", "--classes", "3"}
	if code := Main(args, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"resnet10", "train: fp32, 1 device(s), plain program, 2 images per step", "train: first step", "infer: first step", "img/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench output lacks %q:\n%s", want, out.String())
		}
	}
	// The data-parallel program with one replica, in bf16.
	out.Reset()
	if code := Main(append(args, "--spmd", "--precision", "bf16", "--no_infer"), &out, &errb); code != ExitOK {
		t.Fatalf("--spmd --precision bf16: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "train: bf16, 1 device(s), SPMD program") {
		t.Errorf("bench --spmd --precision bf16 output:\n%s", out.String())
	}
}
