// Package aggregate counts stack traces and encodes them.
//
// The sampler hands each unwound stack to a Store as a Trace. The Store
// interns every distinct stack once and counts samples per (pid, tid, comm,
// stack); it never symbolizes. Snapshot returns an immutable Profile, and
// the encoders (WriteFolded, WritePprof) symbolize each distinct frame of
// that Profile once through a Symbolizer and write deterministic output:
// the same Profile and the same symbols always give the same bytes.
package aggregate
