package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bonsai-ml/bonsai/evaluate"

	"github.com/bonsai-ml/bonsai/data"
	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/results"
)

// Checkpoint is what the loop saves after every epoch, and what resuming reads back.
type Checkpoint struct {
	Graph     *model.Graph
	Weights   model.Weights
	Optimizer map[string]*model.Tensor // engine.Trainer.OptimizerState (slots and iteration count)
	Epoch     int                      // 1-based epoch just finished
	Metrics   results.Epoch
}

// Options configures Run.
type Options struct {
	ResultsDir string
	Engine     *engine.Engine
	Graph      *model.Graph  // the model to train
	Weights    model.Weights // initial weights; missing ones are initialised from Train.Seed
	// Optimizer is the optimizer state to resume from (nil: fresh).
	Optimizer map[string]*model.Tensor
	Train     engine.TrainConfig
	// Teacher, when set, is distilled from (Train.DistillAlpha, Train.DistillTemperature).
	Teacher  *Teacher
	Schedule Schedule
	Epochs   int // n_epochs
	// InitEpoch is TAO's --init_epoch: the 1-based epoch to start at (0 or 1: from the start).
	// Resuming needs Weights and Optimizer from the checkpoint of epoch InitEpoch-1.
	InitEpoch int
	// StepsDivisor is TAO's iteration count divisor for multi-GPU (steps per epoch =
	// batches // GPUs); 0 or 1 for one device.
	StepsDivisor int

	TrainData, ValData *loader.Loader
	Classes            []string // class names in label order (classmap.json)

	// Save writes a checkpoint file (atomically); Ext is its extension, e.g. ".safetensors".
	// Load reads one back (for repairing an interrupted run's folder; nil: no repair).
	Save func(path string, c *Checkpoint) error
	Load func(path string) (*Checkpoint, error)
	Ext  string
	// Results is the results folder, opened (and locked) by the caller; nil: Run opens
	// ResultsDir itself, fresh or, with InitEpoch > 1, continued.
	Results *results.Run
	// CheckpointInterval writes weights/<arch>_NNN every this many epochs and at the last
	// epoch (0 or 1: every epoch); best and last are written whenever they change.
	CheckpointInterval int
	// Plot draws results.png from the history (optional).
	Plot func(path string, rows []results.Epoch) error
	// TensorBoard adds images and histograms to the event files under ResultsDir/events.
	TensorBoard TensorBoard
	// HTMLReport writes ResultsDir/report.html at the end (ReportFile), with Facts added to the
	// run's own and, for a pruned model, Pruning's settings and per-layer table.
	HTMLReport bool
	Facts      [][2]string
	Pruning    *results.PruneRecord

	Progress io.Writer // progress bar (stderr); nil: none
	Log      io.Writer // messages (stdout); nil: none
	Warn     io.Writer // warnings such as unreadable images (stderr); nil: none

	lrHook func(step int, lr float64) float64 // tests: replaces the schedule's learning rate
}

// Teacher is the model a run distils from: same input and classes as the trained model.
type Teacher struct {
	Graph   *model.Graph
	Weights model.Weights
}

// Result summarises a finished run.
type Result struct {
	History  []results.Epoch // every epoch in training.csv, including those before a resume
	Best     results.Epoch
	BestPath string
	LastPath string
}

// ErrInterrupted is returned when the context is cancelled during training.
var ErrInterrupted = errors.New("training was interrupted")

func (o *Options) check() error {
	switch {
	case o.ResultsDir == "":
		return errors.New("no results folder")
	case o.Engine == nil || o.Graph == nil:
		return errors.New("no engine or model graph")
	case o.TrainData == nil || o.ValData == nil:
		return errors.New("no training or validation data")
	case o.Epochs < 1:
		return fmt.Errorf("n_epochs must be at least 1, got %d", o.Epochs)
	case o.Save == nil:
		return errors.New("no checkpoint writer")
	case o.InitEpoch > o.Epochs:
		return fmt.Errorf("the run would start at epoch %d, past n_epochs %d: nothing to train", o.InitEpoch, o.Epochs)
	}
	if o.InitEpoch < 1 {
		o.InitEpoch = 1
	}
	if o.StepsDivisor < 1 {
		o.StepsDivisor = 1
	}
	if o.InitEpoch > 1 && o.Weights == nil {
		return fmt.Errorf("starting at epoch %d needs the weights of epoch %d", o.InitEpoch, o.InitEpoch-1)
	}
	return o.Schedule.Validate()
}

// run is the state of one training run.
type run struct {
	o        *Options
	m        *engine.Model
	tr       *engine.Trainer
	status   *results.StatusLog
	bar      *Progress
	steps    int // iterations per epoch
	maxSteps int
	history  []results.Epoch
	best     results.Epoch
	hasBest  bool
	events   *events
	lastEval *evaluate.Report // the latest epoch's validation
	folder   *results.Run
}

// Run trains o.Graph for epochs o.InitEpoch..o.Epochs and writes TAO's outputs in
// o.ResultsDir: weights/<arch>_NNN<ext> every epoch plus weights/best<ext> and
// weights/last<ext>, classmap.json, training.csv, status.json, TensorBoard event files in
// events/ (see TensorBoard), results.png and (HTMLReport) report.html.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Results == nil {
		f, err := results.Open(o.ResultsDir, results.OpenOptions{Command: "train", Ext: o.Ext,
			Continue: o.InitEpoch > 1, Checkpoints: checkpointStore{&o}})
		if err != nil {
			return nil, err
		}
		defer f.Close()
		o.Results = f
	}
	r := &run{o: &o, status: results.NewStatusLog(o.ResultsDir), bar: NewProgress(o.Progress), folder: o.Results}
	if err := r.prepare(); err != nil {
		r.events.close()
		r.fail(err)
		return nil, err
	}
	if err := r.status.Write(results.StatusStarted, "Starting Training Loop."); err != nil {
		return nil, err
	}
	defer r.events.close() // after an error; finish closes it and reports its error
	for epoch := o.InitEpoch; epoch <= o.Epochs; epoch++ {
		if err := r.epoch(ctx, epoch); err != nil {
			r.fail(err)
			return nil, err
		}
	}
	if err := r.events.close(); err != nil {
		return nil, err
	}
	return r.finish()
}

// prepare creates the folders, writes classmap.json, builds the model and trainer, and
// reloads the history of a resumed run.
func (r *run) prepare() error {
	o := r.o
	if err := os.MkdirAll(filepath.Join(o.ResultsDir, results.WeightsDir), 0o755); err != nil {
		return fmt.Errorf("creating results folder: %w", err)
	}
	if len(o.Classes) > 0 {
		if err := data.WriteClassMap(filepath.Join(o.ResultsDir, data.ClassMapFile), o.Classes); err != nil {
			return err
		}
	}
	if err := r.choosePrecision(); err != nil {
		return err
	}
	var err error
	if r.m, err = o.Engine.NewModel(o.Graph, o.Weights, o.Train.Seed); err != nil {
		return fmt.Errorf("building the model: %w", err)
	}
	if r.tr, err = r.m.NewTrainer(o.Train); err != nil {
		return fmt.Errorf("setting up the optimizer: %w", err)
	}
	if t := o.Teacher; t != nil {
		tm, err := o.Engine.NewModel(t.Graph, t.Weights, o.Train.Seed)
		if err != nil {
			return fmt.Errorf("building the teacher model: %w", err)
		}
		if err := r.tr.SetTeacher(tm); err != nil {
			return fmt.Errorf("distillation: %w", err)
		}
	}
	if o.Optimizer != nil {
		if err := r.tr.SetOptimizerState(o.Optimizer); err != nil {
			return fmt.Errorf("resuming: %w", err)
		}
	}
	if r.events, err = newEvents(o.ResultsDir, o.TensorBoard); err != nil {
		return err
	}
	r.steps = max(1, o.TrainData.BatchesPerEpoch()/o.StepsDivisor)
	r.maxSteps = r.steps * o.Epochs
	if w := o.Schedule.EarlyDecayWarning(r.maxSteps, r.steps); w != "" && o.Warn != nil {
		fmt.Fprintln(o.Warn, "warning:", w)
	}
	return r.loadHistory()
}

// choosePrecision settles o.Train.Precision for the engine (bf16 only where it is fast) and says
// what runs.
func (r *run) choosePrecision() error {
	o := r.o
	p, note, err := o.Engine.TrainingPrecision(o.Train.Precision)
	if err != nil {
		return err
	}
	o.Train.Precision = p
	if o.Log == nil {
		return nil
	}
	if note != "" {
		fmt.Fprintln(o.Log, "Note: "+note)
	}
	if p == engine.PrecisionBF16 {
		fmt.Fprintln(o.Log, "Mixed precision: bfloat16 compute; float32 master weights, batch norm statistics and optimizer state")
	}
	return nil
}

// loadHistory keeps the committed rows of the epochs before InitEpoch.
func (r *run) loadHistory() error {
	for _, row := range r.folder.History {
		if row.Epoch < r.o.InitEpoch {
			r.history = append(r.history, row)
			r.noteBest(row)
		}
	}
	return nil
}

// noteBest records row as the best epoch if it is; it reports whether it is.
func (r *run) noteBest(row results.Epoch) bool {
	better := !r.hasBest || results.Better(row, r.best)
	if better {
		r.best, r.hasBest = row, true
	}
	return better
}

// epoch trains one epoch, validates, and writes the epoch's outputs.
func (r *run) epoch(ctx context.Context, epoch int) error {
	start := time.Now()
	row, err := r.trainEpoch(ctx, epoch)
	if err != nil {
		return err
	}
	if epoch == r.o.InitEpoch {
		if err := r.checkClassesReadable(); err != nil {
			return err
		}
	}
	r.bar.Validating()
	if r.lastEval, err = Validate(r.tr, r.o.ValData, r.o.Classes); err != nil {
		return fmt.Errorf("epoch %d: validation: %w", epoch, err)
	}
	row.ValLoss, row.ValAcc = r.lastEval.Loss, r.lastEval.Accuracy
	if epoch == r.o.InitEpoch {
		r.reportValidationSkips()
	}
	row.LR = r.o.Schedule.LR(epoch*r.steps, r.maxSteps)
	row.Seconds = time.Since(start).Seconds()
	isBest := r.noteBest(row)
	r.bar.EndEpoch(row, isBest)
	r.history = append(r.history, row)
	if err := r.events.epochEnd(row); err != nil {
		return err
	}
	return r.writeEpoch(row, isBest)
}

// trainEpoch runs the epoch's iterations and returns its mean loss and accuracy.
func (r *run) trainEpoch(ctx context.Context, epoch int) (results.Epoch, error) {
	o := r.o
	it := o.TrainData.Epoch(epoch)
	defer it.Close()
	batches := prefetch(r.tr, it, r.steps)
	defer batches.close()
	r.bar.StartEpoch(epoch, o.Epochs, r.steps)
	row := results.Epoch{Epoch: epoch}
	if o.TensorBoard.Histograms {
		w, err := r.m.Weights()
		if err != nil {
			return row, fmt.Errorf("epoch %d: reading weights: %w", epoch, err)
		}
		r.events.epochStart(epoch, w)
	}
	start := time.Now()
	var lossSum, accSum float64
	var seen int
	for i := 0; ; i++ {
		b, ok := batches.next()
		if !ok {
			break
		}
		if b.err != nil {
			return row, fmt.Errorf("epoch %d, iteration %d: %w", epoch, i+1, b.err)
		}
		if i == 0 {
			r.events.images(epoch, o.TrainData, b.images)
		}
		loss, acc, lr, err := r.step(ctx, epoch, i, b)
		if err != nil {
			return row, err
		}
		lossSum += float64(loss) * float64(b.n)
		accSum += float64(acc) * float64(b.n)
		seen += b.n
		r.bar.Step(b.n, float64(loss), float64(acc), lr)
		r.events.step((epoch-1)*r.steps+i, float64(loss), float64(acc), lr)
	}
	if err := it.Err(); err != nil {
		return row, fmt.Errorf("epoch %d: %w", epoch, err)
	}
	if seen == 0 {
		return row, fmt.Errorf("epoch %d: no training images could be read", epoch)
	}
	row.Loss, row.Acc = lossSum/float64(seen), accSum/float64(seen)
	row.ImagesPerSecond = float64(seen) / max(time.Since(start).Seconds(), 1e-9)
	return row, nil
}

// step runs iteration i (0-based) of an epoch on a staged batch, which it releases.
func (r *run) step(ctx context.Context, epoch, i int, b stagedBatch) (loss, acc float32, lr float64, err error) {
	defer b.batch.Release()
	if err := ctx.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("epoch %d, iteration %d: %w (%s)", epoch, i+1, ErrInterrupted, r.keptCheckpoint())
	}
	global := (epoch-1)*r.steps + i
	lr = r.o.Schedule.LR(global, r.maxSteps)
	if r.o.lrHook != nil {
		lr = r.o.lrHook(global, lr)
	}
	loss, acc, err = r.tr.StepStaged(b.batch, float32(lr))
	if errors.Is(err, engine.ErrNonFinite) {
		return 0, 0, lr, r.nonFinite(epoch, i+1, float64(loss), lr)
	}
	if err != nil {
		return 0, 0, lr, fmt.Errorf("epoch %d, iteration %d: %w", epoch, i+1, err)
	}
	return loss, acc, lr, nil
}

// checkClassesReadable refuses a class none of whose training images could be read in the
// first epoch: the model would learn it as a class that never occurs.
func (r *run) checkClassesReadable() error {
	readable := r.o.TrainData.Readable()
	for label, n := range readable {
		if n > 0 {
			continue
		}
		name := strconv.Itoa(label)
		if label < len(r.o.Classes) {
			name = r.o.Classes[label]
		}
		return fmt.Errorf("class %q has no readable training image (%s); fix or remove its images, or remove the class folder", name, firstBad(r.o.TrainData, label))
	}
	return nil
}

// firstBad is the error of one unreadable image of label.
func firstBad(l *loader.Loader, label int) string {
	for _, b := range l.BadImages() {
		if b.Label == label {
			return b.Err.Error()
		}
	}
	return "none could be decoded"
}

// reportValidationSkips says, once, which validation images could not be read and so are not
// in val_acc and val_loss.
func (r *run) reportValidationSkips() {
	bad := r.o.ValData.BadImages()
	if len(bad) == 0 || r.o.Warn == nil {
		return
	}
	fmt.Fprintf(r.o.Warn, "warning: validation scores %d of %d images: %s", r.o.ValData.Len()-len(bad), r.o.ValData.Len(), r.o.ValData.BadImageSummary())
	for label, n := range r.o.ValData.Readable() {
		if n == 0 && label < len(r.o.Classes) {
			fmt.Fprintf(r.o.Warn, "warning: class %q has no readable validation image: val_acc does not measure it\n", r.o.Classes[label])
		}
	}
}

// nonFinite builds the error for a NaN or infinite loss.
func (r *run) nonFinite(epoch, iter int, loss, lr float64) error {
	return fmt.Errorf("epoch %d, iteration %d: the loss is %v at learning rate %.3g; training stopped (%s). "+
		"Lower the learning rate or check the data: %w", epoch, iter, loss, lr, r.keptCheckpoint(), engine.ErrNonFinite)
}

// keptCheckpoint says which checkpoint a stopped run leaves to continue from.
func (r *run) keptCheckpoint() string {
	if len(r.history) == 0 {
		return "no epoch finished, so there is no checkpoint"
	}
	return "the last good checkpoint is " + results.LastPath(r.o.ResultsDir, r.o.Ext) +
		fmt.Sprintf(" (epoch %d)", r.history[len(r.history)-1].Epoch)
}

// Validate runs the model over every batch of val and returns the evaluation report of the
// classes (names in label order; nil: numbered). Its loss is computed as evaluate computes
// it (Keras' clipped cross-entropy on the probabilities, plus the regularization penalty of the
// current weights), so that training.csv's val_loss and evaluate's "Evaluation Loss" agree on
// the same model and images.
func Validate(tr *engine.Trainer, val *loader.Loader, classes []string) (*evaluate.Report, error) {
	it := val.Epoch(0)
	defer it.Close()
	var ev *evaluate.Evaluator
	for it.Next() {
		b := it.Batch()
		_, probs, err := tr.Evaluate(b.Images, b.Labels)
		if err != nil {
			return nil, err
		}
		if ev == nil {
			names := classes
			if len(names) != probs.Shape[1] {
				names = make([]string, probs.Shape[1])
				for i := range names {
					names[i] = strconv.Itoa(i)
				}
			}
			if ev, err = evaluate.NewEvaluator(names, 1); err != nil {
				return nil, err
			}
		}
		if err := ev.AddBatch(b.Targets, probs.Data); err != nil {
			return nil, err
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, errors.New("no validation images could be read")
	}
	rep, err := ev.Report()
	if err != nil {
		return nil, err
	}
	penalty, err := tr.Penalty()
	if err != nil {
		return nil, err
	}
	rep.AddPenalty(penalty)
	return rep, nil
}

// writeEpoch commits the epoch's checkpoints and training.csv row (see package results),
// then logs it in status.json and redraws results.png.
func (r *run) writeEpoch(row results.Epoch, isBest bool) error {
	o := r.o
	w, err := r.m.Weights()
	if err != nil {
		return fmt.Errorf("epoch %d: reading weights: %w", row.Epoch, err)
	}
	if err := r.checkFinite(row, w); err != nil {
		return err
	}
	opt, err := r.tr.OptimizerState()
	if err != nil {
		return fmt.Errorf("epoch %d: reading optimizer state: %w", row.Epoch, err)
	}
	ck := &Checkpoint{Graph: o.Graph, Weights: w, Optimizer: opt, Epoch: row.Epoch, Metrics: row}
	err = r.folder.Commit(results.Commit{
		Row: row, History: r.history[:len(r.history)-1], IsBest: isBest, Arch: o.Graph.Arch,
		EpochFile: isCheckpointEpoch(row.Epoch, o.Epochs, o.CheckpointInterval),
		Save: func(path string, withOptimizer bool) error {
			c := *ck
			if !withOptimizer {
				c.Optimizer = nil
			}
			return o.Save(path, &c)
		},
	})
	if err != nil {
		return fmt.Errorf("epoch %d: saving checkpoint: %w", row.Epoch, err)
	}
	if err := r.status.WriteEpoch(row, o.Epochs); err != nil {
		return err
	}
	if o.Plot != nil {
		if err := o.Plot(filepath.Join(o.ResultsDir, "results.png"), r.history); err != nil {
			return fmt.Errorf("drawing results.png: %w", err)
		}
	}
	return nil
}

// isCheckpointEpoch reports whether epoch gets its own weights/<arch>_NNN file.
func isCheckpointEpoch(epoch, epochs, interval int) bool {
	return interval <= 1 || epoch%interval == 0 || epoch == epochs
}

// checkFinite stops the run, as a non-finite loss does, when the weights hold NaN or
// infinity: such a checkpoint would predict garbage.
func (r *run) checkFinite(row results.Epoch, w model.Weights) error {
	for _, k := range slices.Sorted(maps.Keys(w)) {
		for _, v := range w[k].Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				r.history = r.history[:len(r.history)-1]
				return fmt.Errorf("epoch %d: weight %s is %v after the epoch although the loss stayed finite; training stopped (%s). "+
					"Lower the learning rate: %w", row.Epoch, k, v, r.keptCheckpoint(), engine.ErrNonFinite)
			}
		}
	}
	return nil
}

// checkpointStore reads and rewrites checkpoints for results.Open through Options.Load and
// Options.Save.
type checkpointStore struct{ o *Options }

func (s checkpointStore) Row(path string) (results.Epoch, error) {
	if s.o.Load == nil {
		return results.Epoch{}, os.ErrNotExist
	}
	c, err := s.o.Load(path)
	if err != nil {
		return results.Epoch{}, err
	}
	row := c.Metrics
	row.Epoch = c.Epoch
	return row, nil
}

func (s checkpointStore) CopyWeights(from, to string) error {
	c, err := s.o.Load(from)
	if err != nil {
		return err
	}
	c.Optimizer = nil
	return s.o.Save(to, c)
}

// finish writes TAO's closing status events and returns the result.
func (r *run) finish() (*Result, error) {
	o := r.o
	last := r.history[len(r.history)-1]
	steps := []struct{ status, msg string }{
		{results.StatusRunning, "Training loop complete."},
		{results.StatusRunning, "Final model evaluation in progress."},
	}
	for _, s := range steps {
		if err := r.status.Write(s.status, s.msg); err != nil {
			return nil, err
		}
	}
	r.status.KPI = map[string]any{"validation_loss": last.ValLoss, "validation_accuracy": last.ValAcc}
	if err := r.status.Write(results.StatusRunning, "Model evaluation is complete."); err != nil {
		return nil, err
	}
	if o.HTMLReport {
		if err := r.writeHTMLReport(); err != nil {
			return nil, fmt.Errorf("writing %s: %w", ReportFile, err)
		}
	}
	if err := r.status.Write(results.StatusSuccess, "Training finished successfully."); err != nil {
		return nil, err
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "Total Val Loss: %g\nTotal Val accuracy: %g\n", last.ValLoss, last.ValAcc)
		fmt.Fprintf(o.Log, "Best epoch %d: val_acc %.4f, val_loss %.4f (%s)\n", r.best.Epoch, r.best.ValAcc, r.best.ValLoss, results.BestPath(o.ResultsDir, o.Ext))
	}
	return &Result{History: r.history, Best: r.best, BestPath: results.BestPath(o.ResultsDir, o.Ext), LastPath: results.LastPath(o.ResultsDir, o.Ext)}, nil
}

// fail records err in status.json as TAO does.
func (r *run) fail(err error) {
	msg := err.Error()
	if errors.Is(err, ErrInterrupted) {
		msg = "Training was interrupted"
	}
	r.status.Write(results.StatusFailure, msg)
}
