package train

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrainingCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "training.csv")
	rows := []EpochLog{
		{Epoch: 1, Acc: 0.5, Loss: 1.25, LR: 0.05, ValAcc: 0.625, ValLoss: 1.0},
		{Epoch: 2, Acc: 0.75, Loss: 0.5, LR: 0.0031622776, ValAcc: 0.7, ValLoss: 0.8125},
	}
	if err := WriteTrainingCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "epoch,acc,loss,lr,val_acc,val_loss\n1,0.5,1.25,0.05,0.625,1\n2,0.75,0.5,0.0031622776,0.7,0.8125\n"
	if string(data) != want {
		t.Errorf("training.csv =\n%s\nwant\n%s", data, want)
	}
	back, err := ReadTrainingCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[1].Epoch != 2 || back[1].ValLoss != 0.8125 {
		t.Errorf("read back %+v", back)
	}
	os.WriteFile(path, []byte("epoch,loss\n1,2\n"), 0o644)
	if _, err := ReadTrainingCSV(path); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("bad header: err = %v", err)
	}
}

func TestStatusJSONLines(t *testing.T) {
	dir := t.TempDir()
	l := NewStatusLog(dir)
	l.now = func() time.Time { return time.Date(2026, 3, 7, 9, 5, 4, 0, time.UTC) }
	if err := l.Write(StatusStarted, "Starting Training Loop."); err != nil {
		t.Fatal(err)
	}
	r := EpochLog{Epoch: 2, Acc: 0.5, Loss: 1.5, LR: 0.01, ValAcc: 0.25, ValLoss: 2, Seconds: 12.5}
	if err := l.WriteEpoch(r, 10); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "status.json"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", data)
	}
	wantFirst := `{"date":"3/7/2026","time":"9:5:4","status":"STARTED","verbosity":"INFO","message":"Starting Training Loop."}`
	if lines[0] != wantFirst {
		t.Errorf("line 1 = %s\nwant     %s", lines[0], wantFirst)
	}
	if !strings.HasPrefix(lines[1], `{"epoch":2,"max_epoch":10,"time_per_epoch":"0:00:12.500000","eta":"0:01:40","date"`) {
		t.Errorf("line 2 = %s", lines[1])
	}
	var ev StatusEvent
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Status != StatusRunning || ev.Graphical["validation_accuracy"] != "0.25" || ev.Graphical["learning_rate"] != "0.01" || ev.KPI["training_accuracy"] != "0.5" {
		t.Errorf("epoch event %+v", ev)
	}
}

func TestPyTimedelta(t *testing.T) {
	cases := map[time.Duration]string{
		0:                                 "0:00:00",
		1500 * time.Millisecond:           "0:00:01.500000",
		3*time.Hour + 4*time.Minute:       "3:04:00",
		26 * time.Hour:                    "1 day, 2:00:00",
		50*time.Hour + 7*time.Microsecond: "2 days, 2:00:00.000007",
	}
	for d, want := range cases {
		if got := PyTimedelta(d); got != want {
			t.Errorf("PyTimedelta(%v) = %q, want %q", d, got, want)
		}
	}
}

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
	p.EndEpoch(EpochLog{Epoch: 1, Loss: 1, Acc: 0.5, ValLoss: 0.9, ValAcc: 0.6, LR: 0.01}, true)
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
	if !strings.Contains(lines[4], "val_acc: 0.6000") || !strings.Contains(lines[4], "(best)") {
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
	p.EndEpoch(EpochLog{Epoch: 2, Loss: 0.5, Acc: 0.75, ValLoss: 0.4, ValAcc: 0.8, LR: 0.1}, false)
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output should end the bar with one newline: %q", out)
	}
	if strings.Count(out, "\r") != 5 || !strings.Contains(out, "4/4 loss 0.5000 acc 0.7500") || !strings.Contains(out, "40.0 img/s") {
		t.Errorf("terminal output %q", out)
	}
}
