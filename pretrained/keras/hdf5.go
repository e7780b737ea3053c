package keras

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/pretrained/hdf5"
)

// File is what a Keras HDF5 file holds.
type File struct {
	// Config is the model_config attribute (JSON), empty in a weights-only file.
	Config string
	// KerasVersion and Backend are the file's attributes of those names.
	KerasVersion, Backend string
	// Tensors are the weights keyed "layer/param" (SplitWeightName), as float32.
	Tensors map[string]*model.Tensor
	// LayerNames lists the layers that carry weights groups, in the file's order.
	LayerNames []string
}

// ReadHDF5 reads a Keras HDF5 file: a whole model saved by model.save() (model_config plus
// /model_weights) or weights only (save_weights: layer_names at the root).
func ReadHDF5(path string) (*File, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	root, err := f.Root()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	kf := &File{Tensors: map[string]*model.Tensor{}}
	kf.Config, _ = stringAttr(root, "model_config")
	kf.KerasVersion, _ = stringAttr(root, "keras_version")
	kf.Backend, _ = stringAttr(root, "backend")
	weights := root
	if g, err := root.Group("model_weights"); err == nil {
		weights = g
		if kf.KerasVersion == "" {
			kf.KerasVersion, _ = stringAttr(g, "keras_version")
		}
	}
	if kf.LayerNames, err = listAttr(weights, "layer_names"); err != nil {
		if kf.Config == "" {
			return nil, fmt.Errorf("%s is an HDF5 file but not a Keras model: it has neither model_config nor layer_names (%v)", path, err)
		}
		return nil, fmt.Errorf("%s: reading the weights: %w", path, err)
	}
	for _, layer := range kf.LayerNames {
		if err := kf.readLayer(weights, layer); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return kf, nil
}

// readLayer reads the datasets a layer's weight_names attribute lists.
func (kf *File) readLayer(weights *hdf5.Group, layer string) error {
	g, err := weights.Group(layer)
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer, err)
	}
	names, err := listAttr(g, "weight_names")
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer, err)
	}
	for _, wn := range names {
		d, err := g.Dataset(wn)
		if err != nil {
			return fmt.Errorf("layer %s weight %s: %w", layer, wn, err)
		}
		data, err := d.Float32s()
		if err != nil {
			return fmt.Errorf("layer %s weight %s: %w", layer, wn, err)
		}
		shape := slices.Clone(d.Shape)
		if len(shape) == 0 {
			shape = []int{1}
		}
		l, p := SplitWeightName(wn, layer)
		kf.Tensors[l+"/"+p] = &model.Tensor{Shape: shape, Data: data}
	}
	return nil
}

func stringAttr(g *hdf5.Group, name string) (string, error) {
	a, err := g.Attr(name)
	if err != nil {
		return "", err
	}
	return a.String()
}

// listAttr reads a string-list attribute, also when Keras split it into name0, name1, ...
// (attributes over HDF5's 64 KiB object-header limit).
func listAttr(g *hdf5.Group, name string) ([]string, error) {
	a, err := g.Attr(name)
	if err == nil {
		return a.Strings()
	}
	if !errors.Is(err, hdf5.ErrNotFound) {
		return nil, err
	}
	var out []string
	for i := 0; ; i++ {
		a, err := g.Attr(name + strconv.Itoa(i))
		if errors.Is(err, hdf5.ErrNotFound) && i > 0 {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		s, err := a.Strings()
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
}
