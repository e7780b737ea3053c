package train

import (
	"slices"

	"github.com/bonsai-ml/bonsai/model"
)

// ApplyModelConfig re-applies model_config's training options to a graph that comes from a
// file (a pruned model being retrained): the convolutions of freeze_blocks are frozen, every
// batch norm runs in inference mode when freezeBN is set, and batch-norm momentum and epsilon
// take the given values when they are non-zero.
func ApplyModelConfig(g *model.Graph, freezeBlocks []int, freezeBN bool, bnMomentum, bnEpsilon float32) {
	for _, l := range g.Layers {
		switch l.Op {
		case model.OpConv:
			l.Frozen = slices.Contains(freezeBlocks, l.Block)
		case model.OpBatchNorm:
			l.FrozenBN = freezeBN
			if bnMomentum != 0 {
				l.Momentum = bnMomentum
			}
			if bnEpsilon != 0 {
				l.Epsilon = bnEpsilon
			}
		}
	}
}
