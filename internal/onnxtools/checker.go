package onnxtools

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Python is the interpreter that has Debian's python3-onnx.
const Python = "/usr/bin/python3"

// checkScript runs onnx.checker.check_model with full_check (shape inference included) on each
// file named on the command line.
const checkScript = `import sys, onnx
for p in sys.argv[1:]:
    onnx.checker.check_model(onnx.load(p), full_check=True)
`

// FindChecker reports whether python3 with the onnx module is installed; the error says how to
// install it.
func FindChecker() error {
	if err := exec.Command(Python, "-c", "import onnx.checker").Run(); err != nil {
		return fmt.Errorf("python3-onnx is not installed (Debian: apt-get install python3-onnx): %v", err)
	}
	return nil
}

// RequireChecker skips the test when the ONNX checker is missing.
func RequireChecker(t testing.TB) {
	t.Helper()
	if err := FindChecker(); err != nil {
		t.Skipf("ONNX checker skipped: %v", err)
	}
}

// Check runs the ONNX checker (full check) on the files.
func Check(paths ...string) error {
	out, err := exec.Command(Python, append([]string{"-c", checkScript}, paths...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("onnx.checker rejects %s: %v: %s", strings.Join(paths, ", "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
