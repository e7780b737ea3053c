package spec

import (
	"slices"
	"strings"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// TAO's templates ignore some model_config values. Bonsai honours them (except the head
// dropouts TAO hard-codes, which Bonsai copies) and says so once, as a warning, so that a
// user comparing with TAO knows why the networks differ.

// taoReLUArchs always build ReLU in TAO, whatever activation_type says.
var taoReLUArchs = []string{"resnet", "vgg", "googlenet", "mobilenet_v1", "mobilenet_v2"}

// taoIgnoredValues notes the activation and dropout settings TAO would not apply.
func (c *checker) taoIgnoredValues(mc *specpb.ModelConfig) {
	arch := mc.GetArch()
	p := "model_config."
	if act := mc.GetActivation(); act != nil {
		if note := taoActivationNote(arch, strings.ToLower(act.GetActivationType()), act.GetActivationParameters()); note != "" {
			c.warnf(p+"activation", "%s", note)
		}
	}
	if d := mc.GetDropout(); d > 0 && arch != "vgg" && arch != "" {
		c.warnf(p+"dropout", "TAO's %s does not use model_config.dropout (only vgg's retain_head head does); Bonsai ignores it too", arch)
	}
}

// taoActivationNote says how TAO's template for arch treats activation_type typ with params,
// when that differs from what Bonsai builds; "" when they agree.
func taoActivationNote(arch, typ string, params map[string]float32) string {
	leaky := typ == "leaky_relu" || typ == "lrelu" || typ == "leakyrelu"
	alpha, hasAlpha := params["alpha"]
	switch {
	case slices.Contains(taoReLUArchs, arch) && typ != "relu":
		return "TAO builds " + arch + " with ReLU whatever activation_type says; Bonsai uses " + typ + " as written"
	case arch == "darknet" && (!leaky || (hasAlpha && alpha != 0.1)):
		return "TAO builds darknet with LeakyReLU(0.1) whatever activation_type says; Bonsai uses " + typ + " as written"
	case (arch == "cspdarknet" || arch == "cspdarknet_tiny") && len(params) > 0:
		return "TAO's " + arch + " ignores activation_parameters (LeakyReLU alpha is 0.1); Bonsai applies them"
	case arch == "efficientnet_b0" && typ != "swish" && typ != "silu":
		return "TAO's efficientnet_b0 ignores activation_type (a keyword typo in its template) and uses swish; Bonsai uses " + typ + " as written"
	}
	return ""
}
