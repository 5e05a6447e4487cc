// Package store is faultline's reference store: one node of a replicated key-value store that
// runs on its own (`faultline node`) and knows nothing of the harness.
//
// A Node serves one HTTP address: the client API (registers, PN-counters, add-wins sets), the
// internal replication API (/internal/...), the admin API (/admin/..., bearer token) and
// GET /health. docs/API.md documents every endpoint.
//
// Replication is pluggable behind Replicator; this package implements the leaderless
// (Dynamo-style) mode: a consistent-hash ring with virtual nodes, a preference list of N, any node
// coordinating, per-request W and R, versions by lww, vclock (dotted version vectors with
// siblings) or abd (a linearizable quorum register), read repair, hinted handoff with an optional
// sloppy quorum, and Merkle-tree anti-entropy.
//
// The pure parts (ring, records and their merges, version vectors, Merkle trees, quorum outcome
// rules, the skewable clock) have no I/O and take their time and randomness from the caller; the
// node wraps them with storage on an Engine (pebble or bbolt), an HTTP transport with a fault
// filter, and goroutines.
package store
