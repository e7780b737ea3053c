package train

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/internal/sysmem"
	"github.com/bonsai-ml/bonsai/spec"
)

// ChooseDevices maps TAO's --gpus N and --gpu_index ids to the devices a run trains on, checked
// against the engine's: nil (device 0, the plain single-device program) for one device with no
// other index than 0, else the ids (0..N-1 when no index is given), which train data parallel.
func ChooseDevices(eng *engine.Engine, gpus int, index []int) ([]int, error) {
	have := eng.Devices()
	gpus = max(gpus, 1)
	if len(index) > 0 && len(index) != gpus {
		return nil, fmt.Errorf("--gpu_index lists %d ids but --gpus is %d: give one id per device", len(index), gpus)
	}
	if gpus > len(have) {
		return nil, fmt.Errorf("--gpus %d: the %s backend has only %d device(s) (%v); use --gpus %d or a machine with %d GPUs",
			gpus, eng.Name, len(have), have, len(have), gpus)
	}
	for _, i := range index {
		if i < 0 || i >= len(have) {
			return nil, fmt.Errorf("--gpu_index %d: the %s backend has %d device(s) (ids 0..%d)", i, eng.Name, len(have), len(have)-1)
		}
	}
	if gpus == 1 && (len(index) == 0 || index[0] == 0) {
		return nil, nil
	}
	if len(index) > 0 {
		return index, nil
	}
	ids := make([]int, gpus)
	for i := range ids {
		ids[i] = i
	}
	return ids, nil
}

// dataParallel sets up data-parallel training over ids (nil: one device) in the training
// configuration and the training loader options: a loader batch holds batch_size_per_gpu images
// per device, and an epoch's last, incomplete batch is dropped (it would not split evenly over
// the devices); train_config.sync_bn chooses synchronised batch norm. It returns the number of
// devices.
func dataParallel(e *spec.Experiment, ids []int, cfg *engine.TrainConfig, lo *loader.Options) int {
	if len(ids) == 0 {
		return 1
	}
	cfg.Devices = ids
	cfg.SyncBN = e.Proto.GetTrainConfig().GetSyncBn()
	lo.BatchSize *= len(ids)
	lo.DropLast = true
	return len(ids)
}

// feedGPU sizes the training loader for a GPU, which outruns the host: decoding on every core
// whatever train_config.n_workers says (TAO's worker count is for Keras' processes), and a
// decoded-image cache of a quarter of the available memory (at least the default 1 GiB), so
// that from the second epoch on most images skip decoding. CPU backends keep the spec's
// values: there the decoders share the cores with the training step.
func feedGPU(eng *engine.Engine, lo *loader.Options) {
	if !strings.HasPrefix(eng.Name, "xla:cuda") {
		return
	}
	lo.Workers = max(lo.Workers, runtime.NumCPU())
	if avail, ok := sysmem.Available(); ok {
		lo.CacheMaxBytes = max(lo.CacheMaxBytes, avail/4)
	}
}
