package train

import (
	"bytes"
	"fmt"
	"image/png"
	"maps"
	"path/filepath"
	"slices"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/results"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/bonsai-ml/bonsai/tensorboard"
)

// TensorBoard says what Run writes to TensorBoard event files under <results_dir>/events
// besides the scalars it always writes, as TAO's training does:
//
//   - every iteration (step = iteration since the start of the run, from 0): "loss" and "acc"
//     of the batch and the learning rate "lr";
//   - every epoch (step = epoch - 1, as Keras counts): "val_loss" and "val_acc", and (Bonsai)
//     the epoch's mean "epoch_loss" and "epoch_acc" (TAO logs those under "loss" and "acc",
//     among the per-iteration points) and "throughput" in training images per second.
type TensorBoard struct {
	// Images is the number of augmented training images (the first batch's) shown per epoch,
	// tagged augmented_images/image/<i> (train_config.visualizer enabled: num_images).
	Images int
	// Histograms adds a histogram of every weight at the start of each epoch, tagged
	// "<layer>/<param>_0" as TAO names Keras' weights (visualizer.weight_histograms).
	Histograms bool
}

// DefaultVisualizerImages is num_images when the spec leaves it at 0.
const DefaultVisualizerImages = 3

// TensorBoardFromSpec maps train_config.visualizer: enabled shows num_images images (3 when
// 0); weight_histograms adds histograms whether or not enabled is set, as TAO's train.py reads it.
func TensorBoardFromSpec(e *spec.Experiment) TensorBoard {
	v := e.Proto.GetTrainConfig().GetVisualizer()
	tb := TensorBoard{Histograms: v.GetWeightHistograms()}
	if v.GetEnabled() {
		tb.Images = int(v.GetNumImages())
		if tb.Images == 0 {
			tb.Images = DefaultVisualizerImages
		}
	}
	return tb
}

// histogramBuckets is the number of equal-width buckets of a weight histogram.
const histogramBuckets = 30

// events writes one run's TensorBoard file.
type events struct {
	cfg    TensorBoard
	w      *tensorboard.Writer
	err    error // the first write error; later writes are skipped
	closed bool
}

func newEvents(resultsDir string, cfg TensorBoard) (*events, error) {
	w, err := tensorboard.Create(filepath.Join(resultsDir, "events"))
	if err != nil {
		return nil, err
	}
	return &events{cfg: cfg, w: w}, nil
}

func (ev *events) keep(err error) {
	if ev.err == nil && err != nil {
		ev.err = err
	}
}

// step logs one iteration.
func (ev *events) step(global int, loss, acc, lr float64) {
	if ev.err != nil {
		return
	}
	for _, s := range []struct {
		tag string
		v   float64
	}{{"loss", loss}, {"acc", acc}, {"lr", lr}} {
		ev.keep(ev.w.Scalar(s.tag, int64(global), s.v))
	}
}

// epochStart writes the weight histograms (before the epoch trains, as TAO's on_epoch_begin).
func (ev *events) epochStart(epoch int, w model.Weights) {
	if ev.err != nil || !ev.cfg.Histograms {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(w)) {
		ev.keep(ev.w.Histogram(k+"_0", int64(epoch-1), tensorboard.NewHistogram(w[k].Data, histogramBuckets)))
	}
}

// images shows the first cfg.Images samples of a training batch.
func (ev *events) images(epoch int, ld *loader.Loader, images *model.Tensor) {
	if ev.err != nil || ev.cfg.Images <= 0 {
		return
	}
	var pics []tensorboard.Image
	for i := 0; i < min(ev.cfg.Images, images.Shape[0]); i++ {
		pic, err := ld.Picture(images, i)
		if err != nil {
			ev.keep(err)
			return
		}
		var b bytes.Buffer
		if err := png.Encode(&b, pic); err != nil {
			ev.keep(err)
			return
		}
		bounds := pic.Bounds()
		pics = append(pics, tensorboard.Image{Tag: fmt.Sprintf("augmented_images/image/%d", i),
			Width: bounds.Dx(), Height: bounds.Dy(), Colorspace: images.Shape[3], PNG: b.Bytes()})
	}
	ev.keep(ev.w.Images(int64(epoch-1), pics...))
}

// epochEnd logs the epoch's metrics and flushes the file, so TensorBoard sees them.
func (ev *events) epochEnd(row results.Epoch) error {
	if ev.err == nil {
		for _, s := range []struct {
			tag string
			v   float64
		}{{"val_loss", row.ValLoss}, {"val_acc", row.ValAcc}, {"epoch_loss", row.Loss}, {"epoch_acc", row.Acc}, {"throughput", row.ImagesPerSecond}} {
			ev.keep(ev.w.Scalar(s.tag, int64(row.Epoch-1), s.v))
		}
		ev.keep(ev.w.Flush())
	}
	if ev.err != nil {
		return fmt.Errorf("TensorBoard events: %w", ev.err)
	}
	return nil
}

// close closes the file once; later calls and a nil ev do nothing.
func (ev *events) close() error {
	if ev == nil || ev.closed {
		return nil
	}
	ev.closed = true
	err := ev.w.Close()
	if ev.err != nil {
		return fmt.Errorf("TensorBoard events: %w", ev.err)
	}
	return err
}
