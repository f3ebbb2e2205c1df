//go:build race

package miner

// raceEnabled: the race detector is on. Instrumented builds allocate in
// append(b, make([]byte, n)...), which crypto/sha256's AppendBinary uses.
const raceEnabled = true
