// Package aggregate counts stack traces, answers the live views' queries
// and encodes snapshots.
//
// The sampler hands each unwound stack to a Store as a Trace. The Store
// interns every distinct frame and stack once and counts samples in
// one-second buckets per (pid, tid, comm, container, stack) over a
// bounded history (10 minutes by default); it never symbolizes while
// counting. Memory is bounded: buckets leave the history as time passes,
// frames and stacks that no bucket counts any more are freed, a cap on
// distinct stacks drops (and counts) what does not fit, and MemoryBytes
// reports the total.
//
// Queries (Top, Tree, CallersCallees, Processes, Containers) select a
// time window and filters with a Query. They may run on any goroutine
// while Add runs: each holds the Store's lock for one pass over the
// window's counts, then symbolizes and computes without it. Symbolizing
// queries name each distinct frame once through a Symbolizer and cache
// each stack's function list across queries.
//
// Snapshot returns an immutable Profile of everything held, and the
// encoders (WriteFolded, WritePprof) symbolize each distinct frame of
// that Profile once and write deterministic output: the same Profile and
// the same symbols always give the same bytes.
//
// Sub-package container tells the container of a process from its
// /proc/PID/cgroup, for Trace.Container.
package aggregate
