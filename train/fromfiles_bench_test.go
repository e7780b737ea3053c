package train

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/cputime"
	"github.com/bonsai-ml/bonsai/internal/testutil"
	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
)

// BenchmarkTrainFromFiles compares training throughput end to end from JPEG files (the 397
// hymenoptera photos, mostly 500x375; random crop + flip, 2 loader workers decoding while the
// engine trains) with the same number of steps on one batch already in memory: ResNet-18 (TAO
// form, use_pooling), batch 16, SGD, pure-Go backend, at 64x64 and 224x224, the two interleaved
// epoch by epoch. cache=false decodes every epoch cold; cache=true is a training run as `bonsai
// train` does it (the loader's decoded-image cache on): the first timed epoch decodes and fills
// the cache, the later ones read it. -benchtime Nx runs N epochs. Run by hand:
//
//	go test ./train -run '^$' -bench TrainFromFiles -benchtime 8x
func BenchmarkTrainFromFiles(b *testing.B) {
	dir := testutil.SharedData(b, "hymenoptera")
	var items []loader.Item
	for _, split := range []string{"train", "val"} {
		for label, class := range []string{"ants", "bees"} {
			files, _ := filepath.Glob(filepath.Join(dir, split, class, "*.jp*g"))
			sort.Strings(files)
			for _, f := range files {
				items = append(items, loader.Item{Path: f, Label: label})
			}
		}
	}
	for _, size := range []int{64, 224} {
		for _, cache := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%d/cache=%v", size, cache), func(b *testing.B) { benchFromFiles(b, items, size, cache) })
		}
	}
}

func benchFromFiles(b *testing.B, items []loader.Item, size int, cache bool) {
	const batch = 16
	e, err := engine.Open("go")
	if err != nil {
		b.Fatal(err)
	}
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, size, size}, NumClasses: 2,
		UseBatchNorm: true, UsePooling: true})
	if err != nil {
		b.Fatal(err)
	}
	m, err := e.NewModel(g, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := m.NewTrainer(engine.TrainConfig{Optimizer: "sgd", Momentum: 0.9, BatchSize: batch, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	opts := loader.Options{Height: size, Width: size, Channels: 3, PreprocessMode: "torch",
		RandomCrop: true, HorizontalFlip: true, Seed: 1, Workers: 2, BatchSize: batch, Shuffle: true, DropLast: true}
	warm, err := loader.New(items, 2, opts)
	if err != nil {
		b.Fatal(err)
	}
	// The timed loader starts cold: the untimed epoch below runs on another one.
	opts.Cache = cache
	l, err := loader.New(items, 2, opts)
	if err != nil {
		b.Fatal(err)
	}
	step := func(x, y *model.Tensor) {
		if _, _, err := tr.Step(x, y, 0.01); err != nil {
			b.Fatal(err)
		}
	}
	// One untimed epoch compiles the step; its first batch is the in-memory one.
	var first *loader.Batch
	it := warm.Epoch(0)
	for it.Next() {
		if first == nil {
			bt := it.Batch()
			first = &bt
		}
		step(it.Batch().Images, it.Batch().Labels)
	}
	it.Close()
	if err := it.Err(); err != nil || first == nil {
		b.Fatalf("epoch 0: %v", err)
	}
	b.ResetTimer()
	// Each round is one epoch from files, then as many steps on the in-memory batch: on a
	// shared machine both halves see about the same load.
	var fileImages, steps int
	var fileTime, fileCPU, memTime, memCPU time.Duration
	for i := range b.N {
		start, cpu0 := time.Now(), cputime.Used()
		roundSteps := 0
		it := l.Epoch(i + 1)
		for it.Next() {
			step(it.Batch().Images, it.Batch().Labels)
			fileImages += it.Batch().Images.Shape[0]
			roundSteps++
		}
		it.Close()
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
		fileTime += time.Since(start)
		fileCPU += cputime.Used() - cpu0
		start, cpu0 = time.Now(), cputime.Used()
		for range roundSteps {
			step(first.Images, first.Labels)
		}
		memTime += time.Since(start)
		memCPU += cputime.Used() - cpu0
		steps += roundSteps
	}
	memImages := steps * batch
	b.ReportMetric(float64(fileImages)/fileTime.Seconds(), "files-img/s")
	b.ReportMetric(float64(memImages)/memTime.Seconds(), "memory-img/s")
	b.ReportMetric(float64(fileImages)/fileCPU.Seconds(), "files-img/cpu-s")
	b.ReportMetric(float64(memImages)/memCPU.Seconds(), "memory-img/cpu-s")
	b.ReportMetric((float64(fileImages)/fileTime.Seconds())/(float64(memImages)/memTime.Seconds()), "files/memory")
}
