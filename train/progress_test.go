package train

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/results"
)

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	p.StartEpoch(1, 3, 8)
	for i := 0; i < 8; i++ {
		clock = clock.Add(time.Second)
		p.Step(16, 1.0, 0.5, 0.01)
	}
	p.Validating()
	clock = clock.Add(8 * time.Second) // validation: not in the epoch's training rate
	p.EndEpoch(results.Epoch{Epoch: 1, Loss: 1, Acc: 0.5, ValLoss: 0.9, ValAcc: 0.6, LR: 0.01}, true)
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 { // quarters at 2, 4, 6, 8 and the summary
		t.Fatalf("want 5 lines, got %d:\n%s", len(lines), out)
	}
	if strings.Contains(out, "\r") {
		t.Error("non-terminal output contains \\r")
	}
	if !strings.Contains(lines[0], "2/8") || !strings.Contains(lines[0], "16.0 img/s") || !strings.Contains(lines[0], "ETA 6s") {
		t.Errorf("first line %q lacks step count, img/s or ETA", lines[0])
	}
	if !strings.Contains(lines[4], "val_acc: 0.6000") || !strings.Contains(lines[4], "(best)") || !strings.Contains(lines[4], " 16.0 img/s") {
		t.Errorf("summary line %q", lines[4])
	}
}

func TestProgressTerminalRedrawsOneLine(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	p.tty = true
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	p.StartEpoch(2, 5, 4)
	for i := 0; i < 4; i++ {
		clock = clock.Add(200 * time.Millisecond)
		p.Step(8, 0.5, 0.75, 0.1)
	}
	p.EndEpoch(results.Epoch{Epoch: 2, Loss: 0.5, Acc: 0.75, ValLoss: 0.4, ValAcc: 0.8, LR: 0.1}, false)
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output should end the bar with one newline: %q", out)
	}
	if strings.Count(out, "\r") != 5 || !strings.Contains(out, "4/4 loss 0.5000 acc 0.7500") || !strings.Contains(out, "40.0 img/s") {
		t.Errorf("terminal output %q", out)
	}
}
