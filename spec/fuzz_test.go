package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// FuzzLoad feeds arbitrary bytes to the text and YAML parsers. Nothing may
// panic, every error must name the file, a spec that loads must survive a
// text-format round trip unchanged.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, FormatOf(name) == YAML)
	}
	f.Add([]byte(`model_config { arch: "resnet", n_layers: 18 } train_config { image_mean [{key: "r" value: 1}] }`), false)
	f.Add([]byte("a: [1, - inf] b < c: 'x' > d [ { e: 1 } ]"), false)
	f.Add([]byte("model_config: &m {arch: resnet}\neval_config: *m\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, isYAML bool) {
		name := "fuzz.cfg"
		if isYAML {
			name = "fuzz.yaml"
		}
		e, err := Parse(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		exercise(e)
		text, err := prototext.Marshal(e.Proto)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse("again.cfg", text)
		if err != nil {
			t.Fatalf("round trip of %q failed: %v\ntext: %s", data, err, text)
		}
		if !proto.Equal(e.Proto, again.Proto) {
			t.Fatalf("round trip changed the spec:\n%v\n%v", e.Proto, again.Proto)
		}
	})
}

// exercise calls every accessor and validation, which must not panic.
func exercise(e *Experiment) {
	for _, task := range []Task{Train, Evaluate, Inference, Prune, Export} {
		_ = e.Validate(task)
	}
	_, _, _ = e.InputSize()
	_ = []any{e.Arch(), e.NLayers(), e.Grayscale(), e.Interpolation(), e.BNMomentum(), e.BNEpsilon(),
		e.FreezeBlocks(), e.TrainDatasetPath(), e.ValDatasetPath(), e.PretrainedModelPath(), e.BYOMModelPath(),
		e.PreprocessMode(), e.ImageMean(), e.HorizontalFlip(), e.Optimizer(), e.Regularizer(),
		e.LRSchedule().String(), e.EvalDatasetPath(), e.ModelPath(), e.Warnings()}
	_, _ = e.Activation()
}
