package purego

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// TestOpTimes checks that timing lists the kernels of a run, with positive times, and that
// nothing is recorded once stopped.
func TestOpTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	x, k := randomTensor(rng, 2, 8, 8, 16), randomTensor(rng, 3, 3, 16, 16)
	fn := func(in []*Node) []*Node {
		y := Convolve(ConvertDType(in[0], dtypes.Float32), ConvertDType(in[1], dtypes.Float32)).StridePerAxis(1, 1).PadSame().Done()
		return []*Node{ConvertDType(y, dtypes.Float64)}
	}
	backend := newBackend(t, "")
	StartOpTimes()
	run(t, backend, fn, x, k)
	times := StopOpTimes()
	found := false
	for _, op := range times {
		found = found || strings.HasPrefix(op.Name, "Conv (Float32)[128 16]")
		if op.Time <= 0 {
			t.Errorf("%s: time %v", op.Name, op.Time)
		}
	}
	if !found {
		t.Errorf("no convolution among the timed kernels %v", times)
	}
	run(t, backend, fn, x, k)
	if again := StopOpTimes(); len(again) != 0 {
		t.Errorf("kernels timed after StopOpTimes: %v", again)
	}
}
