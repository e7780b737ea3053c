package purego

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel regions run on helper goroutines that stay awake for a short while
// after each region (as OpenMP's threads do): a training step runs hundreds of
// regions of about a millisecond, and waking a parked thread costs 20-50 µs on
// a virtual machine, during which the region runs on one core. The caller
// runs part of every region itself. A region started while another runs (from
// inside a region, or from a second goroutine) uses plain goroutines.

// helperSpin is how long an idle helper watches for the next region before it
// parks.
const helperSpin = 200 * time.Microsecond

type region struct {
	fn      func(w int)
	workers int32
	next    atomic.Int32 // next worker index to claim
	pending atomic.Int32 // indexes not yet finished
}

// run claims worker indexes of r and runs them until none is left.
func (r *region) run() {
	for {
		w := r.next.Add(1) - 1
		if w >= r.workers {
			return
		}
		r.fn(int(w))
		r.pending.Add(-1)
	}
}

var pool struct {
	busy     atomic.Bool
	task     atomic.Pointer[region]
	mu       sync.Mutex // guards helpers
	helpers  int
	sleeping atomic.Int32
	wake     chan struct{}
}

// parallelFor calls fn(w) for w in [0, workers), in parallel, and returns
// when all calls have returned. fn(0) runs on the calling goroutine.
func parallelFor(workers int, fn func(w int)) {
	if workers <= 1 {
		if workers == 1 {
			fn(0)
		}
		return
	}
	if !pool.busy.CompareAndSwap(false, true) {
		var wg sync.WaitGroup
		for w := 1; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(w)
			}()
		}
		fn(0)
		wg.Wait()
		return
	}
	defer func() { // also when fn panics: later regions must not find the pool busy
		pool.task.Store(nil)
		pool.busy.Store(false)
	}()
	startHelpers(workers - 1)
	r := &region{fn: fn, workers: int32(workers)}
	r.next.Store(1) // index 0 is the caller's
	r.pending.Store(int32(workers))
	pool.task.Store(r)
	for range min(int(pool.sleeping.Load()), workers-1) {
		select {
		case pool.wake <- struct{}{}:
		default:
		}
	}
	fn(0)
	r.pending.Add(-1)
	r.run()
	for i := 0; r.pending.Load() > 0; i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
}

// startHelpers makes sure n helper goroutines run.
func startHelpers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.wake == nil {
		pool.wake = make(chan struct{}, 256)
	}
	for ; pool.helpers < n; pool.helpers++ {
		go helper()
	}
}

// helper runs the regions it sees; idle for helperSpin, it parks until woken.
func helper() {
	var last *region
	for {
		idle := time.Now()
		for i := 0; ; i++ {
			if r := pool.task.Load(); r != nil && r != last {
				last = r
				r.run()
				idle = time.Now()
				continue
			}
			if i%64 != 63 {
				continue
			}
			runtime.Gosched()
			if time.Since(idle) > helperSpin {
				break
			}
		}
		pool.sleeping.Add(1)
		if r := pool.task.Load(); r == nil || r == last {
			<-pool.wake
		}
		pool.sleeping.Add(-1)
	}
}
