package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/engine"
	"github.com/bonsai-ml/bonsai/modelfile"
	"github.com/bonsai-ml/bonsai/results"
)

// TestResultsFolderGuards: a fresh run over a finished run's folder is refused (--force
// replaces it), a folder in use by another command is refused naming its pid, and evaluate
// cannot write into a folder a training holds.
func TestResultsFolderGuards(t *testing.T) {
	_, specPath := tinyProject(t, 1)
	dir := filepath.Join(t.TempDir(), "results")
	mustRun(t, "classification", "train", "-e", specPath, "-r", dir, "--backend", "go")
	before, _ := os.ReadFile(filepath.Join(dir, results.TrainingCSV))
	code, _, errs := bonsai("classification", "train", "-e", specPath, "-r", dir, "--backend", "go")
	if code != ExitUsage || !strings.Contains(errs, "--resume") || !strings.Contains(errs, "--force") {
		t.Errorf("fresh run over finished results: exit %d, %s", code, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, results.TrainingCSV)); !bytes.Equal(before, after) {
		t.Error("the refused run changed training.csv")
	}
	os.WriteFile(results.EpochCheckpointPath(dir, "resnet", 7, modelfile.Ext), []byte("old"), 0o644)
	mustRun(t, "classification", "train", "-e", specPath, "-r", dir, "--force", "--backend", "go")
	if _, err := os.Stat(results.EpochCheckpointPath(dir, "resnet", 7, modelfile.Ext)); !os.IsNotExist(err) {
		t.Error("--force left the old run's later epoch checkpoint behind")
	}

	held, err := results.LockDir(dir, "classification train")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	pid := fmt.Sprintf("pid %d", os.Getpid())
	for _, args := range [][]string{
		{"classification", "train", "-e", specPath, "-r", dir, "--resume", "--backend", "go"},
		{"classification", "evaluate", "-e", specPath, "-m", results.LastPath(dir, modelfile.Ext), "-r", dir, "--backend", "go"},
	} {
		if code, _, errs := bonsai(args...); code != ExitFailure || !strings.Contains(errs, pid) {
			t.Errorf("%s into a held folder: exit %d, %s", args[1], code, errs)
		}
	}
}

// TestPruneRefusesItsOwnInput: prune -o naming the -m file (even as .hdf5) is refused and the
// model is untouched; the edges TAO lets through are refused too.
func TestPruneRefusesItsOwnInput(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "")
	before, _ := os.ReadFile(in)
	for _, out := range []string{in, strings.TrimSuffix(in, modelfile.Ext) + ".hdf5"} {
		if code, _, errs := bonsai("classification", "prune", "-m", in, "-o", out, "-pth", "0.5"); code != ExitUsage || !strings.Contains(errs, "overwrite") {
			t.Errorf("-o %s: exit %d, %s", out, code, errs)
		}
	}
	if after, _ := os.ReadFile(in); !bytes.Equal(before, after) {
		t.Error("the input model changed")
	}
	out := filepath.Join(dir, "p.safetensors")
	for _, args := range [][]string{{"--target-ratio", "0"}, {"-pg", "0"}} {
		if code, _, errs := bonsai(append([]string{"classification", "prune", "-m", in, "-o", out}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
	_, stdout, errs := bonsai("classification", "prune", "-m", in, "-o", filepath.Join(dir, "tao.hdf5"), "-pth", "0.5")
	if !strings.Contains(stdout+errs, "tao.safetensors") || !strings.Contains(errs, "tao.hdf5") {
		t.Errorf("-o tao.hdf5 does not say the model went to tao.safetensors:\n%s%s", stdout, errs)
	}
}

// TestResumeMessages: --resume of an encrypted run asks for the key, refuses a spec that
// builds another model naming the fields, and says a finished run is finished.
func TestResumeMessages(t *testing.T) {
	root, specPath := tinyProject(t, 2)
	dir := filepath.Join(root, "results")
	crashAtWrite(t, "resnet_002", func() {
		bonsai("classification", "train", "-e", specPath, "-r", dir, "-k", "s3cret", "--backend", "go")
	})
	code, _, errs := bonsai("classification", "train", "-e", specPath, "-r", dir, "--resume", "--backend", "go")
	if code != ExitUsage || !strings.Contains(errs, "last.safetensors.enc") || !strings.Contains(errs, "-k") {
		t.Errorf("--resume of an encrypted run without -k: exit %d, %s", code, errs)
	}
	changed := filepath.Join(root, "changed.cfg")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(changed, []byte(strings.NewReplacer("n_layers: 10", "n_layers: 18", `"3,32,32"`, `"3,48,48"`).Replace(string(text))), 0o644)
	code, _, errs = bonsai("classification", "train", "-e", changed, "-r", dir, "-k", "s3cret", "--resume", "--backend", "go")
	if code != ExitFailure || !strings.Contains(errs, "model_config.n_layers: 10 -> 18") || !strings.Contains(errs, `model_config.input_image_size: "3,32,32" -> "3,48,48"`) {
		t.Errorf("--resume with another model: exit %d, %s", code, errs)
	}
	mustRun(t, "classification", "train", "-e", specPath, "-r", dir, "-k", "s3cret", "--resume", "--backend", "go")
	code, _, errs = bonsai("classification", "train", "-e", specPath, "-r", dir, "-k", "s3cret", "--resume", "--backend", "go")
	if code != ExitFailure || !strings.Contains(errs, "already finished its 2 epochs") || strings.Contains(errs, "init_epoch") {
		t.Errorf("--resume of a finished run: exit %d, %s", code, errs)
	}
}

// TestHugeBatches: a batch size far over the data is trained and evaluated with buffers
// sized by the data, and a batch over the machine's memory is refused in one line with the
// largest batch that fits, before anything is allocated.
func TestHugeBatches(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	text, _ := os.ReadFile(specPath)
	huge := filepath.Join(root, "huge.cfg")
	os.WriteFile(huge, []byte(strings.Replace(string(text), "batch_size_per_gpu: 8", "batch_size_per_gpu: 100000000", 1)), 0o644)
	dir := filepath.Join(root, "results")
	mustRun(t, "classification", "train", "-e", huge, "-r", dir, "--backend", "go")
	model := results.LastPath(dir, modelfile.Ext)
	mustRun(t, "classification", "evaluate", "-e", specPath, "-m", model, "-b", "100000000", "--backend", "go")
	mustRun(t, "classification", "inference", "-m", model, "-d", filepath.Join(root, "val"), "-r", t.TempDir(), "-b", "100000000", "--backend", "go")

	big := filepath.Join(root, "big.cfg")
	os.WriteFile(big, []byte(strings.Replace(string(text), `"3,32,32"`, `"3,8192,8192"`, 1)), 0o644)
	code, _, errs := bonsai("classification", "train", "-e", big, "-r", filepath.Join(root, "big"), "--backend", "go")
	if code != ExitFailure || !strings.Contains(errs, "not enough memory: training with batch size 8 needs about") ||
		!strings.Contains(errs, "batch") || strings.Count(strings.TrimSpace(errs), "\n") > 2 {
		t.Errorf("a batch over memory: exit %d, %s", code, errs)
	}
}

// TestLogFileTakesEverything: with --log_file nothing reaches the terminal, not even the
// backend's fallback note, but for the "Execution status" line that TAO's launcher prints.
func TestLogFileTakesEverything(t *testing.T) {
	_, specPath := tinyProject(t, 1)
	logFile := filepath.Join(t.TempDir(), "train.log")
	code, out, errs := bonsai("classification", "train", "-e", specPath, "-r", t.TempDir(), "--backend", "auto", "--log_file", logFile)
	if code != ExitOK || out != "Execution status: PASS\n" || errs != "" {
		t.Errorf("exit %d; stdout %q; stderr %q", code, out, errs)
	}
	if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "Best epoch") {
		t.Errorf("log file lacks the run:\n%s", log)
	}
	// The backend's note is printed once per process, so check where it would go.
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr}
	closeLog, err := redirectToLog(env, logFile)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(engine.Notes, "NOTE")
	closeLog()
	if log, _ := os.ReadFile(logFile); !strings.HasSuffix(string(log), "NOTE") {
		t.Error("engine notes do not go to --log_file")
	}
}

// TestMessagesSayWhatToDo: a class folder name that cannot go into classmap.json is refused
// before anything is written; a relative dataset path that does not exist shows where it was
// looked for; evaluate before training names eval_config.model_path and -m.
func TestMessagesSayWhatToDo(t *testing.T) {
	root, specPath := tinyProject(t, 1)
	text, _ := os.ReadFile(specPath)

	os.Rename(filepath.Join(root, "train", "red"), filepath.Join(root, "train", `re"d`))
	dir := filepath.Join(root, "results")
	code, _, errs := bonsai("classification", "train", "-e", specPath, "-r", dir, "--backend", "go")
	if code == ExitOK || !strings.Contains(errs, "rename the folder") {
		t.Errorf(`class folder re"d: exit %d, %s`, code, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a results folder was made for a run that could not start")
	}
	os.Rename(filepath.Join(root, "train", `re"d`), filepath.Join(root, "train", "red"))

	specs := filepath.Join(root, "specs")
	os.MkdirAll(specs, 0o755)
	relative := filepath.Join(specs, "rel.cfg")
	os.WriteFile(relative, []byte(strings.Replace(string(text), root+"/train", "train", 1)), 0o644)
	code, _, errs = bonsai("classification", "train", "-e", relative, "-r", dir, "--backend", "go")
	if code == ExitOK || !strings.Contains(errs, "resolved against the spec's folder, "+specs) || !strings.Contains(errs, filepath.Join(specs, "train")) {
		t.Errorf("relative dataset path: exit %d, %s", code, errs)
	}

	code, _, errs = bonsai("classification", "evaluate", "-e", specPath, "--backend", "go")
	if code == ExitOK || !strings.Contains(errs, "eval_config.model_path") || !strings.Contains(errs, "-m MODEL") {
		t.Errorf("evaluate before training: exit %d, %s", code, errs)
	}
}

// TestTAOModelNameWithSafetensorsSibling: -m resnet_001.hdf5, which does not exist, names the
// resnet_001.safetensors next to it.
func TestTAOModelNameWithSafetensorsSibling(t *testing.T) {
	dir := t.TempDir()
	in := prunableModelFile(t, dir, "")
	tao := strings.TrimSuffix(in, modelfile.Ext) + ".hdf5"
	code, _, errs := bonsai("classification", "inference", "-m", tao, "-i", in)
	if code == ExitOK || !strings.Contains(errs, in+" exists") {
		t.Errorf("-m %s: exit %d, %s", tao, code, errs)
	}
}
