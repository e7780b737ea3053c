package results

import (
	"fmt"
	"path/filepath"
)

// WeightsDir is the folder of checkpoints in a results folder.
const WeightsDir = "weights"

// EpochCheckpointPath is TAO's weights/<arch>_NNN<ext> in a results folder.
func EpochCheckpointPath(dir, arch string, epoch int, ext string) string {
	return filepath.Join(dir, WeightsDir, fmt.Sprintf("%s_%03d%s", arch, epoch, ext))
}

// BestPath is the checkpoint of the epoch with the best validation accuracy.
func BestPath(dir, ext string) string { return filepath.Join(dir, WeightsDir, "best"+ext) }

// LastPath is the checkpoint of the latest epoch.
func LastPath(dir, ext string) string { return filepath.Join(dir, WeightsDir, "last"+ext) }
