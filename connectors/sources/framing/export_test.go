package framing

// BenchEvents is benchEvents, for the benchmarks of package framing_test.
var BenchEvents = benchEvents
