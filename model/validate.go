package model

import (
	"fmt"
	"math"
	"strings"
)

// MaxInputSide bounds a model's input height and width (8192: a 3x8192x8192 input is 768 MiB
// of float32 per image already), so that a model file cannot make Bonsai allocate without
// bound for one image.
const MaxInputSide = 8192

// knownActivations are the activation names the engine and the exporter implement.
var knownActivations = map[string]bool{
	ActLinear: true, ActReLU: true, ActReLU6: true, ActLeakyReLU: true, ActSigmoid: true,
	ActSwish: true, ActMish: true, ActSoftmax: true, ActTanh: true,
}

// KnownActivation reports whether name is an activation the engine implements.
func KnownActivation(name string) bool { return knownActivations[name] }

// Activations lists the known activation names.
func Activations() []string {
	return []string{ActLinear, ActReLU, ActReLU6, ActLeakyReLU, ActSigmoid, ActSwish, ActMish, ActSoftmax, ActTanh}
}

// Validate checks that the graph is well formed: one input layer first, unique non-empty names
// without '/', known ops and activations, sane attributes, block ids >= -1, wiring and shapes
// consistent, and an existing output layer.
func (g *Graph) Validate() error {
	if len(g.Layers) == 0 {
		return fmt.Errorf("model has no layers")
	}
	if g.Layers[0].Op != OpInput {
		return fmt.Errorf("first layer %q is %s; it must be the input layer", g.Layers[0].Name, g.Layers[0].Op)
	}
	if c, h, w := g.Input[0], g.Input[1], g.Input[2]; c < 1 || h < 1 || w < 1 {
		return fmt.Errorf("input size %d,%d,%d (C,H,W) must be positive", c, h, w)
	}
	if c, h, w := g.Input[0], g.Input[1], g.Input[2]; c > 4 || h > MaxInputSide || w > MaxInputSide {
		return fmt.Errorf("input size %d,%d,%d (C,H,W) is over the limit of 4 channels and %d pixels a side", c, h, w, MaxInputSide)
	}
	for _, l := range g.Layers {
		if err := l.validateAttrs(); err != nil {
			return fmt.Errorf("layer %q (%s): %w", l.Name, l.Op, err)
		}
	}
	if _, err := g.Shapes(); err != nil {
		return err
	}
	return nil
}

// validateAttrs checks what can be checked on one layer without its input shapes.
func (l *Layer) validateAttrs() error {
	switch {
	case l.Name == "":
		return fmt.Errorf("empty name")
	case strings.Contains(l.Name, "/"):
		return fmt.Errorf("name must not contain '/'")
	case l.Block < -1:
		return fmt.Errorf("block id %d must be >= -1", l.Block)
	case l.Op == OpInput && len(l.Inputs) > 0:
		return fmt.Errorf("the input layer takes no inputs")
	case l.Op != OpInput && len(l.Inputs) == 0:
		return fmt.Errorf("no inputs")
	case l.Rate < 0 || l.Rate >= 1:
		return fmt.Errorf("rate %g must be in [0, 1)", l.Rate)
	case l.Groups < 0 || l.DepthMultiplier < 0:
		return fmt.Errorf("groups %d and depth multiplier %d must not be negative", l.Groups, l.DepthMultiplier)
	case l.Filters < 0 || l.Units < 0:
		return fmt.Errorf("filters %d and units %d must not be negative", l.Filters, l.Units)
	case l.Strides[0] < 0 || l.Strides[1] < 0 || l.Dilation[0] < 0 || l.Dilation[1] < 0:
		return fmt.Errorf("strides %v and dilation %v must be positive (0: 1)", l.Strides, l.Dilation)
	case !finite(l.Alpha) || !finite(l.Rate) || !finite(l.Epsilon) || !finite(l.Momentum):
		return fmt.Errorf("alpha %g, rate %g, epsilon %g and momentum %g must be finite", l.Alpha, l.Rate, l.Epsilon, l.Momentum)
	}
	switch l.Op {
	case OpConv:
		if l.Filters < 1 {
			return fmt.Errorf("filters %d must be at least 1", l.Filters)
		}
	case OpDense:
		if l.Units < 1 {
			return fmt.Errorf("units %d must be at least 1", l.Units)
		}
	}
	for _, p := range l.Pad {
		if p < 0 {
			return fmt.Errorf("padding %v must not be negative", l.Pad)
		}
	}
	switch l.Op {
	case OpActivation:
		if !KnownActivation(l.Activation) {
			return fmt.Errorf("unknown activation %q (known: %s)", l.Activation, strings.Join(Activations(), ", "))
		}
	case OpBatchNorm:
		if l.Epsilon <= 0 || l.Momentum < 0 || l.Momentum >= 1 {
			return fmt.Errorf("epsilon %g must be > 0 and momentum %g in [0, 1)", l.Epsilon, l.Momentum)
		}
	}
	return nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
