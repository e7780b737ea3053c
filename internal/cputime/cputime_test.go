package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestUsedGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("process CPU time is not read on " + runtime.GOOS)
	}
	before := Used()
	x := 0.0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		for i := range 1000 {
			x += float64(i)
		}
	}
	if after := Used(); after <= before || x == 0 {
		t.Fatalf("CPU time did not grow over 50 ms of work: %v -> %v", before, after)
	}
}
