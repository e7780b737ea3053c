// Package purego owns Bonsai's pure-Go CPU backend for GoMLX: GoMLX's SimpleGo
// backend plus the operations that training a CNN needs and SimpleGo lacks
// (Reverse, Pad, SelectAndScatterMax/Min, the three BatchNorm operations), and a
// convolution lowered to patch extraction plus one matrix multiplication, which
// also serves the convolution gradients.
//
// Importing the package registers the backend under the name "purego":
//
//	import _ "github.com/bonsai-ml/bonsai/engine/purego"
//	backend, err := backends.NewWithConfig("purego")
package purego

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// BackendName is the name the backend is registered under in GoMLX.
const BackendName = "purego"

func init() {
	backends.Register(BackendName, New)
}

// Backend is SimpleGo with the extra operations of this package.
// Buffers and executables are SimpleGo's own.
type Backend struct {
	*simplego.Backend
	directConv bool // use SimpleGo's direct convolution
	noKernels  bool // compose everything from SimpleGo operations
}

var _ backends.Backend = (*Backend)(nil)

// New creates the backend. config is a comma-separated list of options:
// "conv=direct" keeps SimpleGo's direct convolution instead of the lowered one
// (for comparisons); "kernels=off" composes every added operation from SimpleGo
// operations instead of using this package's kernels (slower; for checks);
// every other option is passed on to SimpleGo (e.g. "parallelism=2"). An empty
// string uses the defaults.
func New(config string) (backends.Backend, error) {
	var rest []string
	directConv, noKernels := false, false
	for _, opt := range strings.Split(config, ",") {
		switch opt {
		case "conv=direct":
			directConv = true
		case "kernels=off":
			noKernels = true
		case "conv=lowered", "":
		default:
			rest = append(rest, opt)
		}
	}
	inner, err := simplego.New(strings.Join(rest, ","))
	if err != nil {
		return nil, fmt.Errorf("purego backend: %w", err)
	}
	sg, ok := inner.(*simplego.Backend)
	if !ok {
		return nil, fmt.Errorf("purego backend: SimpleGo returned unexpected type %T", inner)
	}
	return &Backend{Backend: sg, directConv: directConv, noKernels: noKernels}, nil
}

//go:generate go run ./internal/genops

// Name returns the short name of the backend.
func (b *Backend) Name() string { return "purego" }

// String returns the name used to select the backend.
func (b *Backend) String() string { return BackendName }

// Description is a one-line description of the backend.
func (b *Backend) Description() string {
	return "Pure Go CPU backend (SimpleGo with CNN training ops and im2col convolution)"
}

// Capabilities lists SimpleGo's operations plus the ones this package adds.
func (b *Backend) Capabilities() backends.Capabilities {
	return capabilities
}

// Builder creates a builder for a new computation.
func (b *Backend) Builder(name string) backends.Builder {
	return newBuilder(b, name)
}

// addedOps are the operations this package implements on top of SimpleGo.
var addedOps = []backends.OpType{
	backends.OpTypeReverse,
	backends.OpTypePad,
	backends.OpTypeSelectAndScatterMax,
	backends.OpTypeSelectAndScatterMin,
	backends.OpTypeBatchNormForInference,
	backends.OpTypeBatchNormForTraining,
	backends.OpTypeBatchNormGradient,
	backends.OpTypeConvGeneral,
}

var capabilities = func() backends.Capabilities {
	c := simplego.Capabilities.Clone()
	for _, op := range addedOps {
		c.Operations[op] = true
	}
	return c
}()

// config describes the non-default options, for messages.
func (b *Backend) config() string {
	switch {
	case b.directConv:
		return "conv=direct"
	case b.noKernels:
		return "kernels=off"
	}
	return "default"
}
