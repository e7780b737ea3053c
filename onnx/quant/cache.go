package quant

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bonsai-ml/bonsai/internal/atomicfile"
)

// DefaultTensorRTVersion is the TensorRT version written in a cache header unless asked:
// TensorRT 8.6.1, the version JetPack 5.1.2 / DeepStream 6.3 ship.
const DefaultTensorRTVersion = "8.6.1"

// CacheVersion turns a TensorRT version ("8.6.1", or already "8601") into the number a cache
// header carries: major*1000 + minor*100 + patch, as TAO computes it.
func CacheVersion(v string) (int, error) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("TensorRT version %q: want MAJOR.MINOR.PATCH such as 8.6.1", v)
		}
		nums[i] = n
	}
	switch len(nums) {
	case 1:
		return nums[0], nil
	case 3:
		return nums[0]*1000 + nums[1]*100 + nums[2], nil
	}
	return 0, fmt.Errorf("TensorRT version %q: want MAJOR.MINOR.PATCH such as 8.6.1", v)
}

// ScaleHex is a cache line's value: the IEEE-754 bits of the float32 scale amax/127, as eight
// lowercase hex digits.
func ScaleHex(amax float64) string {
	return fmt.Sprintf("%08x", math.Float32bits(float32(amax/127)))
}

// Cache is the text of a TensorRT calibration cache for the tensors named, in that order; a
// name without an amax is left out (TensorRT then runs that tensor at higher precision).
func Cache(version string, names []string, amax map[string]float64) ([]byte, error) {
	v, err := CacheVersion(version)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "TRT-%d-EntropyCalibration2\n", v)
	for _, n := range names {
		a, ok := amax[n]
		if !ok {
			continue
		}
		if strings.Contains(n, ":") {
			return nil, fmt.Errorf("tensor name %q holds ':', which calibration cache readers split at", n)
		}
		fmt.Fprintf(&b, "%s: %s\n", n, ScaleHex(a))
	}
	return b.Bytes(), nil
}

// WriteCache writes a calibration cache file atomically.
func WriteCache(path, version string, names []string, amax map[string]float64) error {
	data, err := Cache(version, names, amax)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}
