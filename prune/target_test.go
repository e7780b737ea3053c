package prune

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model/arch"
)

func TestPruneToTargetIsTheLeastPruningThatMeetsIt(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 10})
	w := randomWeights(t, g, 21)
	for _, metric := range []string{TargetParams, TargetFLOPs} {
		res, s, err := PruneToTarget(g, w, DefaultOptions(), 0.5, metric)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Ratio()
		if metric == TargetFLOPs {
			got = res.FLOPsRatio()
		}
		if !s.Reached || got > 0.5 || got != s.Achieved || s.Next <= 0.5 {
			t.Errorf("%s: %v (result ratio %v)", metric, s, got)
		}
		// A slightly lower threshold must leave more than the target.
		o := DefaultOptions()
		o.Threshold = s.Threshold * 0.999
		lower, err := Prune(g, w, o)
		if err != nil {
			t.Fatal(err)
		}
		lr := lower.Ratio()
		if metric == TargetFLOPs {
			lr = lower.FLOPsRatio()
		}
		if lr <= 0.5 {
			t.Errorf("%s: threshold %v*0.999 also meets the target (%v): the search did not find the least pruning", metric, s.Threshold, lr)
		}
		t.Log(s)
	}
	_, s, err := PruneToTarget(g, w, DefaultOptions(), 0.001, TargetParams)
	if err != nil || s.Reached || !strings.Contains(s.String(), "cannot be reached") {
		t.Errorf("unreachable target: %v %v", s, err)
	}
	if _, _, err := PruneToTarget(g, w, DefaultOptions(), 1.5, TargetParams); err == nil {
		t.Error("target 1.5: no error")
	}
}

func TestReportExplainsKeptFilters(t *testing.T) {
	g := build(t, arch.Config{Arch: "resnet", NLayers: 18})
	o := DefaultOptions()
	o.Threshold = 0.6
	res, err := Prune(g, randomWeights(t, g, 22), o)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ below, group, min, gran int }
	for _, l := range res.Layers {
		if l.KeptBelow != l.ForGroup+l.ForMin+l.ForGranularity {
			t.Errorf("%s: kept below %d != %d+%d+%d", l.Name, l.KeptBelow, l.ForGroup, l.ForMin, l.ForGranularity)
		}
		if l.Pinned == "" && l.After != l.Above+l.KeptBelow-l.DroppedAbove && l.Group == 0 {
			t.Errorf("%s: after %d != above %d + kept below %d", l.Name, l.After, l.Above, l.KeptBelow)
		}
		sum.below += l.KeptBelow
		sum.group += l.ForGroup
		sum.gran += l.ForGranularity
	}
	// Union groups keep a member's weak channel when a partner's is strong.
	if sum.group == 0 || sum.gran == 0 {
		t.Errorf("expected group and granularity reasons at pth 0.6: %+v", sum)
	}
	var buf bytes.Buffer
	if err := res.WriteReport(&buf, true); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"block_1a_conv_shortcut", "keeps all: output layer", "equalization groups", "64 -> "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
