package purego

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bonsai-ml/bonsai/internal/cputime"
)

// Per-kernel wall and CPU time, for `bonsai bench --op_times`: while enabled,
// every custom kernel (convolutions, fused element-wise clusters, ...) and
// every SimpleGo segment adds its run time under its name and output shape.
// Kernels run one at a time, so the process's CPU time over a kernel's run is
// the kernel's: CPU/Time is how many cores it kept busy.

var opTimes struct {
	enabled atomic.Bool
	mu      sync.Mutex
	total   map[string]*OpTime
}

// OpTime is one kernel's accumulated wall and CPU time.
type OpTime struct {
	Name string // kernel name and output shape
	Time time.Duration
	CPU  time.Duration // CPU time of the whole process while it ran (zero where not read)
}

// StartOpTimes clears the accumulated times and starts timing kernels.
func StartOpTimes() {
	opTimes.mu.Lock()
	opTimes.total = make(map[string]*OpTime)
	opTimes.mu.Unlock()
	opTimes.enabled.Store(true)
}

// StopOpTimes stops timing and returns the accumulated times, longest first
// (none after the first call).
func StopOpTimes() []OpTime {
	opTimes.enabled.Store(false)
	opTimes.mu.Lock()
	defer opTimes.mu.Unlock()
	out := make([]OpTime, 0, len(opTimes.total))
	for _, t := range opTimes.total {
		out = append(out, *t)
	}
	opTimes.total = nil
	sort.Slice(out, func(i, j int) bool { return out[i].Time > out[j].Time })
	return out
}

// timeStep returns the function that records a step's time (nil when timing is off).
func timeStep(st *step) func() {
	if !opTimes.enabled.Load() {
		return nil
	}
	start, cpu := time.Now(), cputime.Used()
	return func() {
		name := "SimpleGo segment"
		if st.custom != nil {
			name = st.custom.name
		}
		if len(st.outputs) > 0 {
			name += " " + st.outputs[0].shape.String()
		}
		d, c := time.Since(start), cputime.Used()-cpu
		opTimes.mu.Lock()
		if opTimes.total != nil { // nil: stopped meanwhile
			t := opTimes.total[name]
			if t == nil {
				t = &OpTime{Name: name}
				opTimes.total[name] = t
			}
			t.Time += d
			t.CPU += c
		}
		opTimes.mu.Unlock()
	}
}
