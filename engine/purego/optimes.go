package purego

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Per-kernel wall time, for `bonsai bench --op_times`: while enabled, every
// custom kernel (convolutions, fused element-wise clusters, ...) and every
// SimpleGo segment adds its run time under its name and output shape.

var opTimes struct {
	enabled atomic.Bool
	mu      sync.Mutex
	total   map[string]time.Duration
}

// OpTime is one kernel's accumulated wall time.
type OpTime struct {
	Name string // kernel name and output shape
	Time time.Duration
}

// StartOpTimes clears the accumulated times and starts timing kernels.
func StartOpTimes() {
	opTimes.mu.Lock()
	opTimes.total = make(map[string]time.Duration)
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
	for name, d := range opTimes.total {
		out = append(out, OpTime{name, d})
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
	start := time.Now()
	return func() {
		name := "SimpleGo segment"
		if st.custom != nil {
			name = st.custom.name
		}
		if len(st.outputs) > 0 {
			name += " " + st.outputs[0].shape.String()
		}
		d := time.Since(start)
		opTimes.mu.Lock()
		if opTimes.total != nil { // nil: stopped meanwhile
			opTimes.total[name] += d
		}
		opTimes.mu.Unlock()
	}
}
