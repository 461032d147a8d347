// Package coldstart holds BenchmarkColdStart: each eksguard function's time
// from process start to its first answer under the Lambda Runtime
// Interface Emulator (see BENCHMARKS.md). `make bench` runs it; `make test`
// only compiles it.
package coldstart
