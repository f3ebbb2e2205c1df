//go:build !purego

package sha256d

import "golang.org/x/sys/cpu"

// The CPU features, read once; x/sys/cpu has applied GODEBUG's cpu.* = off
// settings to them.
var (
	cpuAVX2   = cpu.X86.HasAVX2
	cpuAVX512 = cpu.X86.HasAVX512F
)

func hasAVX2() bool   { return cpuAVX2 }
func hasAVX512() bool { return cpuAVX512 }

// scanLanes runs the multi-lane kernel k (AVX2 or AVX512) over n nonces
// from lo; see scanAVX2.
func scanLanes(k Kernel, j *job, lo uint32, n uint64) (off uint64, mask uint32) {
	if k == AVX512 {
		return scanAVX512((*[jobWords]uint32)(j), lo, n)
	}
	return scanAVX2((*[jobWords]uint32)(j), lo, n)
}
