//go:build amd64 && !purego

package purego

import "golang.org/x/sys/cpu"

var haveFastKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA
