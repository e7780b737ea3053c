package cli

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/model"
	"github.com/bonsai-ml/bonsai/model/arch"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/prune"
	"github.com/bonsai-ml/bonsai/results"
)

// prunableModelFile saves a ResNet-10 (32x32, 2 classes) whose filters have random strengths,
// so that a threshold removes some, with a classmap, preprocessing and spec.
func prunableModelFile(t *testing.T, dir, key string) string {
	t.Helper()
	g, err := arch.Build(arch.Config{Arch: "resnet", NLayers: 10, InputSize: [3]int{3, 32, 32}, NumClasses: 2,
		UseBatchNorm: true, AllProjections: true, BNMomentum: 0.6, BNEpsilon: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	keys, params, err := g.AllParams()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	w := model.Weights{}
	for _, k := range keys {
		p := params[k]
		x := model.NewTensor(p.Shape...)
		out := p.Shape[len(p.Shape)-1]
		strength := make([]float32, out)
		for i := range strength {
			strength[i] = float32(r.Float64())
		}
		for i := range x.Data {
			switch p.Name {
			case "kernel":
				x.Data[i] = float32(r.NormFloat64()*0.05) * strength[i%out]
			case "gamma", "moving_variance":
				x.Data[i] = 1
			}
		}
		w[k] = x
	}
	path := filepath.Join(dir, "resnet_010"+modelfile.FileExt(key))
	mf := &modelfile.File{Graph: g, Weights: w, Classmap: map[string]int{"blue": 0, "red": 1}, Spec: "model_config {}",
		Preprocessing: modelfile.Preprocessing{Mode: "torch", InputSize: g.Input}, Epoch: 3,
		Extra: map[string]string{"val_acc": "0.9", "note": "kept"}}
	if err := modelfile.Save(path, mf, key); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClassificationPrune(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "")
	resDir := filepath.Join(dir, "prune_results")
	out := mustRun(t, "classification", "prune", "-m", in, "-o", filepath.Join(dir, "pruned.hdf5"), "-pth", "0.6",
		"-eq", "union", "-el", "conv1", "block_1a_conv_1", "--results_dir", resDir)
	for _, want := range []string{"Pruning ratio (pruned model / original model): 0.", "keeps all: excluded (-el)", "Pruned model written to " + filepath.Join(dir, "pruned.safetensors")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	pf, err := modelfile.Load(filepath.Join(dir, "pruned.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	total, _, _ := pf.Graph.ParamCount()
	if pf.Classmap["red"] != 1 || pf.Preprocessing.Mode != "torch" || pf.Spec != "model_config {}" || pf.Extra["note"] != "kept" || pf.Extra["val_acc"] != "" {
		t.Errorf("metadata not carried over: %+v %+v %q %v", pf.Classmap, pf.Preprocessing, pf.Spec, pf.Extra)
	}
	var rec results.PruneRecord
	if err := json.Unmarshal([]byte(pf.Extra["pruning"]), &rec); err != nil {
		t.Fatalf("pruning metadata %q: %v", pf.Extra["pruning"], err)
	}
	if rec.Threshold == nil || *rec.Threshold != 0.6 || rec.Allocation != prune.AllocThreshold || rec.ParamsAfter != total || rec.SourceEpoch != 3 || len(rec.Excluded) != 2 {
		t.Errorf("pruning record %+v (params %d)", rec, total)
	}
	// The per-layer table travels with the model, for the retrain's report.html.
	if len(rec.Layers) == 0 || rec.Layers[0].Name != "conv1" || rec.Layers[0].Before != 64 || rec.Layers[0].After != 64 || rec.Layers[0].Pinned == "" {
		t.Errorf("pruning record's layers: %+v", rec.Layers)
	}
	if idx := pf.Graph.Index(); idx["conv1"].Filters != 64 || idx["block_1a_conv_1"].Filters != 64 {
		t.Errorf("excluded layers were pruned: conv1 %d, block_1a_conv_1 %d", idx["conv1"].Filters, idx["block_1a_conv_1"].Filters)
	}
	var rep struct {
		Layers []struct {
			Layer  string `json:"layer"`
			After  int    `json:"channels_after"`
			Reason string `json:"keeps_all"`
		} `json:"layers"`
	}
	readJSON(t, filepath.Join(resDir, "prune_report.json"), &rep)
	if len(rep.Layers) != 14 || rep.Layers[0].Layer != "conv1" || rep.Layers[0].Reason != "excluded (-el)" {
		t.Errorf("prune_report.json layers: %+v", rep.Layers)
	}
	// status.json: STARTED then SUCCESS with TAO's kpi.
	status, err := os.ReadFile(filepath.Join(resDir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(status)), "\n")
	var last struct {
		Status string         `json:"status"`
		KPI    map[string]any `json:"kpi"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "pruned.safetensors"))
	// TAO's units: MB of 2^20 bytes, millions of parameters.
	if last.Status != "SUCCESS" || last.KPI["param_count"] != float64(total)/1e6 || last.KPI["size"] != float64(st.Size())/(1<<20) ||
		!(last.KPI["pruning_ratio"].(float64) > 0.1 && last.KPI["pruning_ratio"].(float64) < 0.9) {
		t.Errorf("status.json last line: %s", lines[len(lines)-1])
	}
}

// TestClassificationPruneCriterion: with every gamma 1, --criterion bn sees equal channels and
// keeps them all; a kernel-criterion run that keeps nearly everything points to it.
func TestClassificationPruneCriterion(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "")
	code, out, errs := bonsai("classification", "prune", "-m", in, "-o", filepath.Join(dir, "bn.safetensors"), "-pth", "0.6", "--criterion", "bn")
	if code != 0 || !strings.Contains(out, "Pruning ratio (pruned model / original model): 1.0\n") || errs != "" {
		t.Errorf("--criterion bn with equal gammas: exit %d\n%s\nstderr %q", code, out, errs)
	}
	pf, err := modelfile.Load(filepath.Join(dir, "bn.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pf.Extra["pruning"], `"criterion":"bn"`) {
		t.Errorf("pruning record %q lacks the criterion", pf.Extra["pruning"])
	}
	code, _, errs = bonsai("classification", "prune", "-m", in, "-o", filepath.Join(dir, "k"), "-pth", "0.001")
	if code != 0 || !strings.Contains(errs, "note: -pth 0.001 keeps 100.0% of the parameters") || !strings.Contains(errs, "--criterion bn") {
		t.Errorf("no hint after a prune that kept everything: exit %d, stderr %q", code, errs)
	}
}

func TestClassificationPruneTargetAndKey(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "s3cret")
	out := mustRun(t, "classification", "prune", "-m", in, "-k", "s3cret", "-o", filepath.Join(dir, "small"), "--target-ratio", "0.4", "--target", "flops", "--allocation", "threshold")
	if !strings.Contains(out, "target flops ratio <= 0.4: threshold ") {
		t.Errorf("output lacks the search line:\n%s", out)
	}
	pf, err := modelfile.Load(filepath.Join(dir, "small.safetensors.enc"), "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	var rec results.PruneRecord
	json.Unmarshal([]byte(pf.Extra["pruning"]), &rec)
	if float64(rec.FLOPsAfter)/float64(rec.FLOPsBefore) > 0.4 || rec.TargetRatio != 0.4 {
		t.Errorf("target 0.4 of FLOPs: record %+v", rec)
	}
}

// TestClassificationPruneAllocation: --target_ratio without -pth shares the cut out uniformly,
// or by measured sensitivity when given data; the record names the allocation and the counts.
func TestClassificationPruneAllocation(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	in := prunableModelFile(t, root, "")
	for _, c := range []struct {
		args       []string
		allocation string
		line       string
	}{
		{nil, prune.AllocUniform, "uniform allocation keeps"},
		{[]string{"-e", specPath, "--backend", "go"}, prune.AllocSensitivity, "sensitivity allocation (28 accuracy measurements)"},
	} {
		out := filepath.Join(root, c.allocation+".safetensors")
		stdout := mustRun(t, append([]string{"classification", "prune", "-m", in, "-o", out, "--target_ratio", "0.5"}, c.args...)...)
		if !strings.Contains(stdout, c.line) || !strings.Contains(stdout, c.allocation+" allocation: the strongest channels") {
			t.Errorf("%s: output:\n%s", c.allocation, stdout)
		}
		pf, err := modelfile.Load(out, "")
		if err != nil {
			t.Fatal(err)
		}
		var rec results.PruneRecord
		if err := json.Unmarshal([]byte(pf.Extra["pruning"]), &rec); err != nil {
			t.Fatal(err)
		}
		params, _, _ := pf.Graph.ParamCount()
		if rec.Allocation != c.allocation || rec.Threshold != nil || rec.KeptChannels["conv1"] != pf.Graph.Index()["conv1"].Filters ||
			rec.PruningRatio > 0.5 || rec.ParamsAfter != params {
			t.Errorf("%s: record %+v", c.allocation, rec)
		}
	}
}

func TestClassificationPruneUsage(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-o", "x"}, ExitUsage, "-m MODEL and -o OUTPUT are required"},
		{[]string{"-m", in, "-o", "x", "-eq", "mean"}, ExitUsage, "equalization criterion"},
		{[]string{"-m", in, "-o", "x", "--criterion", "gamma"}, ExitUsage, `criterion "gamma": want kernel or bn`},
		{[]string{"-m", in, "-o", "x", "-pth", "0.5", "--target-ratio", "0.5"}, ExitUsage, "drop -pth"},
		{[]string{"-m", in, "-o", "x", "-pth", "0.5", "--allocation", "uniform"}, ExitUsage, "--allocation uniform shares out a --target_ratio"},
		{[]string{"-m", in, "-o", filepath.Join(dir, "x"), "--target_ratio", "0.5", "--allocation", "global"}, ExitFailure, `allocation "global": want threshold, uniform or sensitivity`},
		{[]string{"-m", in, "-o", filepath.Join(dir, "x"), "--target_ratio", "0.5", "--allocation", "sensitivity"}, ExitUsage, "give -e SPEC (its val_dataset_path) or --data DIR"},
		{[]string{"-m", in, "-o", filepath.Join(dir, "x"), "-el", "conv_99"}, ExitFailure, `excluded layer "conv_99" is not in the model`},
		{[]string{"-m", filepath.Join(dir, "missing.safetensors"), "-o", "x"}, ExitFailure, "missing.safetensors"},
	} {
		code, _, errs := bonsai(append([]string{"classification", "prune"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.msg) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q on one line", c.args, code, errs, c.code, c.msg)
		}
	}
}

func TestClassificationPruneSweep(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	in := prunableModelFile(t, root, "")
	out := filepath.Join(root, "sweep")
	stdout := mustRun(t, "classification", "prune-sweep", "-m", in, "-o", out, "--thresholds", "0.2,0.5,0.8", "-e", specPath, "--backend", "go", "--save-models")
	if !strings.Contains(stdout, "original") || !strings.Contains(stdout, "accuracy") {
		t.Errorf("sweep output:\n%s", stdout)
	}
	csv, err := os.ReadFile(filepath.Join(out, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(rows) != 5 || !strings.HasPrefix(rows[1], "original,") || !strings.HasPrefix(rows[4], "0.8,") {
		t.Fatalf("sweep.csv:\n%s", csv)
	}
	// Accuracy is measured on the spec's 8 validation images: a multiple of 1/8.
	for _, r := range rows[1:] {
		f := strings.Split(r, ",")
		if f[8] == "" {
			t.Errorf("row %q has no accuracy", r)
		}
	}
	checkPNG(t, filepath.Join(out, "sweep.png"))
	if _, err := os.Stat(filepath.Join(out, "pruned_pth_0.5.safetensors")); err != nil {
		t.Error(err)
	}
	// --per_layer: one row per prunable unit and fraction.
	stdout = mustRun(t, "classification", "prune-sweep", "-m", in, "-o", out, "--per_layer", "--fractions", "0.5,0.25", "-e", specPath, "--backend", "go")
	if !strings.Contains(stdout, "block_4a_conv_2") || !strings.Contains(stdout, "params removed at 0.25") {
		t.Errorf("per-layer output:\n%s", stdout)
	}
	csv, err = os.ReadFile(filepath.Join(out, prune.SensitivityCSV))
	if rows := strings.Split(strings.TrimSpace(string(csv)), "\n"); err != nil || len(rows) != 1+9*2 || !strings.HasPrefix(rows[1], "conv1,conv1,64,0.5,32,") {
		t.Errorf("per_layer.csv (%v):\n%s", err, csv)
	}
	if code, _, errs := bonsai("classification", "prune-sweep", "-m", in, "-o", out, "--per_layer"); code != ExitUsage || !strings.Contains(errs, "give -e SPEC or --data DIR") {
		t.Errorf("--per_layer without data: exit %d, %q", code, errs)
	}
}

// TestPrunedModelRetrains: a pruned model named in pretrained_model_path trains as its own
// smaller graph (TAO's retrain), and its checkpoints keep the pruned widths.
func TestPrunedModelRetrains(t *testing.T) {
	root, specPath := tinyProject(t, 2)
	in := prunableModelFile(t, root, "")
	pruned := filepath.Join(root, "pruned.safetensors")
	mustRun(t, "classification", "prune", "-m", in, "-o", pruned, "-pth", "0.6")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	retrain := strings.Replace(string(spec), "train_config {", "train_config {\n  pretrained_model_path: \""+pruned+"\"", 1)
	retrainSpec := filepath.Join(root, "retrain.cfg")
	if err := os.WriteFile(retrainSpec, []byte(retrain), 0o644); err != nil {
		t.Fatal(err)
	}
	resDir := filepath.Join(root, "retrain")
	out := mustRun(t, "classification", "train", "-e", retrainSpec, "-r", resDir, "--backend", "go")
	if !strings.Contains(out, "pruned model") {
		t.Errorf("train output does not say it retrains the pruned graph:\n%s", out)
	}
	pf, err := modelfile.Load(pruned, "")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := modelfile.Load(filepath.Join(resDir, "weights", "last.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := pf.Graph.ParamCount()
	got, _, _ := ck.Graph.ParamCount()
	if got != want {
		t.Errorf("retrained checkpoint has %d parameters, the pruned model %d", got, want)
	}
	for _, l := range pf.Graph.Layers {
		if c := ck.Graph.Index()[l.Name]; c == nil || c.Filters != l.Filters {
			t.Errorf("layer %s: pruned %d filters, retrained %v", l.Name, l.Filters, c)
		}
	}
	// Resuming the retrain keeps the pruning record in the new checkpoints.
	mustRun(t, "classification", "train", "-e", retrainSpec, "-r", resDir, "--backend", "go", "--init_epoch", "2")
	resumed, err := modelfile.Load(filepath.Join(resDir, "weights", "last.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Epoch != 2 || resumed.Extra["pruning"] != pf.Extra["pruning"] || resumed.Extra["pruning"] == "" {
		t.Errorf("resumed checkpoint: epoch %d, pruning record %q (want %q)", resumed.Epoch, resumed.Extra["pruning"], pf.Extra["pruning"])
	}
}
