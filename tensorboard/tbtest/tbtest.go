// Package tbtest reads TensorBoard event files back for tests, with an independent reader:
// read_events.py, run by Debian's python3 with python3-protobuf and python3-crc32c.
package tbtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bonsai-ml/bonsai/internal/testutil"
)

// Event is one event as read_events.py prints it.
type Event struct {
	WallTime    float64 `json:"wall_time"`
	Step        int64   `json:"step"`
	FileVersion string  `json:"file_version"`
	Values      []Value `json:"values"`
}

// Value is one Summary.Value: a scalar, an image or a histogram.
type Value struct {
	Tag         string     `json:"tag"`
	SimpleValue *float64   `json:"simple_value"`
	Image       *Image     `json:"image"`
	Histo       *Histogram `json:"histo"`
}

// Image is a Summary.Image, with the SHA-256 of its PNG bytes.
type Image struct {
	Height, Width, Colorspace int
	PNGSHA256                 string `json:"png_sha256"`
	PNGMagic                  string `json:"png_magic"` // the first 8 bytes, base64
}

// Histogram is a HistogramProto.
type Histogram struct {
	Min, Max, Num, Sum float64
	SumSquares         float64   `json:"sum_squares"`
	BucketLimit        []float64 `json:"bucket_limit"`
	Bucket             []float64
}

// Read runs read_events.py on an event file (it checks every CRC) and returns its events,
// skipping the test when python3-protobuf or python3-crc32c is missing.
func Read(t testing.TB, path string) []Event {
	t.Helper()
	py := testutil.Python(t, ".ci/deps/tensorboard.sh", "google.protobuf", "crc32c")
	script := filepath.Join(testutil.RepoRoot(t), "tensorboard", "tbtest", "read_events.py")
	out, err := exec.Command(py, script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("read_events.py %s: %v\n%s", path, err, out)
	}
	var events []Event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("read_events.py line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	return events
}

// Scalars collects every scalar of events by tag, as (step, value) pairs in file order.
func Scalars(events []Event) map[string][][2]float64 {
	out := map[string][][2]float64{}
	for _, e := range events {
		for _, v := range e.Values {
			if v.SimpleValue != nil {
				out[v.Tag] = append(out[v.Tag], [2]float64{float64(e.Step), *v.SimpleValue})
			}
		}
	}
	return out
}
