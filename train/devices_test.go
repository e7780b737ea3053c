package train

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/spec"
	"github.com/gomlx/gomlx/backends"
)

// fourGPUs is a backend that says it has four devices.
type fourGPUs struct{ backends.Backend }

func (fourGPUs) NumDevices() int                             { return 4 }
func (fourGPUs) DeviceDescription(backends.DeviceNum) string { return "gpu" }

func TestChooseDevices(t *testing.T) {
	cpu := openEngine(t)
	gpus := &engine.Engine{Backend: fourGPUs{cpu.Backend}, Name: "xla:cuda"}
	for _, c := range []struct {
		eng   *engine.Engine
		gpus  int
		index []int
		want  []int
		err   string
	}{
		{cpu, 1, nil, nil, ""},
		{cpu, 1, []int{0}, nil, ""},
		{cpu, 2, nil, nil, "--gpus 2: the purego backend has only 1 device(s)"},
		{cpu, 1, []int{1}, nil, "--gpu_index 1: the purego backend has 1 device(s) (ids 0..0)"},
		{gpus, 1, []int{2}, []int{2}, ""},
		{gpus, 2, nil, []int{0, 1}, ""},
		{gpus, 2, []int{0, 3}, []int{0, 3}, ""},
		{gpus, 2, []int{3}, nil, "--gpu_index lists 1 ids but --gpus is 2"},
		{gpus, 8, nil, nil, "--gpus 8: the xla:cuda backend has only 4 device(s)"},
	} {
		got, err := ChooseDevices(c.eng, c.gpus, c.index)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s --gpus %d --gpu_index %v: err %v, want %q", c.eng.Name, c.gpus, c.index, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s --gpus %d --gpu_index %v = %v, %v; want %v", c.eng.Name, c.gpus, c.index, got, err, c.want)
		}
	}
}

func TestDataParallelOptions(t *testing.T) {
	e, err := spec.Parse("spec.cfg", []byte(`train_config { batch_size_per_gpu: 16 sync_bn: true }`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]int{nil, {0, 1}} {
		var cfg engine.TrainConfig
		lo := loader.Options{BatchSize: 16}
		n := dataParallel(e, ids, &cfg, &lo)
		if len(ids) == 0 {
			if n != 1 || cfg.Devices != nil || cfg.SyncBN || lo.BatchSize != 16 || lo.DropLast {
				t.Errorf("one device: n %d, cfg %+v, loader %+v", n, cfg, lo)
			}
			continue
		}
		if n != 2 || !slices.Equal(cfg.Devices, ids) || !cfg.SyncBN || lo.BatchSize != 32 || !lo.DropLast {
			t.Errorf("devices %v: n %d, cfg devices %v sync %v, loader batch %d drop %v", ids, n, cfg.Devices, cfg.SyncBN, lo.BatchSize, lo.DropLast)
		}
	}
}

func TestFeedGPU(t *testing.T) {
	cpu := openEngine(t)
	lo := loader.Options{Workers: 2, CacheMaxBytes: 1 << 30}
	feedGPU(cpu, &lo)
	if lo.Workers != 2 || lo.CacheMaxBytes != 1<<30 {
		t.Errorf("CPU backend: loader options changed to %+v", lo)
	}
	feedGPU(&engine.Engine{Backend: cpu.Backend, Name: "xla:cuda"}, &lo)
	if lo.Workers != max(2, runtime.NumCPU()) || lo.CacheMaxBytes < 1<<30 {
		t.Errorf("GPU backend: workers %d, cache %d", lo.Workers, lo.CacheMaxBytes)
	}
}
