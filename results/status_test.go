package results

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrainingCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "training.csv")
	rows := []Epoch{
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
	os.WriteFile(path, []byte("step,loss\n1,2\n"), 0o644)
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
	r := Epoch{Epoch: 2, Acc: 0.5, Loss: 1.5, LR: 0.01, ValAcc: 0.25, ValLoss: 2, Seconds: 12.5}
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

func TestReadTrainingCSVColumns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "training.csv")
	data := "epoch,acc,loss,lr,val_acc,val_loss\n" +
		"1,0.5,1.25,0.1,0.4,1.5\n" +
		"2,0.625,nan,0.05,,1.0\n"
	os.WriteFile(path, []byte(data), 0o644)
	got, err := ReadTrainingCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Epoch{Epoch: 1, Acc: 0.5, Loss: 1.25, LR: 0.1, ValAcc: 0.4, ValLoss: 1.5}) {
		t.Fatalf("read %+v", got)
	}
	if got[1].Epoch != 2 || !math.IsNaN(got[1].Loss) || !math.IsNaN(got[1].ValAcc) || got[1].ValLoss != 1 {
		t.Errorf("row 2 = %+v, want NaN loss and val_acc", got[1])
	}
	// TF2 names and another column order.
	tf2 := filepath.Join(dir, "tf2.csv")
	os.WriteFile(tf2, []byte("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.7,0.9,0.6,1.1\n"), 0o644)
	if got, err := ReadTrainingCSV(tf2); err != nil || got[0].Acc != 0.7 || got[0].ValAcc != 0.6 || !math.IsNaN(got[0].LR) {
		t.Errorf("TF2 log: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"no header": "1,0.5,1,0.1,0.4,1.5\n",
		"short row": "epoch,acc,loss\n1,0.5\n",
		"text":      "epoch,acc\n1,high\n",
		"epoch":     "epoch,acc\none,0.5\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".csv")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := ReadTrainingCSV(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name %s", name, err, p)
		}
	}
}
