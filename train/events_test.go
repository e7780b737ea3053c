package train

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/results"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/bonsai-ml/bonsai/tensorboard"
	"github.com/bonsai-ml/bonsai/tensorboard/tbtest"
)

// TestRunWritesTensorBoardEvents reads a run's event file back with the independent reader and
// checks every scalar against training.csv and the schedule, the images, and the histograms
// against the checkpoints (weights after epoch e are those at the start of epoch e+1).
func TestRunWritesTensorBoardEvents(t *testing.T) {
	dataDir, outDir := t.TempDir(), t.TempDir()
	writeImageFolder(t, dataDir, 12, 16, 1)
	store := &memStore{}
	o := baseOptions(t, outDir, dataDir, store)
	o.TensorBoard = TensorBoard{Images: 2, Histograms: true}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(outDir, "events", "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files %v", files)
	}
	events := tbtest.Read(t, files[0])
	if events[0].FileVersion != tensorboard.FileVersion {
		t.Fatalf("first event %+v", events[0])
	}
	sc := tbtest.Scalars(events)
	// 3 epochs of 3 iterations (12 images x 2 classes, batch 8).
	for _, tag := range []string{"loss", "acc", "lr"} {
		if len(sc[tag]) != 9 {
			t.Fatalf("%s: %d points, want 9", tag, len(sc[tag]))
		}
	}
	for i, p := range sc["lr"] {
		if p[0] != float64(i) || p[1] != float64(float32(o.Schedule.LR(i, 9))) {
			t.Errorf("lr point %d = %v, want step %d lr %g", i, p, i, o.Schedule.LR(i, 9))
		}
	}
	for i, row := range res.History {
		want := map[string]float64{"val_loss": row.ValLoss, "val_acc": row.ValAcc, "epoch_loss": row.Loss, "epoch_acc": row.Acc}
		for tag, v := range want {
			if p := sc[tag][i]; p[0] != float64(i) || p[1] != float64(float32(v)) {
				t.Errorf("%s at epoch %d: %v, want step %d value %v", tag, i+1, p, i, float32(v))
			}
		}
		if p := sc["throughput"][i]; p[1] <= 0 {
			t.Errorf("throughput %v", p)
		}
	}
	var images, histos int
	for _, e := range events {
		for j, v := range e.Values {
			switch {
			case v.Image != nil:
				images++
				if v.Tag != "augmented_images/image/"+string(rune('0'+j)) || v.Image.Width != 16 || v.Image.Height != 16 ||
					v.Image.Colorspace != 3 || v.Image.PNGMagic != "iVBORw0KGgo=" {
					t.Errorf("image %+v at step %d", v, e.Step)
				}
			case v.Histo != nil:
				histos++
				if e.Step == 0 {
					continue // the random initial weights
				}
				w := store.saved[results.EpochCheckpointPath(outDir, "tiny", int(e.Step), ".ckpt")].Weights
				key := v.Tag[:len(v.Tag)-2] // "<layer>/<param>_0"
				h := tensorboard.NewHistogram(w[key].Data, histogramBuckets)
				if v.Histo.Num != h.Num || v.Histo.Min != h.Min || v.Histo.Max != h.Max || v.Histo.Sum != h.Sum || !slices.Equal(v.Histo.Bucket, h.Bucket) {
					t.Errorf("histogram %s at step %d: %+v, want %+v", v.Tag, e.Step, v.Histo, h)
				}
			}
		}
	}
	// 2 images per epoch; 3 epochs x 7 weights (conv kernel, bn gamma/beta/mean/variance, dense kernel/bias).
	if images != 6 || histos != 3*7 {
		t.Errorf("%d images (want 6), %d histograms (want 21)", images, histos)
	}
}

// TestTensorBoardFromSpec: images only when the visualizer is enabled (num_images, else 3);
// histograms with weight_histograms, as TAO's train.py reads it (enabled or not).
func TestTensorBoardFromSpec(t *testing.T) {
	for text, want := range map[string]TensorBoard{
		`train_config { }`: {},
		`train_config { visualizer { enabled: true } }`:                                       {Images: 3},
		`train_config { visualizer { enabled: true num_images: 5 weight_histograms: true } }`: {Images: 5, Histograms: true},
		`train_config { visualizer { num_images: 5 weight_histograms: true } }`:               {Histograms: true},
	} {
		e, err := spec.Parse("s.cfg", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if got := TensorBoardFromSpec(e); got != want {
			t.Errorf("%s: %+v, want %+v", text, got, want)
		}
	}
}
