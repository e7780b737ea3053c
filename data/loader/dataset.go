package loader

import "github.com/bonsai-ml/bonsai/data"

// Items lists a folder-per-class dataset's samples as loader items.
func Items(ds *data.Dataset) []Item {
	items := make([]Item, len(ds.Samples))
	for i, s := range ds.Samples {
		items[i] = Item{Path: s.Path, Label: s.Label}
	}
	return items
}
