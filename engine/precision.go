package engine

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Training precisions (TrainConfig.Precision).
const (
	// PrecisionFP32 computes everything in float32 (the default).
	PrecisionFP32 = "fp32"
	// PrecisionBF16 is mixed precision: convolutions, dense layers, activations and their
	// gradients in bfloat16; master weights, batch-norm statistics (batch and moving), gamma and
	// beta, the loss, the reductions and the optimizer state in float32. It is what TAO's
	// --use_amp asks for, with bfloat16 in place of float16 (no loss scaling needed).
	PrecisionBF16 = "bf16"
)

// normalisePrecision maps the accepted spellings to PrecisionFP32 or PrecisionBF16.
func normalisePrecision(p string) (string, error) {
	switch strings.ToLower(p) {
	case "", "fp32", "float32":
		return PrecisionFP32, nil
	case "bf16", "bfloat16", "amp", "mixed":
		return PrecisionBF16, nil
	}
	return "", fmt.Errorf("precision %q: want fp32 or bf16", p)
}

// computeDType is the activations' dtype for a normalised precision.
func computeDType(p string) dtypes.DType {
	if p == PrecisionBF16 {
		return dtypes.BFloat16
	}
	return dtypes.Float32
}
