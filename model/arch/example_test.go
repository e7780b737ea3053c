package arch_test

import (
	"fmt"

	"github.com/bonsai-ml/bonsai/model/arch"
)

// Build TAO's sample-spec ResNet-18 for two classes and count its parameters: 11,543,490 as
// TAO reports; freeze_blocks 0 1 leaves conv1's and block 1's 165,056 kernel weights and the
// 11,648 batch-norm moving statistics out of the trainable count.
func ExampleBuild() {
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 18, InputSize: [3]int{3, 224, 224},
		NumClasses: 2, UseBatchNorm: true, AllProjections: true, FreezeBlocks: []int{0, 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := g.Summarize()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(g.Layers), "layers, output", g.Output)
	fmt.Println("params", s.TotalParams, "trainable", s.Trainable)
	// Output:
	// 79 layers, output predictions
	// params 11543490 trainable 11366786
}
