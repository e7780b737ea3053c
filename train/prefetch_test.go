package train

import (
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/engine"
)

// TestPrefetch: the prefetcher delivers the epoch's batches in order up to its limit, staged for
// the trainer, stages the next one while the consumer holds the current, and stops cleanly when
// closed early.
func TestPrefetch(t *testing.T) {
	dataDir := t.TempDir()
	writeImageFolder(t, dataDir, 10, 16, 3) // 20 images: batches of 8, 8, 4
	tl, _, _ := loaders(t, dataDir, 16, 8, 1)
	m, err := openEngine(t).NewModel(tinyCNN(16, 2), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(engine.TrainConfig{Optimizer: "sgd"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ limit, consume, want int }{{10, 10, 3}, {2, 10, 2}, {10, 1, 1}} {
		it := tl.Epoch(1)
		p := prefetch(tr, it, c.limit)
		var sizes []int
		for range c.consume {
			b, ok := p.next()
			if !ok {
				break
			}
			if b.err != nil {
				t.Fatal(b.err)
			}
			if _, _, err := tr.StepStaged(b.batch, 0.01); err != nil {
				t.Fatal(err)
			}
			b.batch.Release()
			sizes = append(sizes, b.n)
		}
		if len(sizes) != c.want || sizes[0] != 8 {
			t.Errorf("limit %d, consuming %d: batches %v, want %d of them", c.limit, c.consume, sizes, c.want)
		}
		closed := make(chan struct{})
		go func() { p.close(); it.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("limit %d: close did not return", c.limit)
		}
	}
}
