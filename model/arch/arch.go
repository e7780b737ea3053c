// Package arch owns the architecture builders: one file per network family (resnet.go, ...)
// and a registry keyed by TAO's arch name and n_layers. A builder turns TAO's model_config
// options into a model.Graph with TAO's layer names, so that freeze_blocks, pruning's excluded
// layers and reports mean what TAO users expect.
package arch

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/spec"
)

// Config carries TAO's model_config options (reference section 1.2). Zero values take TAO's
// effective defaults as package spec defines them: NLayers 0 -> spec.DefaultDepth (18 for
// resnet), BNMomentum 0 -> spec.DefaultBNMomentum, BNEpsilon 0 -> spec.DefaultBNEpsilon,
// Activation "" -> the family's own (relu for resnet).
type Config struct {
	Arch       string // TAO arch name: resnet, vgg, mobilenet_v1, ...
	NLayers    int    // depth where the family has several (resnet 10/18/34/50/101/152/200)
	InputSize  [3]int // C, H, W as TAO's input_image_size; C is 1 or 3, H and W >= 16
	NumClasses int    // units of the predictions layer

	UseBatchNorm   bool
	UseBias        bool // conv biases (the dense head always has a bias, as in TAO)
	UsePooling     bool // resnet: maxpool after conv1 and TAO's stride rules
	AllProjections bool // 1x1 conv on every shortcut
	FreezeBN       bool // batch norm runs in inference mode while training
	FreezeBlocks   []int
	Dropout        float32 // rate of the dropout in vgg's retain_head head; unused elsewhere, as in TAO (mobilenet_v1's head dropout is 0)
	RetainHead     bool    // keep the template's own head instead of avg_pool/flatten/predictions

	Activation       string             // activation_config.activation_type
	ActivationParams map[string]float32 // activation_config.activation_parameters (e.g. alpha)
	BNMomentum       float32            // Keras convention: moving = m*moving + (1-m)*batch
	BNEpsilon        float32
	// WidthMultiplier is MobileNet's alpha (0 -> 1).
	WidthMultiplier float32
	// Padding is the graph's padding mode: model.PaddingTF ("" too: TensorFlow's SAME),
	// model.PaddingTAO (TAO's symmetric SAME, average pools counting the padding) or
	// model.PaddingKeras (TensorFlow's SAME; MobileNets pad strided layers as Keras does).
	Padding string
}

// family is one registered network family. Its valid depths are spec.ArchDepths[name] (nil
// when the family has no depth choice): spec owns TAO's list of architectures and depths,
// and a test checks that every one of them is registered here.
type family struct {
	maxBlock int // highest freeze_blocks id
	build    func(cfg Config) (*model.Graph, error)
}

var families = map[string]family{}

func register(name string, f family) { families[name] = f }

// Archs lists the registered arch names with their depths, e.g. "resnet (10, 18, 34, 50, 101)".
func Archs() []string {
	var out []string
	for name := range families {
		s := name
		if depths := spec.ArchDepths[name]; len(depths) > 0 {
			d := make([]string, len(depths))
			for i, n := range depths {
				d[i] = strconv.Itoa(n)
			}
			s += " (" + strings.Join(d, ", ") + ")"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Depths returns the valid n_layers of an arch (nil if the arch has no depth choice or is unknown).
func Depths(arch string) []int { return slices.Clone(spec.ArchDepths[arch]) }

// Build builds the model graph for cfg and validates it.
func Build(cfg Config) (*model.Graph, error) {
	f, ok := families[cfg.Arch]
	if !ok {
		return nil, fmt.Errorf("unknown arch %q; valid: %s", cfg.Arch, strings.Join(Archs(), "; "))
	}
	if depths := spec.ArchDepths[cfg.Arch]; len(depths) > 0 {
		if cfg.NLayers == 0 {
			cfg.NLayers = spec.DefaultDepth(cfg.Arch)
		}
		if !slices.Contains(depths, cfg.NLayers) {
			return nil, fmt.Errorf("%s has no n_layers %d; valid: %v", cfg.Arch, cfg.NLayers, depths)
		}
	} else {
		cfg.NLayers = 0
	}
	if err := checkConfig(&cfg, f.maxBlock); err != nil {
		return nil, fmt.Errorf("model_config for %s: %w", cfg.Arch, err)
	}
	g, err := f.build(cfg)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", archName(cfg), err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("building %s at input_image_size %d,%d,%d: %w", archName(cfg), cfg.InputSize[0], cfg.InputSize[1], cfg.InputSize[2], err)
	}
	return g, nil
}

// archName is the arch with its depth where it has one: resnet18, mobilenet_v2.
func archName(cfg Config) string {
	if cfg.NLayers > 0 {
		return cfg.Arch + strconv.Itoa(cfg.NLayers)
	}
	return cfg.Arch
}

// checkConfig validates the options shared by all families and fills defaults.
func checkConfig(cfg *Config, maxBlock int) error {
	c, h, w := cfg.InputSize[0], cfg.InputSize[1], cfg.InputSize[2]
	if c != 1 && c != 3 {
		return fmt.Errorf("input_image_size %d,%d,%d: channels must be 1 or 3", c, h, w)
	}
	if h < 16 || w < 16 {
		return fmt.Errorf("input_image_size %d,%d,%d: height and width must be at least 16", c, h, w)
	}
	if cfg.NumClasses < 1 {
		return fmt.Errorf("number of classes %d must be at least 1", cfg.NumClasses)
	}
	for _, b := range cfg.FreezeBlocks {
		if b < 0 || b > maxBlock {
			return fmt.Errorf("freeze_blocks id %d out of range: valid ids are 0..%d", b, maxBlock)
		}
	}
	if cfg.Dropout < 0 || cfg.Dropout >= 1 {
		return fmt.Errorf("dropout %g must be in [0, 1)", cfg.Dropout)
	}
	if cfg.BNMomentum == 0 {
		cfg.BNMomentum = spec.DefaultBNMomentum
	}
	if cfg.BNEpsilon == 0 {
		cfg.BNEpsilon = spec.DefaultBNEpsilon
	}
	if cfg.BNMomentum < 0 || cfg.BNMomentum >= 1 || cfg.BNEpsilon < 0 {
		return fmt.Errorf("batch_norm_config momentum %g must be in [0, 1) and epsilon %g positive", cfg.BNMomentum, cfg.BNEpsilon)
	}
	switch cfg.Padding {
	case "", model.PaddingTF, model.PaddingTAO, model.PaddingKeras:
	default:
		return fmt.Errorf("padding mode %q: want %q, %q or %q", cfg.Padding, model.PaddingTF, model.PaddingTAO, model.PaddingKeras)
	}
	if cfg.WidthMultiplier == 0 {
		cfg.WidthMultiplier = 1
	}
	if cfg.WidthMultiplier < 0 {
		return fmt.Errorf("width multiplier %g must be positive", cfg.WidthMultiplier)
	}
	return nil
}

// activation resolves TAO's activation_type (with aliases) to a model activation and alpha.
func activation(cfg Config, def string) (string, float32, error) {
	name := strings.ToLower(cfg.Activation)
	switch name {
	case "":
		name = def
	case "lrelu", "leakyrelu":
		name = model.ActLeakyReLU
	case "silu":
		name = model.ActSwish
	}
	if !model.KnownActivation(name) {
		return "", 0, fmt.Errorf("unknown activation_type %q (known: %s)", cfg.Activation, strings.Join(model.Activations(), ", "))
	}
	var alpha float32
	if name == model.ActLeakyReLU {
		alpha = 0.1
		if a, ok := cfg.ActivationParams["alpha"]; ok {
			alpha = a
		}
	}
	return name, alpha, nil
}
