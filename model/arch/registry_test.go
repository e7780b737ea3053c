package arch

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/spec"
)

// eachArch calls f for every registered arch and depth.
func eachArch(f func(arch string, depth int)) {
	for name := range families {
		depths := Depths(name)
		if len(depths) == 0 {
			depths = []int{0}
		}
		for _, d := range depths {
			f(name, d)
		}
	}
}

// TestAllArchsBuild builds every arch/depth at square, non-square and 1-channel inputs and checks
// what all of them promise: unique names, block ids in range, a rank-1 output of NumClasses,
// freezing every block freezes every convolution and nothing else, and a lossless JSON round trip.
func TestAllArchsBuild(t *testing.T) {
	n := 0
	eachArch(func(arch string, depth int) {
		n++
		maxBlock := families[arch].maxBlock
		all := make([]int, maxBlock+1)
		for i := range all {
			all[i] = i
		}
		for _, input := range [][3]int{{3, 224, 224}, {3, 64, 96}, {1, 32, 32}} {
			cfg := Config{Arch: arch, NLayers: depth, InputSize: input, NumClasses: 6, UseBatchNorm: true, FreezeBlocks: all}
			g, err := Build(cfg)
			if err != nil {
				t.Errorf("%s%d %v: %v", arch, depth, input, err)
				continue
			}
			shapes, err := g.Shapes()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shapes[g.Output], model.Shape{6}) {
				t.Errorf("%s%d %v: output %s shape %v", arch, depth, input, g.Output, shapes[g.Output])
			}
			for _, l := range g.Layers {
				isConv := l.Op == model.OpConv || l.Op == model.OpDepthwiseConv
				if l.Block < -1 || l.Block > maxBlock {
					t.Errorf("%s%d: %s has block %d outside -1..%d", arch, depth, l.Name, l.Block, maxBlock)
				}
				if l.Frozen != isConv {
					t.Errorf("%s%d: %s (%s, block %d) frozen=%v with every block frozen", arch, depth, l.Name, l.Op, l.Block, l.Frozen)
				}
			}
			data, err := g.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			back, err := model.ParseJSON(data)
			if err != nil || !reflect.DeepEqual(g, back) {
				t.Errorf("%s%d: JSON round trip: %v", arch, depth, err)
			}
			s := summarize(t, g)
			var buf bytes.Buffer
			if err := s.Print(&buf); err != nil || !bytes.Contains(buf.Bytes(), []byte("Total params")) {
				t.Errorf("%s%d: summary: %v", arch, depth, err)
			}
			if s.Trainable == 0 || s.MACs == 0 {
				t.Errorf("%s%d: trainable %d MACs %d", arch, depth, s.Trainable, s.MACs)
			}
		}
	})
	// resnet x7 depths, vgg x2, darknet x2, cspdarknet x2, cspdarknet_tiny, mobilenet x2,
	// googlenet, efficientnet b0..b7, squeezenet, alexnet.
	if n != 7+2+2+2+1+2+1+8+2 {
		t.Errorf("%d arch/depth combinations registered", n)
	}
}

func TestArchsList(t *testing.T) {
	got := Archs()
	for _, want := range []string{"resnet (10, 18, 34, 50, 101, 152, 200)", "vgg (16, 19)", "mobilenet_v1", "mobilenet_v2",
		"googlenet", "darknet (19, 53)", "cspdarknet (19, 53)", "cspdarknet_tiny", "efficientnet_b0", "efficientnet_b1",
		"squeezenet", "alexnet"} {
		if !slices.Contains(got, want) {
			t.Errorf("Archs() lacks %q: %v", want, got)
		}
	}
	if d := Depths("vgg"); !slices.Equal(d, []int{16, 19}) {
		t.Errorf("Depths(vgg) = %v", d)
	}
}

// TestRegistryIsSpecArchs ties the registry to spec's list: every arch the spec accepts builds,
// and nothing else is registered.
func TestRegistryIsSpecArchs(t *testing.T) {
	var registered []string
	for name := range families {
		registered = append(registered, name)
	}
	slices.Sort(registered)
	want := slices.Sorted(slices.Values(spec.Archs))
	if !slices.Equal(registered, want) {
		t.Errorf("registered archs %v\nspec.Archs       %v", registered, want)
	}
}
