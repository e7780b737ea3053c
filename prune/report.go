package prune

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteReport prints the per-layer table: channels before -> after, equalization group, how
// many kept channels are at or below the threshold and why (min filters, granularity, group
// partner), channels above it that a group criterion removed, and why a layer kept everything.
// With all false, layers that keep every channel because nothing was under the threshold are
// left out.
func (r *Result) WriteReport(w io.Writer, all bool) error {
	planned := r.Allocation != "" && r.Allocation != AllocThreshold
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if planned {
		fmt.Fprintf(tw, "layer\top\tchannels\tgroup\tnote (%s allocation: the strongest channels of each unit)\n", r.Allocation)
	} else {
		fmt.Fprintln(tw, "layer\top\tchannels\tgroup\tabove pth\tkept below pth (min/gran/group)\tnote")
	}
	for _, l := range r.Layers {
		if !all && l.After == l.Before && l.Pinned == "" && l.KeptBelow == 0 {
			continue
		}
		group := "-"
		if l.Group > 0 {
			group = fmt.Sprint(l.Group)
		}
		var note []string
		if l.Pinned != "" {
			note = append(note, "keeps all: "+l.Pinned)
		}
		if planned {
			fmt.Fprintf(tw, "%s\t%s\t%d -> %d\t%s\t%s\n", l.Name, l.Op, l.Before, l.After, group, strings.Join(note, "; "))
			continue
		}
		below := "0"
		if l.KeptBelow > 0 {
			below = fmt.Sprintf("%d (%d/%d/%d)", l.KeptBelow, l.ForMin, l.ForGranularity, l.ForGroup)
		}
		if l.DroppedAbove > 0 {
			note = append(note, fmt.Sprintf("%d above pth removed by the group's %s", l.DroppedAbove, r.Options.Equalization))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d -> %d\t%s\t%d\t%s\t%s\n", l.Name, l.Op, l.Before, l.After, group, l.Above, below, strings.Join(note, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "params %d -> %d, MACs %d -> %d, FLOPs %d -> %d, %d equalization groups\n",
		r.Before.Params, r.After.Params, r.Before.MACs, r.After.MACs, r.Before.FLOPs, r.After.FLOPs, r.Groups())
	return err
}
