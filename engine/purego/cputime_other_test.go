//go:build !unix

package purego

import "time"

func cpuTime() time.Duration { return 0 }
