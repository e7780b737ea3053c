// Package testutil holds what Bonsai's tests share: the switch for long acceptance checks, the
// way to find ../shared/data, and numeric comparisons.
package testutil

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/splitmix"
)

// EnvAcceptance turns on the long acceptance checks (training runs that prove accuracy).
// The README's test command leaves them off; .ci/run and scripts/acceptance.sh set it.
const EnvAcceptance = "BONSAI_ACCEPTANCE"

// Acceptance skips the test unless $BONSAI_ACCEPTANCE is 1.
func Acceptance(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvAcceptance) != "1" {
		t.Skipf("acceptance check: set %s=1 to run it (scripts/acceptance.sh does)", EnvAcceptance)
	}
}

// RepoRoot is the folder holding go.mod, found by walking up from the test's working folder.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// SharedData returns ../shared/data/<parts...> (beside the repository) or skips the test with a
// message naming the missing path.
func SharedData(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (shared test data not installed); skipping", filepath.Clean(p))
	}
	return filepath.Clean(p)
}

// Near reports whether got is within tol of want, relative to max(1, |want|); NaN is never near.
func Near(got, want, tol float64) bool {
	return !math.IsNaN(got) && math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// AssertClose fails unless got and want agree element by element within tol (see Near).
func AssertClose[T float32 | float64](t testing.TB, what string, got []T, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !Near(float64(got[i]), want[i], tol) {
			t.Fatalf("%s[%d] = %v, want %v (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

// Rand returns a deterministic uniform [0,1) generator seeded by seed.
func Rand(seed uint64) func() float64 {
	s := seed
	return func() float64 {
		s++
		return float64(splitmix.Mix(s)>>11) / (1 << 53)
	}
}

// DebianPython is the interpreter that has Debian's python3-* modules (python3-protobuf,
// python3-crc32c, python3-torch, ...), whatever python3 is first on the PATH.
const DebianPython = "/usr/bin/python3"

// Python returns DebianPython after checking that it imports every module, or skips the test
// with a message naming what is missing and the script that installs it.
func Python(t testing.TB, installer string, modules ...string) string {
	t.Helper()
	if _, err := os.Stat(DebianPython); err != nil {
		t.Skipf("%s is absent; skipping (CI installs it with %s)", DebianPython, installer)
	}
	for _, m := range modules {
		if out, err := exec.Command(DebianPython, "-c", "import "+m).CombinedOutput(); err != nil {
			t.Skipf("%s cannot import %s (%v: %s); skipping (CI installs it with %s)", DebianPython, m, err, strings.TrimSpace(string(out)), installer)
		}
	}
	return DebianPython
}
