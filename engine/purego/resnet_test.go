package purego

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// resnetConfig describes a torchvision-style ResNet with basic blocks on NHWC images.
type resnetConfig struct {
	stemKernel, stemStride int   // stem convolution (7/2 for ResNet-18)
	blocks, widths         []int // basic blocks and channels per stage
	classes                int
}

var resnet18 = resnetConfig{stemKernel: 7, stemStride: 2, blocks: []int{2, 2, 2, 2}, widths: []int{64, 128, 256, 512}, classes: 10}

// model returns the logits for images x [N, H, W, 3].
func (rc resnetConfig) model(ctx *context.Context, x *Node) *Node {
	x = convBNReLU(ctx.In("stem"), x, rc.widths[0], rc.stemKernel, rc.stemStride, true)
	x = MaxPool(x).Window(3).Strides(2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
	for stage, n := range rc.blocks {
		for block := range n {
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			x = basicBlock(ctx.In(fmt.Sprintf("stage%d_block%d", stage, block)), x, rc.widths[stage], stride)
		}
	}
	x = ReduceMean(x, 1, 2)
	return layers.Dense(ctx.In("fc"), x, true, rc.classes)
}

func conv(ctx *context.Context, x *Node, channels, kernel, stride int) *Node {
	return layers.Convolution(ctx, x).Channels(channels).KernelSize(kernel).Strides(stride).PadSame().UseBias(false).Done()
}

func convBNReLU(ctx *context.Context, x *Node, channels, kernel, stride int, relu bool) *Node {
	x = conv(ctx.In("conv"), x, channels, kernel, stride)
	x = batchnorm.New(ctx.In("bn"), x, -1).Done()
	if relu {
		x = activations.Relu(x)
	}
	return x
}

func basicBlock(ctx *context.Context, x *Node, channels, stride int) *Node {
	shortcut := x
	if stride != 1 || x.Shape().Dimensions[3] != channels {
		shortcut = convBNReLU(ctx.In("down"), x, channels, 1, stride, false)
	}
	y := convBNReLU(ctx.In("a"), x, channels, 3, stride, true)
	y = convBNReLU(ctx.In("b"), y, channels, 3, 1, false)
	return activations.Relu(Add(y, shortcut))
}

// newResNetTrainer returns a trainer of rc with plain SGD.
func newResNetTrainer(tb testing.TB, config string, rc resnetConfig, lr float64) *train.Trainer {
	backend := newBackend(tb, config)
	ctx := context.New()
	modelFn := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		return []*Node{rc.model(ctx, inputs[0])}
	}
	opt := optimizers.StochasticGradientDescent().WithLearningRate(lr).WithDecay(false).Done()
	return train.NewTrainer(backend, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
}

// randomBatch returns float32 images [n, size, size, 3] and int32 labels [n, 1].
func randomBatch(seed uint64, n, size, classes int) (*tensors.Tensor, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := make([]float32, n*size*size*3)
	for i := range img {
		img[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % classes)
	}
	return tensors.FromFlatDataAndDimensions(img, n, size, size, 3), tensors.FromFlatDataAndDimensions(labels, n, 1)
}

// TestSmallResNetTrains trains a two-stage ResNet with max pooling and global
// average pooling on a fixed batch and checks that the loss falls.
func TestSmallResNetTrains(t *testing.T) {
	rc := resnetConfig{stemKernel: 3, stemStride: 1, blocks: []int{1, 1}, widths: []int{8, 16}, classes: 4}
	trainer := newResNetTrainer(t, "", rc, 0.1)
	images, labels := randomBatch(1, 8, 16, rc.classes)
	var first, last float32
	for step := range 40 {
		metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{images}, []*tensors.Tensor{labels})
		if err != nil {
			t.Fatalf("train step %d: %v", step, err)
		}
		loss := tensors.MustCopyFlatData[float32](metrics[0])[0]
		if step == 0 {
			first = loss
		}
		last = loss
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < 0.3*first) {
		t.Fatalf("loss fell from %.4f only to %.4f, want below 30%% of the first", first, last)
	}
}
