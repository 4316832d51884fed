//go:build race

package engine

// raceEnabled says the race detector is on: sync.Pool then drops what it
// is given at random, so that regexp allocates, and the allocation tests
// have nothing to check.
const raceEnabled = true
