package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/bonsai-ml/bonsai/results"
)

// Progress draws the per-epoch progress bar on a terminal (one line redrawn with \r), or
// prints plain lines at each quarter of the epoch when the output is not a terminal (a log
// file, CI).
type Progress struct {
	w        io.Writer
	tty      bool
	now      func() time.Time
	epoch    int
	maxEpoch int
	steps    int
	start    time.Time
	last     time.Time
	trained  time.Time // when validation started (zero before)
	images   int
	lossSum  float64
	accSum   float64
	done     int
	nextMark int // non-TTY: next step count that prints a line
}

// NewProgress returns a progress bar writing to w; nil w gives a silent bar.
func NewProgress(w io.Writer) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w, tty: isTerminal(w), now: time.Now}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// StartEpoch resets the bar for epoch (1-based) of maxEpoch, with steps iterations.
func (p *Progress) StartEpoch(epoch, maxEpoch, steps int) {
	p.epoch, p.maxEpoch, p.steps = epoch, maxEpoch, steps
	p.start = p.now()
	p.last, p.trained = time.Time{}, time.Time{}
	p.images, p.lossSum, p.accSum, p.done = 0, 0, 0, 0
	p.nextMark = quarter(steps, 1)
}

func quarter(steps, q int) int { return max(1, (steps*q+3)/4) }

// Step records one finished iteration of batch images.
func (p *Progress) Step(batch int, loss, acc, lr float64) {
	p.done++
	p.images += batch
	p.lossSum += loss
	p.accSum += acc
	now := p.now()
	if p.tty {
		if now.Sub(p.last) >= 100*time.Millisecond || p.done == p.steps {
			p.last = now
			fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(lr, now))
		}
		return
	}
	if p.done >= p.nextMark || (now.Sub(p.last) >= time.Minute && !p.last.IsZero()) {
		if p.done >= p.nextMark {
			p.nextMark = quarter(p.steps, 4*p.done/max(p.steps, 1)+1)
		}
		p.last = now
		fmt.Fprintln(p.w, p.line(lr, now))
	}
	if p.last.IsZero() {
		p.last = now
	}
}

// line is the bar's text: epoch, bar, step count, running loss and accuracy, lr, images/s, ETA.
func (p *Progress) line(lr float64, now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	rate, eta := 0.0, ""
	if elapsed > 0 {
		rate = float64(p.images) / elapsed
		remaining := time.Duration(elapsed / float64(p.done) * float64(p.steps-p.done) * float64(time.Second))
		eta = " ETA " + shortDuration(remaining)
	}
	n := float64(max(p.done, 1))
	return fmt.Sprintf("Epoch %d/%d %s %d/%d loss %.4f acc %.4f lr %.3g %.1f img/s%s",
		p.epoch, p.maxEpoch, bar(p.done, p.steps, 20), p.done, p.steps,
		p.lossSum/n, p.accSum/n, lr, rate, eta)
}

// EndEpoch prints the epoch's summary line, Keras style, ending the bar's line. Its img/s is
// the training rate: the images over the time to validation (data loading included).
func (p *Progress) EndEpoch(r results.Epoch, best bool) {
	elapsed := p.now().Sub(p.start)
	mark := ""
	if best {
		mark = "  (best)"
	}
	training := elapsed
	if !p.trained.IsZero() {
		training = p.trained.Sub(p.start)
	}
	rate := 0.0
	if s := training.Seconds(); s > 0 {
		rate = float64(p.images) / s
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "Epoch %d/%d %d/%d - %s - loss: %.4f - acc: %.4f - val_loss: %.4f - val_acc: %.4f - lr: %.3g - %.1f img/s%s\n",
		r.Epoch, p.maxEpoch, p.done, p.steps, shortDuration(elapsed), r.Loss, r.Acc, r.ValLoss, r.ValAcc, r.LR, rate, mark)
}

// Validating notes that validation is running (on a terminal) and ends the training time.
func (p *Progress) Validating() {
	p.trained = p.now()
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[KEpoch %d/%d validating...", p.epoch, p.maxEpoch)
	}
}

func bar(done, total, width int) string {
	if total <= 0 {
		total = 1
	}
	fill := min(width, done*width/total)
	s := strings.Repeat("=", fill)
	if fill < width {
		s += ">" + strings.Repeat(".", width-fill-1)
	}
	return "[" + s + "]"
}

func shortDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	if s >= 60 {
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}
