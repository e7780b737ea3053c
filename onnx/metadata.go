package onnx

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// Metadata keys Bonsai writes into metadata_props. The input_* keys give the exported model's
// input exactly: input_1[c] = (pixel[c] - input_offsets[c]) * input_scales[c], pixels in
// [0, 255], channels in input_channel_order, after resizing the picture to input_size (H, W;
// with a center crop first when center_crop is true) with the interpolation named.
const (
	MetaPreprocessMode = "preprocess_mode"
	MetaImageMean      = "image_mean"
	MetaInputSize      = "input_size" // C,H,W
	MetaChannelOrder   = "input_channel_order"
	MetaOffsets        = "input_offsets"
	MetaScales         = "input_scales"
	MetaFormula        = "input_formula"
	MetaInterpolation  = "interpolation"
	MetaCenterCrop     = "center_crop"
	MetaLayout         = "input_layout"
	MetaPreprocessing  = "bonsai_preprocessing" // modelfile.Preprocessing as JSON
	MetaClasses        = "class_names"          // JSON array, in output order
)

// Formula is the text of MetaFormula.
const Formula = "input_1[n,c,h,w] = (pixel[c] - input_offsets[c]) * input_scales[c]; pixel in [0,255], channels in input_channel_order"

// PreprocessingMetadata returns the metadata_props entries describing the input of a model
// trained with preprocessing p and exported with the given input scale (Options.InputScale, or
// nil), and its class names (nil to leave them out).
func PreprocessingMetadata(p modelfile.Preprocessing, inputScale []float32, classes []string) (map[string]string, error) {
	c := p.InputSize[0]
	norm, err := loader.NormalizationOf(p.Mode, c, p.ImageMean, p.ImageStd)
	if err != nil {
		return nil, fmt.Errorf("model preprocessing: %w", err)
	}
	scales := append([]float32(nil), norm.Scales...)
	for k := range scales {
		if len(inputScale) > 0 {
			scales[k] /= inputScale[k]
		}
	}
	whole, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	interp := p.Interpolation
	if interp == "" {
		interp = "bilinear"
	}
	m := map[string]string{
		MetaPreprocessMode: p.Mode,
		MetaInputSize:      fmt.Sprintf("%d,%d,%d", p.InputSize[0], p.InputSize[1], p.InputSize[2]),
		MetaChannelOrder:   ChannelOrder(norm, c),
		MetaOffsets:        JoinFloats(norm.Offsets),
		MetaScales:         JoinFloats(scales),
		MetaFormula:        Formula,
		MetaInterpolation:  interp,
		MetaCenterCrop:     strconv.FormatBool(p.CenterCrop),
		MetaLayout:         "NCHW",
		MetaPreprocessing:  string(whole),
	}
	if len(p.ImageMean) > 0 {
		b, _ := json.Marshal(p.ImageMean)
		m[MetaImageMean] = string(b)
	}
	if classes != nil {
		b, _ := json.Marshal(classes)
		m[MetaClasses] = string(b)
	}
	return m, nil
}

// ChannelOrder names the input's channel order: "BGR", "RGB" or "L" (one channel).
func ChannelOrder(n loader.Normalization, channels int) string {
	switch {
	case channels == 1:
		return "L"
	case n.BGR:
		return "BGR"
	}
	return "RGB"
}

// JoinFloats writes values with ';' between them, each in the shortest form that reads back
// as the same float32.
func JoinFloats(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return strings.Join(s, ";")
}
