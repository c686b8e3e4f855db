// Package interpreters groups the per-runtime packages that let the profiler
// name interpreted frames: each one detects its runtime in a process,
// publishes the layout facts the in-kernel walker needs, and symbolizes the
// frames the walker recorded by reading the process's memory.
package interpreters
