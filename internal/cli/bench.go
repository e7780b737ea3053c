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
}

func runBench(env *Env, args []string) error {
	fs := NewFlagSet(env, "bench", "[--backend X] [--arch resnet --n_layers 18] [--batch 16] [--size 64] [--steps N]")
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
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed steps (pprof format) to this file; with both training and inference, FILE.train and FILE.infer")
	if _, err := Parse(fs, args, false); err != nil {
		return err
	}
	if c.batch < 1 || c.steps < 1 || c.size < 16 || c.warmup < 0 {
		return Usagef("--batch and --steps must be positive, --size at least 16")
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
	images, labels := syntheticBatch(c)
	if !c.skipTrain {
		if err := benchTrain(w, m, images, labels, c); err != nil {
			return err
		}
	}
	if !c.skipInfer {
		return benchInfer(w, m, images, c)
	}
	return nil
}

// syntheticBatch is a batch of uniform random images in [-1, 1] with random one-hot labels.
func syntheticBatch(c benchConfig) (*model.Tensor, *model.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := model.NewTensor(c.batch, c.size, c.size, c.channels)
	for i := range x.Data {
		x.Data[i] = rng.Float32()*2 - 1
	}
	y := model.NewTensor(c.batch, c.classes)
	for i := range c.batch {
		y.Data[i*c.classes+rng.IntN(c.classes)] = 1
	}
	return x, y
}

func benchTrain(w io.Writer, m *engine.Model, x, y *model.Tensor, c benchConfig) error {
	tr, err := m.NewTrainer(engine.TrainConfig{Optimizer: "sgd", Momentum: 0.9, BatchSize: c.batch, Seed: 1})
	if err != nil {
		return err
	}
	step := func() error {
		_, _, err := tr.Step(x, y, 0.01)
		return err
	}
	return timeIt(w, "train", c, step)
}

func benchInfer(w io.Writer, m *engine.Model, x *model.Tensor, c benchConfig) error {
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
	return nil
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
