//go:build !amd64 || purego

package sha256d

func hasAVX2() bool   { return false }
func hasAVX512() bool { return false }

// scanLanes is never called where no multi-lane kernel is supported.
func scanLanes(k Kernel, _ *job, _ uint32, _ uint64) (uint64, uint32) {
	panic("sha256d: kernel " + k.String() + " is not built for this architecture")
}
