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

// Readable counts, per label, the items not found unusable so far (after a whole epoch: the
// images that can be read).
func (l *Loader) Readable() []int {
	counts := make([]int, l.numClasses)
	for _, it := range l.items {
		counts[it.Label]++
	}
	l.badMu.Lock()
	defer l.badMu.Unlock()
	for i := range l.bad {
		counts[l.items[i].Label]--
	}
	return counts
}
