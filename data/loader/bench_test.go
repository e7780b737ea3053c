package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/cputime"
)

// hymenopteraItems lists the JPEGs (*.jpg, *.jpeg: 397 files) of
// ../shared/data/hymenoptera/{train,val}/{ants,bees}; the set's one GIF is left out.
func hymenopteraItems(b *testing.B) []Item {
	root := filepath.Join("..", "..", "..", "shared", "data", "hymenoptera")
	var items []Item
	for _, split := range []string{"train", "val"} {
		for label, class := range []string{"ants", "bees"} {
			files, _ := filepath.Glob(filepath.Join(root, split, class, "*.jpg"))
			jpeg, _ := filepath.Glob(filepath.Join(root, split, class, "*.jpeg"))
			files = append(files, jpeg...)
			sort.Strings(files)
			for _, f := range files {
				items = append(items, Item{Path: f, Label: label})
			}
		}
	}
	if len(items) == 0 {
		b.Skipf("no JPEGs under %s (shared test data absent)", root)
	}
	return items
}

// BenchmarkLoaderHymenoptera measures the loader end to end from JPEG files: 224x224 (and 64x64,
// where JPEGs decode at a reduced scale), random crop + flip, torch mode, bilinear, batches of
// 32, over train+val (397 JPEGs) per iteration. "cold" epochs decode every file; "cached" epochs
// run after a first epoch filled the cache.
//
//	go test ./data/loader -run '^$' -bench LoaderHymenoptera -benchtime 3x
func BenchmarkLoaderHymenoptera(b *testing.B) {
	items := hymenopteraItems(b)
	for _, size := range []int{224, 64} {
		for _, cache := range []bool{false, true} {
			for _, workers := range []int{1, 2} {
				benchLoader(b, items, size, workers, cache)
			}
		}
	}
}

func benchLoader(b *testing.B, items []Item, size, workers int, cache bool) {
	name := fmt.Sprintf("size=%d/workers=%d/cache=%v", size, workers, cache)
	b.Run(name, func(b *testing.B) {
		l, err := New(items, 2, Options{Height: size, Width: size, Channels: 3,
			PreprocessMode: "torch", RandomCrop: true, HorizontalFlip: true, Seed: 1,
			Workers: workers, BatchSize: 32, Shuffle: true, Cache: cache})
		if err != nil {
			b.Fatal(err)
		}
		if cache {
			runEpoch(b, l, -1) // fill the cache, untimed
		}
		b.ResetTimer()
		cpu0 := cputime.Used().Seconds()
		images := 0
		for i := 0; i < b.N; i++ {
			images += runEpoch(b, l, i)
		}
		b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		b.ReportMetric(float64(images)/(cputime.Used().Seconds()-cpu0), "images/cpu-s")
		if cache {
			b.ReportMetric(float64(l.Stats().CacheBytes)/(1<<20), "cache-MiB")
		}
	})
}

// BenchmarkDecodeHymenoptera is Go's image/jpeg decode alone (plus conversion to packed RGB),
// one goroutine, for comparison with PIL's decode in scripts/bench_pil.py.
func BenchmarkDecodeHymenoptera(b *testing.B) {
	items := hymenopteraItems(b)
	files := make([][]byte, len(items))
	for i, it := range items {
		data, err := os.ReadFile(it.Path)
		if err != nil {
			b.Fatal(err)
		}
		files[i] = data
	}
	b.ResetTimer()
	cpu0 := cputime.Used().Seconds()
	for i := 0; i < b.N; i++ {
		for _, data := range files {
			if _, err := Decode(data, 3); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(files))/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(b.N*len(files))/(cputime.Used().Seconds()-cpu0), "images/cpu-s")
}

func runEpoch(b *testing.B, l *Loader, e int) int {
	it := l.Epoch(e)
	defer it.Close()
	n := 0
	for it.Next() {
		n += it.Batch().Images.Shape[0]
	}
	if err := it.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
