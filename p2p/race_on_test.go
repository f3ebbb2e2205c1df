//go:build race

package p2p

// raceEnabled: the race detector is on; heavy tests scale down.
const raceEnabled = true
