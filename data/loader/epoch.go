package loader

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bonsai-ml/bonsai/model"
)

// result is one processed sample; pix is nil when err is set.
type result struct {
	index int
	pix   *[]float32
	err   error
}

type job struct {
	index int
	out   chan<- result
}

// Iterator walks the batches of one epoch. Workers decode ahead in parallel; batches come out in
// order. Use it as
//
//	it := l.Epoch(e)
//	defer it.Close()
//	for it.Next() { b := it.Batch(); ... }
//	if err := it.Err(); err != nil { ... }
type Iterator struct {
	l       *Loader
	epoch   int
	pending chan chan result // futures in epoch order
	done    chan struct{}
	closed  sync.Once
	wg      sync.WaitGroup

	batch   Batch
	next    int // index of the next batch
	err     error
	start   time.Time
	images  atomic.Int64
	skipped atomic.Int64
	end     atomic.Int64 // elapsed nanoseconds at Close; 0 while running
}

// Epoch starts decoding epoch e (any integer; it seeds the shuffle and the augmentations) and
// returns its iterator. Call Close when done, also after a partial walk.
func (l *Loader) Epoch(e int) *Iterator {
	window := max(2*l.opts.BatchSize, 4*l.opts.Workers)
	it := &Iterator{l: l, epoch: e, pending: make(chan chan result, window),
		done: make(chan struct{}), start: time.Now()}
	jobs := make(chan job)
	for w := 0; w < l.opts.Workers; w++ {
		it.wg.Add(1)
		go it.work(jobs)
	}
	it.wg.Add(1)
	go it.feed(l.epochOrder(e), jobs)
	return it
}

// feed queues every item of the epoch: first its future (bounded by the window), then its job.
func (it *Iterator) feed(order []int, jobs chan<- job) {
	defer it.wg.Done()
	defer close(jobs)
	defer close(it.pending)
	for _, i := range order {
		f := make(chan result, 1)
		select {
		case it.pending <- f:
		case <-it.done:
			return
		}
		select {
		case jobs <- job{index: i, out: f}:
		case <-it.done:
			return
		}
	}
}

func (it *Iterator) work(jobs <-chan job) {
	defer it.wg.Done()
	for j := range jobs {
		pix, err := it.l.sample(it.epoch, j.index)
		j.out <- result{index: j.index, pix: pix, err: err}
	}
}

// Next assembles the next batch; it returns false at the end of the epoch or on an error.
func (it *Iterator) Next() bool {
	select {
	case <-it.done: // closed, or ended
		return false
	default:
	}
	o := it.l.opts
	b, n, ok := it.fill()
	if !ok || n == 0 || (n < o.BatchSize && o.DropLast) {
		it.Close()
		return false
	}
	shrinkBatch(&b, n, o.Height*o.Width*o.Channels, it.l.numClasses)
	if o.MixupAlpha > 0 {
		rng := derivedRNG(o.Seed, it.epoch, streamMixup, it.next)
		mixBatch(b.Images.Data, b.Labels.Data, n, mixupLambdas(n, o.MixupAlpha, rng))
	}
	it.images.Add(int64(n))
	it.batch = b
	it.next++
	return true
}

// fill takes up to BatchSize good samples in epoch order into a new batch; ok is false when a
// bad image ends the epoch. Each sample is copied into the batch by a goroutine of its own as it
// arrives, so that the copies (150 MB for 256 images at 224 px) overlap each other and the wait
// for later samples instead of running one after the other.
func (it *Iterator) fill() (b Batch, n int, ok bool) {
	o, classes := it.l.opts, it.l.numClasses
	size := o.Height * o.Width * o.Channels
	b = Batch{Index: it.next, Images: model.NewTensor(o.BatchSize, o.Height, o.Width, o.Channels),
		Labels: model.NewTensor(o.BatchSize, classes)}
	var copies sync.WaitGroup
	defer copies.Wait()
	for n < o.BatchSize {
		r, more := it.take()
		if !more {
			break
		}
		if r.err != nil {
			if !it.handleBad(r) {
				return b, n, false
			}
			continue
		}
		dst, pix := b.Images.Data[n*size:(n+1)*size], r.pix
		copies.Go(func() {
			copy(dst, *pix)
			it.l.bufPool.Put(pix)
		})
		item := it.l.items[r.index]
		b.Labels.Data[n*classes+item.Label] = 1
		b.Targets = append(b.Targets, item.Label)
		b.Paths = append(b.Paths, item.Path)
		n++
	}
	return b, n, true
}

// take returns the next sample in epoch order.
func (it *Iterator) take() (result, bool) {
	f, ok := <-it.pending
	if !ok {
		return result{}, false
	}
	return <-f, true
}

// handleBad records a failed sample; it returns false when the epoch must stop.
func (it *Iterator) handleBad(r result) bool {
	it.l.recordBad(r.index, r.err)
	if it.l.opts.OnBadImage == BadImageFail {
		it.err = fmt.Errorf("%w (replace or remove the file, or choose to skip unusable images)", r.err)
		it.Close()
		return false
	}
	it.skipped.Add(1)
	return true
}

func shrinkBatch(b *Batch, n, size, classes int) {
	if n == b.Images.Shape[0] {
		return
	}
	b.Images.Shape[0], b.Images.Data = n, b.Images.Data[:n*size]
	b.Labels.Shape[0], b.Labels.Data = n, b.Labels.Data[:n*classes]
}

// Batch is the batch Next assembled.
func (it *Iterator) Batch() Batch { return it.batch }

// Err is the error that ended the epoch, if any (a bad image in fail mode).
func (it *Iterator) Err() error { return it.err }

// Close stops the workers; it is safe to call more than once.
func (it *Iterator) Close() {
	it.closed.Do(func() {
		it.end.Store(time.Since(it.start).Nanoseconds())
		close(it.done)
		it.wg.Wait()
	})
}

// EpochStats are an epoch's progress counters for a progress bar.
type EpochStats struct {
	Images  int64         // samples delivered in batches so far
	Skipped int64         // bad images left out so far
	Elapsed time.Duration // from Epoch to now, or to Close
}

// ImagesPerSec is the delivery rate so far.
func (s EpochStats) ImagesPerSec() float64 { return rate(s.Images, s.Elapsed) }

// Stats returns the epoch's counters; safe to call from another goroutine.
func (it *Iterator) Stats() EpochStats {
	elapsed := time.Duration(it.end.Load())
	if elapsed == 0 {
		elapsed = time.Since(it.start)
	}
	return EpochStats{Images: it.images.Load(), Skipped: it.skipped.Load(), Elapsed: elapsed}
}
