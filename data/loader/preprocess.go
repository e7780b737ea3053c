package loader

import (
	"fmt"
	"image"
	"math"
	"sort"
	"strings"

	"github.com/bonsai-ml/bonsai/model"
)

// Preprocess modes (TAO train_config.preprocess_mode).
const (
	ModeCaffe = "caffe" // RGB->BGR, subtract the BGR mean, no scaling
	ModeTorch = "torch" // x/255, subtract the ImageNet mean, divide by the std (0.224 unless ImageStd)
	ModeTF    = "tf"    // x/127.5 - 1
)

// Default means and stds, as in TAO's preprocess_input.py (the numpy path its Keras generators
// and tao_deploy use: one std, 0.224, for every channel, gray included).
var (
	CaffeMeanBGR  = [3]float32{103.939, 116.779, 123.68}
	CaffeMeanGray = float32(117.3786)
	TorchMeanRGB  = [3]float32{0.485, 0.456, 0.406}
	TorchMeanGray = float32(0.449)
	TorchStd      = float32(0.224)
)

// normalizer maps a pixel value in [0,255] of output channel k to the network input:
// out = (in - sub[k]) * mul[k]; swapRB reverses RGB to BGR first.
type normalizer struct {
	sub, mul []float32
	swapRB   bool
}

// newNormalizer builds the normalizer of a preprocess mode. imageMean (keys r, g, b, or l for
// one channel) overrides the caffe means; other modes ignore it, as TAO does. imageStd (same
// keys) overrides torch mode's std, TorchStd for every channel; other modes ignore it.
func newNormalizer(mode string, channels int, imageMean, imageStd map[string]float32) (normalizer, error) {
	switch strings.ToLower(mode) {
	case ModeCaffe:
		return caffeNormalizer(channels, imageMean)
	case ModeTorch:
		return torchNormalizer(channels, imageStd)
	case ModeTF:
		n := normalizer{sub: make([]float32, channels), mul: make([]float32, channels)}
		for k := range n.sub {
			n.sub[k], n.mul[k] = 127.5, 1/127.5
		}
		return n, nil
	}
	return normalizer{}, fmt.Errorf("unknown preprocess mode %q (want caffe, torch or tf)", mode)
}

func torchNormalizer(channels int, imageStd map[string]float32) (normalizer, error) {
	if err := checkChannelKeys("image_std", channels, imageStd); err != nil {
		return normalizer{}, err
	}
	mean, keys := TorchMeanRGB[:], []string{"r", "g", "b"}
	if channels == 1 {
		mean, keys = []float32{TorchMeanGray}, []string{"l"}
	}
	n := normalizer{sub: make([]float32, channels), mul: make([]float32, channels)}
	for k := range n.sub {
		std := TorchStd
		if v, ok := imageStd[keys[k]]; ok {
			std = v
		}
		if !(std > 0) {
			return normalizer{}, fmt.Errorf("image_std %s is %g; a std must be above 0", keys[k], std)
		}
		n.sub[k], n.mul[k] = 255*mean[k], 1/(255*std)
	}
	return n, nil
}

func caffeNormalizer(channels int, imageMean map[string]float32) (normalizer, error) {
	if err := checkChannelKeys("image_mean", channels, imageMean); err != nil {
		return normalizer{}, err
	}
	if channels == 1 {
		mean := CaffeMeanGray
		if v, ok := imageMean["l"]; ok {
			mean = v
		}
		return normalizer{sub: []float32{mean}, mul: []float32{1}}, nil
	}
	mean := CaffeMeanBGR
	if len(imageMean) > 0 {
		mean = [3]float32{imageMean["b"], imageMean["g"], imageMean["r"]}
	}
	return normalizer{sub: mean[:], mul: []float32{1, 1, 1}, swapRB: true}, nil
}

// checkChannelKeys requires r, g and b (3 channels) or l (1 channel), and nothing else, in
// the map the named field (image_mean, image_std) gives.
func checkChannelKeys(field string, channels int, m map[string]float32) error {
	if len(m) == 0 {
		return nil
	}
	want := []string{"b", "g", "r"}
	if channels == 1 {
		want = []string{"l"}
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("%s has keys %v; a %d-channel model needs exactly %v",
			field, got, channels, want)
	}
	return nil
}

// apply writes the normalized HWC pixels of src (values in [0,255]) into dst.
func (n normalizer) apply(src, dst []float32, channels int) {
	for i := 0; i < len(src); i += channels {
		if n.swapRB {
			r, g, b := src[i], src[i+1], src[i+2]
			dst[i] = (b - n.sub[0]) * n.mul[0]
			dst[i+1] = (g - n.sub[1]) * n.mul[1]
			dst[i+2] = (r - n.sub[2]) * n.mul[2]
			continue
		}
		for k := 0; k < channels; k++ {
			dst[i+k] = (src[i+k] - n.sub[k]) * n.mul[k]
		}
	}
}

// applyRows writes the normalized pixels of 8-bit HWC rows of the given width into dst,
// mirroring each row when flip is set.
func (n normalizer) applyRows(src []uint8, dst []float32, width, channels int, flip bool) {
	stride := width * channels
	for row := 0; row+stride <= len(src); row += stride {
		s, d := src[row:row+stride], dst[row:row+stride]
		for x := 0; x < width; x++ {
			sx := x
			if flip {
				sx = width - 1 - x
			}
			p, q := s[sx*channels:(sx+1)*channels], d[x*channels:(x+1)*channels]
			if n.swapRB {
				q[0] = (float32(p[2]) - n.sub[0]) * n.mul[0]
				q[1] = (float32(p[1]) - n.sub[1]) * n.mul[1]
				q[2] = (float32(p[0]) - n.sub[2]) * n.mul[2]
				continue
			}
			for k := range q {
				q[k] = (float32(p[k]) - n.sub[k]) * n.mul[k]
			}
		}
	}
}

// invert maps normalized HWC pixels back to 8-bit values in the image's channel order (RGB or
// luminance), rounding and clamping to [0, 255].
func (n normalizer) invert(src []float32, dst []uint8, channels int) {
	for i := 0; i+channels <= len(src); i += channels {
		for k := 0; k < channels; k++ {
			j := k
			if n.swapRB {
				j = channels - 1 - k // BGR back to RGB
			}
			v := float64(src[i+j])/float64(n.mul[j]) + float64(n.sub[j])
			dst[i+k] = uint8(math.Round(math.Min(255, math.Max(0, v))))
		}
	}
}

// Picture turns sample i of a batch's images (as this loader produced them: preprocessed,
// augmented) back into an 8-bit picture for people to look at: RGB, or gray for one channel.
func (l *Loader) Picture(images *model.Tensor, i int) (image.Image, error) {
	if len(images.Shape) != 4 || i < 0 || i >= images.Shape[0] {
		return nil, fmt.Errorf("picture %d of images shaped %v", i, images.Shape)
	}
	h, w, c := images.Shape[1], images.Shape[2], images.Shape[3]
	if c != l.opts.Channels {
		return nil, fmt.Errorf("images have %d channels, the loader %d", c, l.opts.Channels)
	}
	size := h * w * c
	pix := make([]uint8, size)
	l.pipe.norm.invert(images.Data[i*size:(i+1)*size], pix, c)
	if c == 1 {
		return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	for p := 0; p < h*w; p++ {
		copy(rgba.Pix[4*p:4*p+3], pix[3*p:3*p+3])
		rgba.Pix[4*p+3] = 255
	}
	return rgba, nil
}

// Normalization says what a preprocess mode does to a pixel value in [0,255]: output channel k
// is (pixel[k] - Offsets[k]) * Scales[k], the channels taken in BGR order when BGR is set (caffe
// with 3 channels) and in RGB (or luminance) order otherwise. Exporters write it for other
// runtimes (ONNX metadata, DeepStream's offsets and net-scale-factor).
type Normalization struct {
	Offsets, Scales []float32
	BGR             bool
}

// NormalizationOf returns the normalization of a preprocess mode, as the loader applies it
// (imageMean and imageStd as in Options).
func NormalizationOf(mode string, channels int, imageMean, imageStd map[string]float32) (Normalization, error) {
	n, err := newNormalizer(mode, channels, imageMean, imageStd)
	if err != nil {
		return Normalization{}, err
	}
	out := Normalization{Offsets: append([]float32(nil), n.sub...), Scales: make([]float32, channels), BGR: n.swapRB}
	for k := range out.Scales {
		out.Scales[k] = n.mul[min(k, len(n.mul)-1)]
	}
	return out, nil
}
