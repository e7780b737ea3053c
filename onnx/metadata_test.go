package onnx

import (
	"testing"

	"github.com/bonsai-ml/bonsai/modelfile"
)

// torchvisionStd is torch mode's per-channel std (image_std), as torchvision normalises.
var torchvisionStd = map[string]float32{"r": 0.229, "g": 0.224, "b": 0.225}

// TestPreprocessingMetadata checks the input formula written for each mode against values
// computed by hand from TAO's preprocess_input.
func TestPreprocessingMetadata(t *testing.T) {
	for _, c := range []struct {
		p                      modelfile.Preprocessing
		scale                  []float32
		order, offsets, scales string
	}{
		{modelfile.Preprocessing{Mode: "caffe", InputSize: [3]int{3, 224, 224}}, nil, "BGR", "103.939;116.779;123.68", "1;1;1"},
		{modelfile.Preprocessing{Mode: "caffe", InputSize: [3]int{3, 224, 224}, ImageMean: map[string]float32{"r": 1, "g": 2, "b": 3}}, nil, "BGR", "3;2;1", "1;1;1"},
		{modelfile.Preprocessing{Mode: "caffe", InputSize: [3]int{1, 28, 28}}, nil, "L", "117.3786", "1"},
		{modelfile.Preprocessing{Mode: "tf", InputSize: [3]int{1, 28, 28}}, nil, "L", "127.5", "0.007843138"},
		// torch as TAO: every channel 1/(255*0.224) = 0.017507003.
		{modelfile.Preprocessing{Mode: "torch", InputSize: [3]int{3, 32, 32}}, nil, "RGB", "123.675;116.28;103.53", "0.017507002;0.017507002;0.017507002"},
		// torch with per-channel image_std: 1/(255*0.229) = 0.017124753; folded: every channel
		// 1/(255*0.226) with the scale 0.226/std.
		{modelfile.Preprocessing{Mode: "torch", InputSize: [3]int{3, 32, 32}, ImageStd: torchvisionStd}, nil, "RGB", "123.675;116.28;103.53", "0.017124753;0.017507002;0.017429193"},
		{modelfile.Preprocessing{Mode: "torch", InputSize: [3]int{3, 32, 32}, ImageStd: torchvisionStd}, []float32{0.226 / 0.229, 0.226 / 0.224, 0.226 / 0.225}, "RGB", "123.675;116.28;103.53", "0.017352073;0.017352073;0.017352073"},
	} {
		m, err := PreprocessingMetadata(c.p, c.scale, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		if m[MetaChannelOrder] != c.order || m[MetaOffsets] != c.offsets || m[MetaScales] != c.scales {
			t.Errorf("%s %v: order %s offsets %s scales %s, want %s %s %s", c.p.Mode, c.p.InputSize,
				m[MetaChannelOrder], m[MetaOffsets], m[MetaScales], c.order, c.offsets, c.scales)
		}
		if m[MetaClasses] != `["a","b"]` || m[MetaInterpolation] != "bilinear" || m[MetaLayout] != "NCHW" {
			t.Errorf("metadata %v", m)
		}
	}
	if _, err := PreprocessingMetadata(modelfile.Preprocessing{Mode: "yolo", InputSize: [3]int{3, 8, 8}}, nil, nil); err == nil {
		t.Error("unknown mode accepted")
	}
}
