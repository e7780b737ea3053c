package train

import (
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
)

// prefetcher assembles and stages the next training batch while the current step runs: the
// loader's batch assembly (copies, mixup) and the host-to-device copy (engine.Trainer.Stage)
// overlap the device's compute, and the loader's workers decode further ahead on every core.
// One staged batch waits at most, besides the one in the step.
type prefetcher struct {
	out  chan stagedBatch
	stop chan struct{}
	done chan struct{}
}

// stagedBatch is a batch ready for Trainer.StepStaged, or the error staging it.
type stagedBatch struct {
	batch  *engine.StagedBatch
	images *model.Tensor // the host images (TensorBoard shows some)
	n      int
	err    error
}

// prefetch stages up to limit batches of it for tr, one ahead of the consumer.
func prefetch(tr *engine.Trainer, it *loader.Iterator, limit int) *prefetcher {
	p := &prefetcher{out: make(chan stagedBatch), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.out)
		for i := 0; i < limit && it.Next(); i++ {
			b := it.Batch()
			sb, err := tr.Stage(b.Images, b.Labels)
			select {
			case p.out <- stagedBatch{batch: sb, images: b.Images, n: b.Images.Shape[0], err: err}:
			case <-p.stop:
				if sb != nil {
					sb.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

// next returns the next staged batch; ok is false at the end (the loader's error, if any, is
// then in the iterator).
func (p *prefetcher) next() (b stagedBatch, ok bool) {
	b, ok = <-p.out
	return b, ok
}

// close stops staging and waits for the goroutine; call it before closing the iterator.
func (p *prefetcher) close() {
	close(p.stop)
	<-p.done
}
