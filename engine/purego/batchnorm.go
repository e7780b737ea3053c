package purego

import (
	"github.com/gomlx/gomlx/backends"
)

// BatchNormForInference normalizes operand with the given per-feature mean and
// variance: (x - mean) * scale / sqrt(variance + epsilon) + offset.
func (b *Builder) BatchNormForInference(operand, scale, offset, mean, variance backends.Op, epsilon float32, featureAxis int) (backends.Op, error) {
	c := b.composer()
	shape := c.shape(operand)
	c.checkFeatureAxis(shape.Rank(), featureAxis)
	if c.err != nil {
		return nil, wrapOpError("BatchNormForInference", c.err)
	}
	if b.useKernels(shape.DType) {
		out := c.bnInferenceKernel(operand, scale, offset, mean, variance, float64(epsilon), shape, layoutOf(shape, featureAxis))
		if c.err != nil {
			return nil, wrapOpError("BatchNormForInference", c.err)
		}
		return out, nil
	}
	eps := c.scalar(shape.DType, float64(epsilon))
	// factor = scale / sqrt(var + eps); shift = offset - mean * factor.
	factor := c.mul(scale, c.rsqrt(c.add(variance, eps)))
	shift := c.sub(offset, c.mul(mean, factor))
	out := c.add(c.mul(operand, c.broadcastAxis(factor, shape, featureAxis)), c.broadcastAxis(shift, shape, featureAxis))
	if c.err != nil {
		return nil, wrapOpError("BatchNormForInference", c.err)
	}
	return out, nil
}

// BatchNormForTraining normalizes operand with its own per-feature mean and
// (biased) variance, and returns them too.
func (b *Builder) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, featureAxis int) (normalized, batchMean, batchVariance backends.Op, err error) {
	c := b.composer()
	shape := c.shape(operand)
	c.checkFeatureAxis(shape.Rank(), featureAxis)
	if c.err != nil {
		return nil, nil, nil, wrapOpError("BatchNormForTraining", c.err)
	}
	if b.useKernels(shape.DType) {
		normalized, batchMean, batchVariance = c.bnTrainingKernels(operand, scale, offset, float64(epsilon), shape, layoutOf(shape, featureAxis))
		if c.err != nil {
			return nil, nil, nil, wrapOpError("BatchNormForTraining", c.err)
		}
		return normalized, batchMean, batchVariance, nil
	}
	reduceAxes := otherAxes(shape.Rank(), featureAxis)
	invCount := c.scalar(shape.DType, 1/float64(shape.Size()/shape.Dimensions[featureAxis]))
	batchMean = c.mul(c.reduceSum(operand, reduceAxes...), invCount)
	centered := c.sub(operand, c.broadcastAxis(batchMean, shape, featureAxis))
	batchVariance = c.mul(c.reduceSum(c.mul(centered, centered), reduceAxes...), invCount)
	factor := c.mul(scale, c.rsqrt(c.add(batchVariance, c.scalar(shape.DType, float64(epsilon)))))
	normalized = c.add(c.mul(centered, c.broadcastAxis(factor, shape, featureAxis)), c.broadcastAxis(offset, shape, featureAxis))
	if c.err != nil {
		return nil, nil, nil, wrapOpError("BatchNormForTraining", c.err)
	}
	return normalized, batchMean, batchVariance, nil
}

// BatchNormGradient returns the gradients of BatchNormForTraining with respect
// to operand, scale and offset, given the gradient of its output.
func (b *Builder) BatchNormGradient(operand, scale, mean, variance, gradOutput backends.Op, epsilon float32, featureAxis int) (gradOperand, gradScale, gradOffset backends.Op, err error) {
	c := b.composer()
	shape := c.shape(operand)
	c.checkFeatureAxis(shape.Rank(), featureAxis)
	if c.err != nil {
		return nil, nil, nil, wrapOpError("BatchNormGradient", c.err)
	}
	if b.useKernels(shape.DType) {
		gradOperand, gradScale, gradOffset = c.bnGradientKernels(operand, scale, mean, variance, gradOutput, float64(epsilon), shape, layoutOf(shape, featureAxis))
		if c.err != nil {
			return nil, nil, nil, wrapOpError("BatchNormGradient", c.err)
		}
		return gradOperand, gradScale, gradOffset, nil
	}
	reduceAxes := otherAxes(shape.Rank(), featureAxis)
	invCount := c.scalar(shape.DType, 1/float64(shape.Size()/shape.Dimensions[featureAxis]))
	invStd := c.rsqrt(c.add(variance, c.scalar(shape.DType, float64(epsilon))))
	xHat := c.mul(c.sub(operand, c.broadcastAxis(mean, shape, featureAxis)), c.broadcastAxis(invStd, shape, featureAxis))
	gradOffset = c.reduceSum(gradOutput, reduceAxes...)
	gradScale = c.reduceSum(c.mul(gradOutput, xHat), reduceAxes...)
	// dx = scale * invStd * (dy - mean(dy) - xHat * mean(dy * xHat)).
	meanDy := c.broadcastAxis(c.mul(gradOffset, invCount), shape, featureAxis)
	meanDyXHat := c.broadcastAxis(c.mul(gradScale, invCount), shape, featureAxis)
	centeredDy := c.sub(c.sub(gradOutput, meanDy), c.mul(xHat, meanDyXHat))
	gradOperand = c.mul(centeredDy, c.broadcastAxis(c.mul(scale, invStd), shape, featureAxis))
	if c.err != nil {
		return nil, nil, nil, wrapOpError("BatchNormGradient", c.err)
	}
	return gradOperand, gradScale, gradOffset, nil
}

func (c *composer) checkFeatureAxis(rank, featureAxis int) {
	if c.err == nil && (featureAxis < 0 || featureAxis >= rank) {
		c.fail("feature axis %d out of range for operand of rank %d", featureAxis, rank)
	}
}
