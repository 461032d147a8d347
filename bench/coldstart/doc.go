// Package coldstart holds BenchmarkColdStart: each eksguard function's time
// from process start to its first answer under the Lambda Runtime
// Interface Emulator (see BENCHMARKS.md). `make bench` runs it; it carries
// the e2e build tag, so plain `go test ./...` leaves it out and `make e2e`
// compiles it.
package coldstart
