package spec

import (
	"fmt"
	"strings"
)

// Error is one problem in a spec file. It prints as
// "file:line:col: field: message", leaving out what is not known.
type Error struct {
	File  string // the spec file
	Line  int    // 1-based; 0 when the position is unknown
	Col   int    // 1-based column in runes; 0 when unknown
	Field string // dotted field path such as "train_config.n_epochs"; may be empty
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Line > 0 && e.Col > 0:
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return loc + ": " + e.Msg
}

// Errors is every problem found in one pass, in file order where known.
// It prints one problem per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// editDistance is the Levenshtein distance between a and b, by runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// closest returns the candidate nearest to word, or "" when none is near
// enough to be a plausible typo. Case is ignored; a candidate that contains the
// word (or is contained in it) also counts.
func closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(2, len([]rune(w))/3) {
		return best
	}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if len(w) >= 3 && (strings.Contains(lc, w) || strings.Contains(w, lc)) {
			return c
		}
	}
	return ""
}

// didYouMean formats a suggestion suffix, or "" when there is none.
func didYouMean(word string, candidates []string) string {
	if c := closest(word, candidates); c != "" && c != word {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
