package purego

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkEachOnce runs parallelFor(workers) and fails unless every index ran
// exactly once.
func checkEachOnce(t *testing.T, workers int, inner func()) {
	t.Helper()
	counts := make([]atomic.Int32, workers)
	parallelFor(workers, func(w int) {
		counts[w].Add(1)
		if inner != nil {
			inner()
		}
	})
	for w := range counts {
		if n := counts[w].Load(); n != 1 {
			t.Fatalf("parallelFor(%d): index %d ran %d times", workers, w, n)
		}
	}
}

// TestParallelFor checks that every index runs once: many regions in a row
// (helpers awake), after the helpers have parked, with more workers than
// helpers or cores, nested (the inner region uses plain goroutines) and from
// several goroutines at once.
func TestParallelFor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for range 2000 {
		checkEachOnce(t, 4, nil)
	}
	time.Sleep(3 * helperSpin) // the helpers park
	checkEachOnce(t, 4, nil)
	checkEachOnce(t, 9, nil)
	checkEachOnce(t, 1, nil)
	checkEachOnce(t, 0, nil)
	checkEachOnce(t, 3, func() { checkEachOnce(t, 3, nil) })
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				checkEachOnce(t, 3, nil)
			}
		}()
	}
	wg.Wait()
}

// TestParallelForRunsInParallel checks that the indexes of a region run at the
// same time: each waits until all have started.
func TestParallelForRunsInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	var started atomic.Int32
	deadline := time.Now().Add(10 * time.Second)
	parallelFor(3, func(int) {
		started.Add(1)
		for started.Load() < 3 {
			if time.Now().After(deadline) {
				return
			}
			runtime.Gosched()
		}
	})
	if n := started.Load(); n != 3 {
		t.Fatalf("%d of 3 indexes started", n)
	}
	if time.Now().After(deadline) {
		t.Fatal("the indexes of one region did not run at the same time")
	}
}

// TestParallelForAfterPanic checks that a panic in the caller's index leaves
// the pool usable.
func TestParallelForAfterPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic of fn(0) did not reach the caller")
			}
		}()
		parallelFor(2, func(w int) {
			if w == 0 {
				panic("fn(0)")
			}
		})
	}()
	if pool.busy.Load() {
		t.Fatal("the pool is still busy after a panic")
	}
	checkEachOnce(t, 2, nil)
}
