package loader_test

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/bonsai-ml/bonsai/data/loader"
)

// A training loader over two labelled images: 8x8 RGB output, TAO's random crop and flip,
// torch preprocessing, batches of 2.
func Example() {
	dir, _ := os.MkdirTemp("", "loader-example")
	defer os.RemoveAll(dir)
	var items []loader.Item
	for i, c := range []color.RGBA{{200, 30, 30, 255}, {30, 30, 200, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 20, 16))
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, c.A
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		f, _ := os.Create(path)
		_ = png.Encode(f, img)
		f.Close()
		items = append(items, loader.Item{Path: path, Label: i})
	}
	l, err := loader.New(items, 2, loader.Options{Height: 8, Width: 8, Channels: 3,
		PreprocessMode: "torch", RandomCrop: true, HorizontalFlip: true, Seed: 1,
		Workers: 2, BatchSize: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	it := l.Epoch(0)
	defer it.Close()
	for it.Next() {
		b := it.Batch()
		fmt.Println(b.Images.Shape, b.Labels.Shape, b.Targets)
		// (200/255 - 0.485) / 0.224 = 1.336 in every pixel: a uniform image survives any crop.
		fmt.Printf("first pixel of the red image: %.3f\n", b.Images.Data[0])
	}
	if err := it.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// [2 8 8 3] [2 2] [0 1]
	// first pixel of the red image: 1.336
}
