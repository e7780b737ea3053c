package engine

import (
	"fmt"
	"os"
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

// TrainingPrecision is the precision this engine trains in when requested is asked for, with a
// note when that differs. XLA backends run bf16 (GPUs have bfloat16 units; XLA's CPU plugin
// runs it too). The pure-Go backend would too, but without bfloat16 kernels it runs tens of times
// slower than in float32, so it trains in float32 instead; BONSAI_PUREGO_BF16=1 forces bf16
// there (for tests).
func (e *Engine) TrainingPrecision(requested string) (precision, note string, err error) {
	p, err := normalisePrecision(requested)
	if err != nil {
		return "", "", err
	}
	if p == PrecisionBF16 && !strings.HasPrefix(e.Name, "xla") && os.Getenv(EnvPureGoBF16) != "1" {
		return PrecisionFP32, "bf16 mixed precision (--use_amp / train_config.precision) is for GPUs: the " + e.Name +
			" CPU backend has no bfloat16 kernels, so this run trains in float32", nil
	}
	return p, "", nil
}

// EnvPureGoBF16 set to 1 makes the pure-Go backend train in bf16 when asked (slow; for tests).
const EnvPureGoBF16 = "BONSAI_PUREGO_BF16"
