// Package workloads drives a store's clients during a faultline run and records what they do as
// history ops.
//
// Three workloads exist, each over a few keys:
//
//   - register: reads and blind writes of values unique across the run. A write's history value
//     is its argument; a read returns nil (absent), an integer, or a sorted list (siblings).
//   - set: adds of unique elements and reads of the whole set (a sorted list). With CRDT the
//     store's set CRDT is used; otherwise each add is a client read-modify-write of a register
//     holding a comma-separated list.
//   - counter: increments by 1 and reads. With CRDT the store's PN-counter is used; otherwise each
//     increment is a client read-modify-write of a register holding a decimal number.
//
// Jepsen process semantics hold: every worker has one outstanding op at a time, under a process
// id; an op that ends indeterminate (info) retires its process, and the worker continues as
// process+Concurrency with a fresh client. All random choices (op kinds, keys, rate jitter) come
// from per-worker generators derived from Config.Seed.
//
// The package talks to the store only through Client; workloads/storeclient adapts the store's
// Go client to it.
package workloads
