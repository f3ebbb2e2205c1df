//go:build !race

package miner

// raceEnabled: the race detector is on.
const raceEnabled = false
