package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

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

// StatusFile is the name of the event log in a results folder.
const StatusFile = "status.json"

// NewStatusLog returns a logger appending to dir/status.json.
func NewStatusLog(dir string) *StatusLog {
	return &StatusLog{Path: filepath.Join(dir, StatusFile), now: time.Now}
}

// StartStatus creates dir and writes the STARTED event with message. An empty dir gives a nil
// log, on which every method does nothing (commands whose -r is optional).
func StartStatus(dir, message string) (*StatusLog, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating results folder: %w", err)
	}
	l := NewStatusLog(dir)
	return l, l.Write(StatusStarted, message)
}

// Write appends one event with the given status and message.
func (l *StatusLog) Write(status, message string) error {
	if l == nil {
		return nil
	}
	return l.write(StatusEvent{Status: status, Message: message})
}

// Succeed writes the SUCCESS event with message and kpi (kpi may be nil).
func (l *StatusLog) Succeed(message string, kpi map[string]any) error {
	if l == nil {
		return nil
	}
	if kpi != nil {
		l.KPI = kpi
	}
	return l.Write(StatusSuccess, message)
}

// Fail records err as the FAILURE event; the error of writing it is dropped, since err is
// what the caller reports.
func (l *StatusLog) Fail(err error) {
	if l != nil {
		l.Write(StatusFailure, err.Error())
	}
}

// WriteEpoch appends the event TAO writes after each epoch.
func (l *StatusLog) WriteEpoch(r Epoch, maxEpoch int) error {
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
	return atomicfile.Append(l.Path, append(line, '\n'))
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
