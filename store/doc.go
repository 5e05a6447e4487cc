// Package store is faultline's reference store: one node of a replicated key-value store that
// runs on its own (`faultline node`) and knows nothing of the harness.
//
// A Node serves one HTTP address: the client API (registers, PN-counters, add-wins sets), the
// internal replication API (/internal/...), the admin API (/admin/..., bearer token) and
// GET /health. docs/API.md documents every endpoint.
//
// Replication is a Core (env.go): the leaderless (Dynamo-style) mode, a consistent-hash ring
// with virtual nodes, a preference list of N, any node coordinating, per-request W and R,
// versions by lww, vclock (dotted version vectors with siblings) or abd (a linearizable quorum
// register), read repair, hinted handoff with an optional sloppy quorum, and Merkle-tree
// anti-entropy (core_leaderless*.go); or the multi-leader mode with durable outboxes, topologies
// and conflict strategies (core_multileader*.go).
//
// A core is deterministic and single-threaded: it has no I/O, goroutines, clock or global
// randomness of its own, and reaches the world only through an Env. Two things run one: the
// shell (shell.go, shell_storage.go), which is what a Node runs (an event loop, an HTTP
// transport with a fault filter, the storage engine, pebble or bbolt, with a pipelined group
// commit, the skewable wall clock), and the simulator (simnode.go, package sim).
package store
