//go:build !race

package sha256d

const raceEnabled = false
