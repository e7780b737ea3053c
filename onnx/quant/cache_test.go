package quant

import "testing"

// TestCacheLines checks the cache text against lines computed by hand: 1/127 = 0.007874016 is
// 0x3c010204 in float32 and 6/127 = 0.047244094 is 0x3d418306 (the reference's examples);
// 127/127 = 1.0 is 0x3f800000.
func TestCacheLines(t *testing.T) {
	got, err := Cache("8.6.1", []string{"input_1", "conv1", "skipped", "fc"},
		map[string]float64{"input_1": 1, "conv1": 6, "fc": 127})
	if err != nil {
		t.Fatal(err)
	}
	want := "TRT-8601-EntropyCalibration2\ninput_1: 3c010204\nconv1: 3d418306\nfc: 3f800000\n"
	if string(got) != want {
		t.Errorf("cache:\n%s\nwant:\n%s", got, want)
	}
	for v, n := range map[string]int{"8.6.1": 8601, "8.5.2": 8502, "10.3.0": 10300, "8601": 8601} {
		if got, err := CacheVersion(v); err != nil || got != n {
			t.Errorf("version %s: %d %v, want %d", v, got, err, n)
		}
	}
	for _, bad := range []string{"", "8.6", "x.y.z", "8.-1.0"} {
		if _, err := CacheVersion(bad); err == nil {
			t.Errorf("version %q accepted", bad)
		}
	}
	if _, err := Cache("8.6.1", []string{"a:0"}, map[string]float64{"a:0": 1}); err == nil {
		t.Error("a name with ':' was accepted")
	}
}
