package cli

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/engine/purego"
	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

func init() {
	Register(&Command{Path: "bench", Short: "measure training and inference images/second of an architecture on a backend", Run: runBench})
}

// benchConfig is what bonsai bench measures.
type benchConfig struct {
	backend, arch        string
	nLayers, batch, size int
	channels, classes    int
	steps, warmup        int
	skipTrain, skipInfer bool
	cpuProfile           string
	opTimes              bool
	precision            string
	gpus                 int
	spmd                 bool
}

func runBench(env *Env, args []string) error {
	fs := NewFlagSet(env, "bench", "[--backend X] [--arch resnet --n_layers 18] [--batch 16] [--size 64] [--steps N] [--precision bf16] [--gpus N | --spmd]\n\n"+
		"Training steps on one synthetic batch already on the device(s) (Trainer.Stage once, then StepStaged),\n"+
		"as PyTorch benchmarks do; inference on the same batch from host memory.")
	var c benchConfig
	BackendFlag(fs, &c.backend)
	fs.StringVar(&c.arch, "arch", "resnet", "architecture (TAO arch name)")
	fs.IntVar(&c.nLayers, "n_layers", 18, "depth")
	fs.IntVar(&c.batch, "batch", 16, "batch size")
	fs.IntVar(&c.size, "size", 64, "image height and width")
	fs.IntVar(&c.channels, "channels", 3, "image channels (1 or 3)")
	fs.IntVar(&c.classes, "classes", 10, "number of classes")
	fs.IntVar(&c.steps, "steps", 10, "timed steps (after the warm-up)")
	fs.IntVar(&c.warmup, "warmup", 1, "untimed steps after the first (compile) step")
	fs.BoolVar(&c.skipTrain, "no_train", false, "measure inference only")
	fs.BoolVar(&c.skipInfer, "no_infer", false, "measure training only")
	fs.StringVar(&c.precision, "precision", "fp32", "training precision: fp32, or bf16 (mixed precision; XLA backends)")
	fs.IntVar(&c.gpus, "gpus", 1, "train data parallel on devices 0..N-1, --batch images on each")
	fs.BoolVar(&c.spmd, "spmd", false, "with --gpus 1: run the data-parallel (SPMD) training program on one device")
	fs.BoolVar(&c.opTimes, "op_times", false, "after the timed steps, list the kernels of the go backend that took the most time, per step")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed steps (pprof format) to this file; with both training and inference, FILE.train and FILE.infer")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if c.batch < 1 || c.steps < 1 || c.size < 16 || c.warmup < 0 || c.gpus < 1 {
		return Usagef("--batch, --steps and --gpus must be positive, --size at least 16")
	}
	return bench(env.Stdout, c)
}

func bench(w io.Writer, c benchConfig) error {
	g, err := arch.Build(arch.Config{Arch: c.arch, NLayers: c.nLayers, InputSize: [3]int{c.channels, c.size, c.size},
		NumClasses: c.classes, UseBatchNorm: true, UsePooling: true})
	if err != nil {
		return err
	}
	e, err := engine.Open(c.backend)
	if err != nil {
		return err
	}
	m, err := e.NewModel(g, nil, 1)
	if err != nil {
		return err
	}
	total, _, _ := g.ParamCount()
	_, cost, err := g.Costs()
	if err != nil {
		return err
	}
	name := g.Arch
	if g.NLayers > 0 {
		name += strconv.Itoa(g.NLayers)
	}
	fmt.Fprintf(w, "bonsai bench: %s, %dx%dx%d, batch %d, %d classes, %.2fM params, %d MACs per image, backend %s (%s)\n",
		name, c.size, c.size, c.channels, c.batch, c.classes, float64(total)/1e6, cost.MACs, e.Name, e.Backend.Description())
	if !c.skipTrain {
		if err := benchTrain(w, e, m, c); err != nil {
			return err
		}
	}
	if !c.skipInfer {
		images, _ := syntheticBatch(c, c.batch)
		return benchInfer(w, m, images, c)
	}
	return nil
}

// syntheticBatch is a batch of n uniform random images in [-1, 1] with random one-hot labels.
func syntheticBatch(c benchConfig, n int) (*model.Tensor, *model.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := model.NewTensor(n, c.size, c.size, c.channels)
	for i := range x.Data {
		x.Data[i] = rng.Float32()*2 - 1
	}
	y := model.NewTensor(n, c.classes)
	for i := range n {
		y.Data[i*c.classes+rng.IntN(c.classes)] = 1
	}
	return x, y
}

// benchTrain times training steps (SGD with momentum) on one batch staged on the device(s):
// --batch images per device.
func benchTrain(w io.Writer, e *engine.Engine, m *engine.Model, c benchConfig) error {
	cfg := engine.TrainConfig{Optimizer: "sgd", Momentum: 0.9, BatchSize: c.batch, Seed: 1}
	precision, note, err := e.TrainingPrecision(c.precision)
	if err != nil {
		return UsageError{err}
	}
	if note != "" && c.precision != precision {
		fmt.Fprintf(w, "note: bench runs %s as asked (the training command would use %s: %s)\n", c.precision, precision, note)
	}
	cfg.Precision = c.precision
	if c.gpus > 1 || c.spmd {
		for i := range c.gpus {
			cfg.Devices = append(cfg.Devices, i)
		}
	}
	tr, err := m.NewTrainer(cfg)
	if err != nil {
		return err
	}
	x, y := syntheticBatch(c, c.batch*c.gpus)
	staged, err := tr.Stage(x, y)
	if err != nil {
		return err
	}
	defer staged.Release()
	program := "plain program"
	if cfg.Devices != nil {
		program = "SPMD program"
	}
	fmt.Fprintf(w, "train: %s, %d device(s), %s, %d images per step\n", c.precision, c.gpus, program, c.batch*c.gpus)
	step := func() error {
		_, _, err := tr.StepStaged(staged, 0.01)
		return err
	}
	return timeIt(w, "train", withBatch(c, c.batch*c.gpus), step)
}

// withBatch is c measuring n images per step.
func withBatch(c benchConfig, n int) benchConfig {
	c.batch = n
	return c
}

func benchInfer(w io.Writer, m *engine.Model, x *model.Tensor, c benchConfig) error {
	m.SetPredictBatch(c.batch)
	step := func() error {
		_, err := m.Predict(x)
		return err
	}
	return timeIt(w, "infer", c, step)
}

// timeIt runs fn once (compile + first run), warm-up times, then steps timed times.
func timeIt(w io.Writer, what string, c benchConfig, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	first := time.Since(start)
	for range c.warmup {
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	stop, err := startProfile(c, what)
	if err != nil {
		return err
	}
	if c.opTimes {
		purego.StartOpTimes()
	}
	start, cpu0 := time.Now(), cputime.Used().Seconds()
	for range c.steps {
		if err := fn(); err != nil {
			stop()
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	d, cpu := time.Since(start), cputime.Used().Seconds()-cpu0
	stop()
	imgs := float64(c.steps * c.batch)
	fmt.Fprintf(w, "%s: first step %.2f s (compile + run); %d steps in %.2f s: %.1f img/s (%.1f ms/step); %.1f img per CPU-second\n",
		what, first.Seconds(), c.steps, d.Seconds(), imgs/d.Seconds(), d.Seconds()*1000/float64(c.steps), imgs/cpu)
	if c.opTimes {
		printOpTimes(w, what, purego.StopOpTimes(), c.steps, d)
	}
	return nil
}

// printOpTimes lists the kernels that took the most wall time per step, with their share of
// the step and the cores they kept busy (kernels of the go backend only).
func printOpTimes(w io.Writer, what string, times []purego.OpTime, steps int, total time.Duration) {
	const shown = 25
	if len(times) == 0 {
		fmt.Fprintf(w, "%s: --op_times: no kernels timed (the go backend times its kernels; this run used another)\n", what)
		return
	}
	var kernels, cpu time.Duration
	for _, t := range times {
		kernels += t.Time
		cpu += t.CPU
	}
	perStep := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(steps) }
	fmt.Fprintf(w, "%s: kernels taking the most time per step (of %.1f ms; kernels %.1f ms on %.2f cores on average, %.1f ms between them):\n",
		what, perStep(total), perStep(kernels), cores(cpu, kernels), perStep(total-kernels))
	for _, t := range times[:min(shown, len(times))] {
		fmt.Fprintf(w, "  %8.2f ms %5.1f%% %5.2f cores  %s\n", perStep(t.Time), 100*t.Time.Seconds()/total.Seconds(), cores(t.CPU, t.Time), t.Name)
	}
	if len(times) > shown {
		fmt.Fprintf(w, "  (%d more)\n", len(times)-shown)
	}
}

// cores is cpu/wall: how many cores a kernel kept busy on average.
func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds()
}

// startProfile starts the CPU profile of --cpuprofile for the timed steps of what ("train" or
// "infer"); the returned function stops it. The file is FILE, or FILE.what when both are measured.
func startProfile(c benchConfig, what string) (stop func(), err error) {
	if c.cpuProfile == "" {
		return func() {}, nil
	}
	path := c.cpuProfile
	if !c.skipTrain && !c.skipInfer {
		path += "." + what
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
