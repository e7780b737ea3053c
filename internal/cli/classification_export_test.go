package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassificationExport runs TAO's INT8 export command line with DeepStream files and
// status.json, then checks the refusal to overwrite and the flags Bonsai cannot honour.
func TestClassificationExport(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	model := prunableModelFile(t, root, "")
	out := filepath.Join(root, "export", "final_model.onnx")
	cache := filepath.Join(root, "export", "final_model_int8_cache.bin")
	results := filepath.Join(root, "export_results")
	args := []string{"classification", "export", "-m", model, "-o", out, "-e", specPath, "--gen_ds_config",
		"--data_type", "int8", "--batches", "2", "--batch_size", "4", "--cal_cache_file", cache,
		"--engine_file", "final.engine", "--max_batch_size", "4", "--max_workspace_size", "1073741824", "-r", results}
	stdout := mustRun(t, args...)
	for _, want := range []string{"ONNX model: " + out, "INT8 calibration cache: " + cache,
		"INT8 QDQ model: " + filepath.Join(root, "export", "final_model.qdq.onnx"), "DeepStream: " + filepath.Join(root, "export", "labels_deepstream.txt"),
		"trtexec --onnx=" + out + " --saveEngine=final.engine --minShapes=input_1:1x3x32x32 --optShapes=input_1:1x3x32x32 --maxShapes=input_1:4x3x32x32 --memPoolSize=workspace:1024 --int8 --calib=" + cache} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	labels, err := os.ReadFile(filepath.Join(root, "export", "labels.txt"))
	if err != nil || string(labels) != "blue\nred\n" {
		t.Errorf("labels.txt %q (%v)", labels, err)
	}
	checkExportStatus(t, filepath.Join(results, "status.json"))

	code, _, stderr := bonsai(args...)
	if code != ExitUsage || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("second export: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = bonsai("classification", "export", "-m", model, "--data_type", "int8", "--cal_data_file", "calibration.tensor")
	if code != ExitUsage || !strings.Contains(stderr, "--cal_image_dir") {
		t.Errorf("--cal_data_file alone: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := bonsai("classification", "export"); code != ExitUsage {
		t.Errorf("no -m: exit %d", code)
	}
}

// checkExportStatus checks TAO's status.json lines: STARTED, then SUCCESS with the KPIs
// param_count (millions) and size (MB).
func checkExportStatus(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var first, last struct {
		Status string             `json:"status"`
		KPI    map[string]float64 `json:"kpi"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if first.Status != "STARTED" || last.Status != "SUCCESS" || last.KPI["param_count"] <= 0 || last.KPI["param_count"] > 10 || last.KPI["size"] <= 0 {
		t.Errorf("status.json:\n%s", data)
	}
}
