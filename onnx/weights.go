package onnx

import (
	"math"

	"github.com/bonsai-ml/bonsai/model"
)

// weights is a layer's kernel in ONNX layout with its bias; output channels run along axis 0
// (OIHW for convolutions, [units, in] for Gemm with transB).
type weights struct {
	dims []int
	data []float32
	bias []float32 // nil: no bias
}

// outChannels is the number of output channels.
func (w *weights) outChannels() int { return w.dims[0] }

// convOIHW turns a Keras HWIO kernel [kh, kw, cin/groups, filters] into ONNX's OIHW.
func convOIHW(k *model.Tensor) *weights {
	kh, kw, ci, f := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
	out := make([]float32, len(k.Data))
	for y := range kh {
		for x := range kw {
			for i := range ci {
				for o := range f {
					out[((o*ci+i)*kh+y)*kw+x] = k.Data[((y*kw+x)*ci+i)*f+o]
				}
			}
		}
	}
	return &weights{dims: []int{f, ci, kh, kw}, data: out}
}

// depthwiseOIHW turns a depthwise kernel [kh, kw, C, M] into a grouped convolution's
// [C*M, 1, kh, kw] (group C): output channel c*M+m applies kernel [:, :, c, m] to channel c.
func depthwiseOIHW(k *model.Tensor) *weights {
	kh, kw, c, m := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
	out := make([]float32, len(k.Data))
	for y := range kh {
		for x := range kw {
			for ch := range c {
				for j := range m {
					out[((ch*m+j)*kh+y)*kw+x] = k.Data[((y*kw+x)*c+ch)*m+j]
				}
			}
		}
	}
	return &weights{dims: []int{c * m, 1, kh, kw}, data: out}
}

// denseWeights turns a dense kernel [in, units] into Gemm's B for transB=1, [units, in], so
// that output channels run along axis 0 as TensorRT wants for per-channel weight scales.
func denseWeights(k *model.Tensor) *weights {
	in, units := k.Shape[0], k.Shape[1]
	out := make([]float32, len(k.Data))
	for i := range in {
		for u := range units {
			out[u*in+i] = k.Data[i*units+u]
		}
	}
	return &weights{dims: []int{units, in}, data: out}
}

// scaleOut multiplies output channel o's weights by s[o].
func (w *weights) scaleOut(s []float64) {
	per := len(w.data) / w.dims[0]
	for i := range w.data {
		w.data[i] = float32(float64(w.data[i]) * s[i/per])
	}
}

// bnParams are a batch norm's tensors.
type bnParams struct {
	gamma, beta, mean, variance *model.Tensor
	epsilon                     float64
}

// foldBatchNorm folds y = gamma*(x-mean)/sqrt(var+eps) + beta, applied to this layer's output,
// into its weights and bias.
func (w *weights) foldBatchNorm(p *bnParams) {
	n := w.outChannels()
	s := make([]float64, n)
	bias := make([]float32, n)
	for o := range n {
		s[o] = float64(p.gamma.Data[o]) / math.Sqrt(float64(p.variance.Data[o])+p.epsilon)
		b := 0.0
		if w.bias != nil {
			b = float64(w.bias[o])
		}
		bias[o] = float32((b-float64(p.mean.Data[o]))*s[o] + float64(p.beta.Data[o]))
	}
	w.scaleOut(s)
	w.bias = bias
}

// scaleInputChannels multiplies the weights that read input channel c by scale[c], for a
// convolution in OIHW layout with the given group count.
func (w *weights) scaleInputChannels(scale []float32, group int) {
	f, ci, khw := w.dims[0], w.dims[1], w.dims[2]*w.dims[3]
	perGroup := f / group
	for o := range f {
		for i := range ci {
			c := (o/perGroup)*ci + i
			row := w.data[(o*ci+i)*khw : (o*ci+i+1)*khw]
			for j := range row {
				row[j] *= scale[c]
			}
		}
	}
}
