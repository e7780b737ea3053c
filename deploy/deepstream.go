package deploy

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/data/loader"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/onnx"
)

// nvinfer's model-color-format values.
const (
	ColorRGB  = 0
	ColorBGR  = 1
	ColorGray = 2
)

// NvinferInput is how DeepStream's nvinfer must preprocess frames for a model: it computes
// y[c] = NetScaleFactor * (x[c] - Offsets[c]) on pixels in [0, 255], channels in ColorFormat
// order. nvinfer has one scale for all channels: where the model's preprocessing divides each
// channel by its own standard deviation, InputScale holds the factors to fold into the exported
// model (onnx.Options.InputScale) so that the config is exact; it is nil otherwise.
type NvinferInput struct {
	ColorFormat    int
	NetScaleFactor float32
	Offsets        []float32
	InputScale     []float32
}

// NvinferInputOf returns nvinfer's preprocessing for a model preprocessing.
func NvinferInputOf(p modelfile.Preprocessing) (NvinferInput, error) {
	c := p.InputSize[0]
	n, err := loader.NormalizationOf(p.Mode, c, p.ImageMean, p.ImageStd)
	if err != nil {
		return NvinferInput{}, fmt.Errorf("model preprocessing: %w", err)
	}
	in := NvinferInput{ColorFormat: ColorRGB, NetScaleFactor: n.Scales[0], Offsets: n.Offsets}
	switch {
	case c == 1:
		in.ColorFormat = ColorGray
	case n.BGR:
		in.ColorFormat = ColorBGR
	}
	equal := true
	sum := 0.0
	for _, s := range n.Scales {
		equal = equal && s == n.Scales[0]
		sum += float64(s)
	}
	if !equal {
		in.NetScaleFactor = float32(sum / float64(len(n.Scales)))
		in.InputScale = make([]float32, len(n.Scales))
		for k, s := range n.Scales {
			in.InputScale[k] = s / in.NetScaleFactor
		}
	}
	return in, nil
}

// DeepStream file names, written beside the ONNX model.
const (
	NvinferConfigFile = "nvinfer_config.txt"       // TAO's nine keys
	LabelsFile        = "labels.txt"               // TAO's: one class per line
	DSLabelsFile      = "labels_deepstream.txt"    // nvinfer's: one line, classes split by ';'
	DSConfigFile      = "config_infer_primary.txt" // a complete nvinfer [property] block
)

// DSConfig is what the DeepStream files say about an exported model.
type DSConfig struct {
	Input     NvinferInput
	InputSize [3]int // C, H, W
	Classes   []string
	ONNX      string // the exported model
	Engine    string // the TensorRT engine nvinfer builds or loads
	CalCache  string // INT8 calibration cache ("" unless DataType is int8)
	DataType  string // fp32, fp16 or int8
	BatchSize int
}

// formatFloat writes a float32 in the shortest form that reads back as the same float32, with
// ".0" on whole numbers as Python (and so TAO) prints them.
func formatFloat(v float32) string {
	s := strconv.FormatFloat(float64(v), 'g', -1, 32)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func joinFloats(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = formatFloat(x)
	}
	return strings.Join(s, ";")
}

// NvinferConfig is TAO's nvinfer_config.txt: its nine keys in its order, with the values the
// model's preprocessing needs (TAO writes caffe's whatever the mode).
func (c *DSConfig) NvinferConfig() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "net-scale-factor=%s\n", formatFloat(c.Input.NetScaleFactor))
	fmt.Fprintf(&b, "offsets=%s\n", joinFloats(c.Input.Offsets))
	fmt.Fprintf(&b, "infer-dims=%d;%d;%d\n", c.InputSize[0], c.InputSize[1], c.InputSize[2])
	b.WriteString("tlt-model-key=nvidia_tlt\nnetwork-type=1\n")
	fmt.Fprintf(&b, "num-detected-classes=%d\n", len(c.Classes))
	fmt.Fprintf(&b, "model-color-format=%d\n", c.Input.ColorFormat)
	b.WriteString("maintain-aspect-ratio=0\noutput-tensor-meta=0\n")
	return b.Bytes()
}

// Labels is TAO's labels.txt: one class per line.
func (c *DSConfig) Labels() []byte { return []byte(strings.Join(c.Classes, "\n") + "\n") }

// DeepStreamLabels is the label file nvinfer's classifier parser reads: one line per output
// layer, classes separated by ';'.
func (c *DSConfig) DeepStreamLabels() []byte { return []byte(strings.Join(c.Classes, ";") + "\n") }

// networkMode is nvinfer's network-mode for a data type.
func networkMode(dataType string) int {
	switch dataType {
	case "int8":
		return 1
	case "fp16":
		return 2
	}
	return 0
}

// PropertyConfig is a complete nvinfer configuration for the model as a primary classifier on
// whole frames; paths are relative to dir, where the file goes.
func (c *DSConfig) PropertyConfig(dir string) []byte {
	var b bytes.Buffer
	b.WriteString("# nvinfer configuration written by bonsai classification export.\n")
	b.WriteString("# Primary classifier on whole frames; for a secondary one on detected objects set\n")
	b.WriteString("# process-mode=2 and operate-on-gie-id. nvinfer scales each frame or object to infer-dims\n")
	b.WriteString("# (no center crop) and computes net-scale-factor * (pixel - offsets) per channel.\n")
	b.WriteString("[property]\ngpu-id=0\n")
	fmt.Fprintf(&b, "onnx-file=%s\n", relPath(dir, c.ONNX))
	fmt.Fprintf(&b, "model-engine-file=%s\n", relPath(dir, c.Engine))
	fmt.Fprintf(&b, "labelfile-path=%s\n", DSLabelsFile)
	if c.DataType == "int8" && c.CalCache != "" {
		fmt.Fprintf(&b, "int8-calib-file=%s\n", relPath(dir, c.CalCache))
	}
	fmt.Fprintf(&b, "batch-size=%d\n", max(c.BatchSize, 1))
	fmt.Fprintf(&b, "network-mode=%d\n", networkMode(c.DataType))
	fmt.Fprintf(&b, "net-scale-factor=%s\n", formatFloat(c.Input.NetScaleFactor))
	fmt.Fprintf(&b, "offsets=%s\n", joinFloats(c.Input.Offsets))
	fmt.Fprintf(&b, "model-color-format=%d\n", c.Input.ColorFormat)
	fmt.Fprintf(&b, "infer-dims=%d;%d;%d\n", c.InputSize[0], c.InputSize[1], c.InputSize[2])
	b.WriteString("network-type=1\nprocess-mode=1\ngie-unique-id=1\n")
	fmt.Fprintf(&b, "num-detected-classes=%d\n", len(c.Classes))
	b.WriteString("classifier-threshold=0.2\noutput-blob-names=" + onnx.OutputName + "\n")
	b.WriteString("maintain-aspect-ratio=0\noutput-tensor-meta=0\n")
	return b.Bytes()
}

// relPath is target relative to dir when it can be, else target (absolute).
func relPath(dir, target string) string {
	at, err1 := filepath.Abs(target)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return target
	}
	if r, err := filepath.Rel(ad, at); err == nil {
		return r
	}
	return at
}

// DSFiles lists the DeepStream files written into dir.
func DSFiles(dir string) []string {
	return []string{filepath.Join(dir, NvinferConfigFile), filepath.Join(dir, LabelsFile),
		filepath.Join(dir, DSLabelsFile), filepath.Join(dir, DSConfigFile)}
}

// WriteDSFiles writes the four DeepStream files into dir atomically.
func (c *DSConfig) WriteDSFiles(dir string) error {
	files := DSFiles(dir)
	for i, data := range [][]byte{c.NvinferConfig(), c.Labels(), c.DeepStreamLabels(), c.PropertyConfig(dir)} {
		if err := atomicfile.WriteBytes(files[i], data); err != nil {
			return err
		}
	}
	return nil
}
