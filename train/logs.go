package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// EpochLog is one row of training.csv: the metrics Keras' CSVLogger writes after an epoch.
type EpochLog struct {
	Epoch   int     // 1-based
	Acc     float64 // training accuracy over the epoch
	Loss    float64 // mean training loss over the epoch
	LR      float64 // learning rate after the epoch's last iteration (TAO's lr column)
	ValAcc  float64
	ValLoss float64
	// Seconds is the wall time of the epoch (not in the CSV; used by status.json).
	Seconds float64
	// ImagesPerSecond is the training throughput of the epoch (not in the CSV; TensorBoard).
	ImagesPerSecond float64
}

// csvHeader is Keras' CSVLogger header: "epoch" then the metric names sorted.
const csvHeader = "epoch,acc,loss,lr,val_acc,val_loss"

// WriteTrainingCSV writes rows to path atomically, in TAO's training.csv format.
func WriteTrainingCSV(path string, rows []EpochLog) error {
	var b bytes.Buffer
	b.WriteString(csvHeader + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s\n", r.Epoch, fmtFloat(r.Acc), fmtFloat(r.Loss),
			strconv.FormatFloat(float64(float32(r.LR)), 'g', -1, 32), fmtFloat(r.ValAcc), fmtFloat(r.ValLoss))
	}
	return atomicfile.WriteBytes(path, b.Bytes())
}

// ReadTrainingCSV reads a training.csv written by WriteTrainingCSV (or by TAO).
func ReadTrainingCSV(path string) ([]EpochLog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != csvHeader {
		return nil, fmt.Errorf("%s: header is not %q", path, csvHeader)
	}
	var rows []EpochLog
	for i, line := range lines[1:] {
		r, err := parseCSVRow(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func parseCSVRow(line string) (EpochLog, error) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) != 6 {
		return EpochLog{}, fmt.Errorf("want 6 fields, got %d", len(f))
	}
	var r EpochLog
	var err error
	if r.Epoch, err = strconv.Atoi(f[0]); err != nil {
		return r, fmt.Errorf("epoch: %w", err)
	}
	vals := make([]float64, 5)
	for i := range vals {
		if vals[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return r, fmt.Errorf("field %d: %w", i+2, err)
		}
	}
	r.Acc, r.Loss, r.LR, r.ValAcc, r.ValLoss = vals[0], vals[1], vals[2], vals[3], vals[4]
	return r, nil
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Status levels of status.json, as TAO names them.
const (
	StatusStarted = "STARTED"
	StatusRunning = "RUNNING"
	StatusSuccess = "SUCCESS"
	StatusFailure = "FAILURE"
	StatusSkipped = "SKIPPED"
)

// StatusEvent is one line of status.json. Field order follows TAO's output: the event's own
// data first, then date, time, status, verbosity, message, graphical and kpi.
type StatusEvent struct {
	Epoch        int               `json:"epoch,omitempty"`
	MaxEpoch     int               `json:"max_epoch,omitempty"`
	TimePerEpoch string            `json:"time_per_epoch,omitempty"`
	ETA          string            `json:"eta,omitempty"`
	Date         string            `json:"date"`
	Time         string            `json:"time"`
	Status       string            `json:"status"`
	Verbosity    string            `json:"verbosity"`
	Message      string            `json:"message,omitempty"`
	Graphical    map[string]string `json:"graphical,omitempty"`
	KPI          map[string]any    `json:"kpi,omitempty"`
}

// StatusLog appends TAO-style JSON lines to results_dir/status.json. Like TAO's logger, the
// graphical and kpi data of the last epoch stay attached to later events until replaced.
type StatusLog struct {
	Path      string
	Graphical map[string]string
	KPI       map[string]any
	now       func() time.Time
}

// NewStatusLog returns a logger appending to dir/status.json.
func NewStatusLog(dir string) *StatusLog {
	return &StatusLog{Path: filepath.Join(dir, "status.json"), now: time.Now}
}

// Write appends one event with the given status and message.
func (l *StatusLog) Write(status, message string) error {
	return l.write(StatusEvent{Status: status, Message: message})
}

// WriteEpoch appends the event TAO writes after each epoch.
func (l *StatusLog) WriteEpoch(r EpochLog, maxEpoch int) error {
	l.Graphical = map[string]string{
		"loss":                fmtFloat(r.Loss),
		"training_accuracy":   fmtFloat(r.Acc),
		"validation_loss":     fmtFloat(r.ValLoss),
		"validation_accuracy": fmtFloat(r.ValAcc),
		"learning_rate":       strconv.FormatFloat(float64(float32(r.LR)), 'g', -1, 32),
	}
	l.KPI = map[string]any{
		"training_accuracy":   fmtFloat(r.Acc),
		"validation_accuracy": fmtFloat(r.ValAcc),
	}
	perEpoch := time.Duration(r.Seconds * float64(time.Second))
	return l.write(StatusEvent{
		Epoch: r.Epoch, MaxEpoch: maxEpoch,
		TimePerEpoch: PyTimedelta(perEpoch),
		ETA:          PyTimedelta(perEpoch * time.Duration(maxEpoch-r.Epoch)),
		Status:       StatusRunning, Message: "Training loop in progress",
	})
}

func (l *StatusLog) write(e StatusEvent) error {
	now := l.now()
	e.Date = fmt.Sprintf("%d/%d/%d", int(now.Month()), now.Day(), now.Year())
	e.Time = fmt.Sprintf("%d:%d:%d", now.Hour(), now.Minute(), now.Second())
	e.Verbosity = "INFO"
	e.Graphical, e.KPI = l.Graphical, l.KPI
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", l.Path, err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", l.Path, err)
	}
	return nil
}

// PyTimedelta formats d as Python's str(timedelta): "H:MM:SS" or "H:MM:SS.ffffff", with
// "N day(s), " in front when it is a day or more.
func PyTimedelta(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	us := d.Microseconds()
	days := us / (86400 * 1e6)
	us -= days * 86400 * 1e6
	h, m, s, frac := us/3600e6, us/60e6%60, us/1e6%60, us%1e6
	out := fmt.Sprintf("%d:%02d:%02d", h, m, s)
	if frac != 0 {
		out += fmt.Sprintf(".%06d", frac)
	}
	switch {
	case days == 1:
		out = "1 day, " + out
	case days > 1:
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}
