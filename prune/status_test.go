package prune

import (
	"reflect"
	"testing"
)

// TestStatusKPIAndRatioLineAsTAO: TAO logs the ratio as Python prints a float and reports the
// file in MB (2^20 bytes) and the parameters in millions. 7,334,274 of 11,543,376 parameters kept
// and a 29,884,416-byte file give 0.6353664647153484 (Python's 7334274/11543376), 28.5 MB and
// 7.334274 million.
func TestStatusKPIAndRatioLineAsTAO(t *testing.T) {
	r := &Result{Before: Size{Params: 11_543_376}, After: Size{Params: 7_334_274}}
	want := map[string]any{"pruning_ratio": 7_334_274.0 / 11_543_376, "size": 28.5, "param_count": 7.334274}
	if got := r.StatusKPI(29_884_416); !reflect.DeepEqual(got, want) {
		t.Errorf("kpi %v, want %v", got, want)
	}
	if got := r.String(); got != "Pruning ratio (pruned model / original model): 0.6353664647153484" {
		t.Errorf("ratio line %q", got)
	}
	same := &Result{Before: Size{Params: 10}, After: Size{Params: 10}}
	if got := same.String(); got != "Pruning ratio (pruned model / original model): 1.0" {
		t.Errorf("unpruned ratio line %q, want TAO's 1.0", got)
	}
}
