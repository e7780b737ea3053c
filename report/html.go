package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"

	"github.com/bonsai-ml/bonsai/evaluate"
	"github.com/bonsai-ml/bonsai/internal/atomicfile"
	"github.com/bonsai-ml/bonsai/results"
)

// Page is the content of an HTML report: facts about the run, figures, an evaluation and,
// for a pruned model, its pruning.
type Page struct {
	Title string
	// Facts are label/value rows shown first (arch, epochs, dataset, ...).
	Facts [][2]string
	// Figures are PNG pictures, embedded in the page so that it is one portable file.
	Figures []Figure
	// Evaluation adds the metrics, the per-class table and the confusion matrix; may be nil.
	Evaluation *evaluate.Report
	// EvaluationTitle names what was evaluated (default "Evaluation").
	EvaluationTitle string
	// Pruning adds the pruning settings and the per-layer table of a pruned model; may be nil.
	Pruning *results.PruneRecord
}

// Figure is one picture of the page: the PNG file at Path, or PNG bytes.
type Figure struct {
	Caption string
	Path    string
	PNG     []byte
}

// htmlFigure is a figure with its PNG inlined.
type htmlFigure struct {
	Caption string
	Data    template.URL
}

// WriteHTML writes a self-contained HTML report to path, atomically: styles and pictures are
// inside the file (pictures as data: URLs), with no script and nothing fetched from elsewhere.
func WriteHTML(path string, page Page) error {
	figures := make([]htmlFigure, len(page.Figures))
	for i, f := range page.Figures {
		png := f.PNG
		if png == nil {
			var err error
			if png, err = os.ReadFile(f.Path); err != nil {
				return fmt.Errorf("writing %s: figure: %w", path, err)
			}
		}
		figures[i] = htmlFigure{f.Caption, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}
	}
	if page.EvaluationTitle == "" {
		page.EvaluationTitle = "Evaluation"
	}
	data := struct {
		Page
		Inline []htmlFigure
	}{page, figures}
	return atomicfile.Write(path, func(w io.Writer) error {
		return pageTemplate.Execute(w, data)
	})
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct":   func(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) },
	"f2":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f4":    func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"deref": func(v *float64) float64 { return *v },
	"kept": func(after, before int) string {
		if before == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(after)/float64(before))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;margin:2em;color:#222;max-width:1600px}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f6fa}
td.name,th.name{text-align:left}
td.diag{background:#dbe9f6;font-weight:bold}
tr.pinned td{color:#666}
figure{margin:1em 0}
img{max-width:100%;border:1px solid #eee}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Facts}}<table id="facts">{{range .Facts}}<tr><th class="name">{{index . 0}}</th><td class="name">{{index . 1}}</td></tr>{{end}}</table>{{end}}
{{range .Inline}}<figure><img src="{{.Data}}" alt="{{.Caption}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}
{{with .Evaluation}}<h2>{{$.EvaluationTitle}}</h2>
<table id="metrics">
<tr><th class="name">samples</th><td>{{.Samples}}</td></tr>
<tr><th class="name">loss</th><td>{{f4 .Loss}}</td></tr>
{{if .Penalty}}<tr><th class="name">cross-entropy (loss without the regularization penalty)</th><td>{{f4 .CrossEntropy}}</td></tr>
{{end}}<tr><th class="name">accuracy (top-1)</th><td>{{pct .Accuracy}}</td></tr>
<tr><th class="name">top-{{.TopK}} accuracy</th><td>{{pct .TopKAccuracy}}</td></tr>
</table>
<h3>Per class</h3>
<table id="per-class"><tr><th class="name">class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>
{{range .PerClass}}<tr><td class="name">{{.Class}}</td><td>{{f2 .Precision}}</td><td>{{f2 .Recall}}</td><td>{{f2 .F1}}</td><td>{{.Support}}</td></tr>
{{end}}<tr><td class="name">accuracy</td><td></td><td></td><td>{{f2 .Accuracy}}</td><td>{{.MacroAvg.Support}}</td></tr>
<tr><td class="name">macro avg</td><td>{{f2 .MacroAvg.Precision}}</td><td>{{f2 .MacroAvg.Recall}}</td><td>{{f2 .MacroAvg.F1}}</td><td>{{.MacroAvg.Support}}</td></tr>
<tr><td class="name">weighted avg</td><td>{{f2 .WeightedAvg.Precision}}</td><td>{{f2 .WeightedAvg.Recall}}</td><td>{{f2 .WeightedAvg.F1}}</td><td>{{.WeightedAvg.Support}}</td></tr>
</table>
<h3>Confusion matrix (rows: true class, columns: predicted)</h3>
<table id="confusion"><tr><th></th>{{range .Classes}}<th>{{.}}</th>{{end}}</tr>
{{$classes := .Classes}}{{range $i, $row := .Confusion}}<tr><th class="name">{{index $classes $i}}</th>{{range $j, $v := $row}}<td{{if eq $i $j}} class="diag"{{end}}>{{$v}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{with .Pruning}}<h2>Pruning</h2>
<table id="pruning">
<tr><th class="name">pruned from</th><td class="name">{{.Source}}</td></tr>
<tr><th class="name">allocation, threshold (-pth)</th><td class="name">{{.Allocation}}, {{with .Threshold}}{{deref .}}{{else}}none (the allocation chose the channels){{end}}</td></tr>
<tr><th class="name">normalizer, criterion</th><td class="name">{{.Normalizer}}, {{.Criterion}}</td></tr>
<tr><th class="name">equalization, granularity, min filters</th><td class="name">{{.Equalization}}, {{.Granularity}}, {{.MinFilters}}</td></tr>
<tr><th class="name">parameters</th><td class="name">{{.ParamsBefore}} &rarr; {{.ParamsAfter}} (ratio {{f4 .PruningRatio}})</td></tr>
<tr><th class="name">FLOPs</th><td class="name">{{.FLOPsBefore}} &rarr; {{.FLOPsAfter}}</td></tr>
</table>
{{if .Layers}}<h3>Per layer</h3>
<table id="pruning-layers"><tr><th class="name">layer</th><th class="name">op</th><th>channels before</th><th>after</th><th>kept</th><th>group</th><th class="name">note</th></tr>
{{range .Layers}}<tr{{if .Pinned}} class="pinned"{{end}}><td class="name">{{.Name}}</td><td class="name">{{.Op}}</td><td>{{.Before}}</td><td>{{.After}}</td><td>{{kept .After .Before}}</td><td>{{if .Group}}{{.Group}}{{else}}-{{end}}</td><td class="name">{{if .Pinned}}keeps all: {{.Pinned}}{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}
</body></html>
`))
