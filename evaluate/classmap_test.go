package evaluate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/modelfile"
)

// TestClassmapAgainstModel: a -cm classmap in another order than the model's must not relabel
// predictions (the model's order holds), and one naming other classes is refused.
func TestClassmapAgainstModel(t *testing.T) {
	g := &model.Graph{Arch: "tiny", Input: [3]int{3, 16, 16}, Output: "predictions", Layers: []*model.Layer{
		{Name: "input_1", Op: model.OpInput, Block: -1},
		{Name: "pool", Op: model.OpGlobalAvgPool, Inputs: []string{"input_1"}, Block: -1},
		{Name: "predictions", Op: model.OpDense, Inputs: []string{"pool"}, Units: 2, Block: -1},
	}}
	mf := &modelfile.File{Graph: g, Classmap: map[string]int{"blue": 0, "red": 1}}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	reordered := write("reordered.json", `{"red": 0, "blue": 1}`)
	if got, err := Classes(reordered, mf); err != nil || !slices.Equal(got, []string{"blue", "red"}) {
		t.Errorf("reordered classmap: %v, %v; want the model's order [blue red]", got, err)
	}
	other := write("other.json", `{"cat": 0, "dog": 1}`)
	if _, err := Classes(other, mf); err == nil || !strings.Contains(err.Error(), "[cat dog]") {
		t.Errorf("classmap with other classes: %v", err)
	}
	mf.Classmap = nil
	if got, err := Classes(reordered, mf); err != nil || !slices.Equal(got, []string{"red", "blue"}) {
		t.Errorf("model without classmap: %v, %v; want the file's order", got, err)
	}
}
