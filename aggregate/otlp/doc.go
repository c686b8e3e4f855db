// Package otlp forwards pftop's samples to an OpenTelemetry Collector as
// OTLP profiles (the v1development protos) over gRPC.
//
// The flow is Batch -> Encode -> Validate -> Exporter:
//
//   - A Batch collects traces as the sampler delivers them, keeping what
//     the aggregate.Store drops (each sample's CPU and timestamp), bounded
//     in memory; Take swaps it for an empty one once per export interval.
//   - Encode turns a taken Window into one ExportProfilesServiceRequest:
//     one ResourceProfiles per process, one deduplicated dictionary shared
//     by all, every index 0 the zero value.
//   - Validate checks every index of a request. The Collector does not
//     check them, and a bad index crashes or misleads whatever reads the
//     data after it, so nothing is sent unchecked.
//   - An Exporter sends requests from a bounded queue, gzip-compressed,
//     with retries, exponential backoff and jitter, counting what it
//     exported and what it had to drop.
package otlp
