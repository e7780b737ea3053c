package modelfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// A model file keeps the graph, weights, classmap and how to preprocess images together; with
// a key it is encrypted.
func Example() {
	dir, _ := os.MkdirTemp("", "modelfile")
	defer os.RemoveAll(dir)
	g := &model.Graph{Arch: "linear", Input: [3]int{1, 4, 4}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput, Block: -1},
		{Name: "flatten", Op: model.OpFlatten, Inputs: []string{"input_1"}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"flatten"}, Units: 2, UseBias: true, Block: -1},
	}}
	f := &modelfile.File{
		Graph:         g,
		Weights:       model.Weights{"predictions/kernel": model.NewTensor(16, 2), "predictions/bias": model.NewTensor(2)},
		Classmap:      map[string]int{"cat": 0, "dog": 1},
		Preprocessing: modelfile.Preprocessing{Mode: "tf", InputSize: g.Input},
		Epoch:         3,
	}
	path := filepath.Join(dir, "linear_003"+modelfile.FileExt("secret"))
	if err := modelfile.Save(path, f, "secret"); err != nil {
		fmt.Println(err)
		return
	}
	back, err := modelfile.Load(path, "secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Ext(path), back.Epoch, back.Classmap, back.Weights["predictions/kernel"].Shape)
	_, err = modelfile.Load(path, "guess")
	fmt.Println(err != nil)
	// Output:
	// .enc 3 map[cat:0 dog:1] [16 2]
	// true
}
