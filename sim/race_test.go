//go:build race

package sim

// raceEnabled is true under the race detector, which slows the event loop
// twenty-fold; the long simulations then skip, and run in make test's pass
// without it (make sim).
const raceEnabled = true
