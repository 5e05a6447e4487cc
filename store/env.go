package store

import (
	"math/rand/v2"
	"time"
)

// This file is the contract between the store's deterministic core and what runs it (issue 11,
// DESIGN.md "Store core and shell").
//
// The core is all replication behaviour of both modes: quorum coordination with honest
// outcomes, the ring, lww/vclock/abd, read repair, hinted handoff and sloppy quorum, Merkle
// anti-entropy, failure suspicion, the multi-leader outboxes with retry and backoff, topologies
// and conflict resolution. It starts no goroutine, holds no lock, reads no clock, does no
// network or disk I/O of its own and draws no global randomness: everything it does to the
// world goes through an Env, and everything the world does to it comes in through its Core
// methods or through a callback it handed to the Env.
//
// Two things run a core:
//   - the shell (`faultline node`): HTTP server and client, the storage engine with group
//     commit, the wall clock (store.Clock, skewable), time.AfterFunc, crypto-seeded randomness;
//     it serializes every call into the core on one goroutine (an event loop);
//   - the simulator (--runtime sim): one goroutine, virtual time, seeded network, disks and
//     clocks (package sim).
//
// Why an Env of callbacks and not the Step/effects shape sim/doc.go first sketched: the core's
// behaviours were goroutine code (fan out, race the answers against a deadline), and a callback
// per answer ports that code one function at a time with its decisions unchanged (the pure
// decide_*.go functions keep deciding), where Step/effects would have needed an explicit state
// machine with ids for every operation. Determinism is the same: the core runs only inside the
// Env's serialized callbacks, so the Env alone orders everything, and the simulator traces every
// Env call (sends, persists, timers, events) into its hashed trace, so two runs that diverge
// still show it at the first differing call.

// Env is the world as a core sees it. A core calls its Env only while it is running (inside a
// Core method or a callback), and the Env never calls back into the core from inside one of
// these calls: every callback comes later, one at a time, on the core's single thread.
type Env interface {
	// Now is this node's wall clock, with whatever offset and drift the node's clock has. It
	// is for timestamps (lww) and for reports; never for timeouts.
	Now() time.Time
	// Mono is this node's monotonic clock: time since the node started, never backwards.
	Mono() time.Duration
	// Rand is this node's randomness: seeded by the simulator, crypto-seeded by the shell.
	Rand() *rand.Rand

	// Call sends req to peer as one internal request and calls done exactly once: with the
	// peer's answer (a pointer to req.answer()'s type), or with an error, always a
	// *replicaError: refused (the peer answered an error: status and message carried; or it
	// is unknown or could not be reached at all), or no answer within timeout (then the
	// request may or may not have been applied). An answer that comes after the timeout is
	// dropped. Calling oneself is a bug: a core applies its own writes locally.
	Call(peer string, req Request, timeout time.Duration, done func(answer any, err error))

	// After calls f once d has passed on this node's monotonic clock, unless cancel was called
	// first. A timer of a crashed node never fires.
	After(d time.Duration, f func()) (cancel func())

	// Persist writes b to local storage atomically. Get and Scan see b at once; done is called
	// once b is as durable as the node's fsync policy asks (fsync always: it survives a crash;
	// never: it may be lost in one), with an error if it could not be written (then b may
	// still be visible: the core treats that key's state as unknown). A core answers nothing
	// that depends on b (an ack, a read of a key b wrote) before done: that is how a node
	// never tells a client a write is durable when it is not, nor shows a value a crash can
	// take back.
	Persist(b *Batch, done func(error))
	// Get returns a copy of the value of key in bucket, or nil if there is none, counting every
	// batch given to Persist so far.
	Get(bucket string, key []byte) ([]byte, error)
	// Scan calls fn with each key of bucket at or after from, in key order, until fn returns
	// false, counting every batch given to Persist so far. key and value are valid only during
	// the call, and fn must not call Persist.
	Scan(bucket string, from []byte, fn func(key, value []byte) bool) error

	// Event reports one of the core's internal decisions (an lww write discarded, siblings
	// created, a hint stored or delivered, a read repair, an anti-entropy transfer, an outbox
	// entry applied or superseded). The shell logs it at debug level; the simulator writes it
	// to the run folder (events.jsonl), where report.html shows it beside the anomalies.
	Event(e Event)
}

// Request is an internal request: one of the wire types (readReq, writeReq, coordinateReq,
// treeReq, syncReq, pingReq, mlApplyReq). The shell POSTs it as JSON to its route; the simulator
// carries it as a message (a copy, never shared memory).
type Request interface {
	// route is the request's path on the internal API, such as "/internal/read".
	route() string
	// answer returns a pointer to a new zero value of the answer's type (the shell decodes
	// the peer's JSON into it); nil when the answer carries nothing.
	answer() any
}

// Core is one node's replication mode, driven by a shell or by the simulator. Its methods are
// called one at a time, on one thread, with the Env the core was built with. Each operation
// ends with exactly one call of its done (or reply) callback, possibly from inside the method,
// usually later from an Env callback.
type Core interface {
	// Start arms the core's background work (hint delivery and probes, anti-entropy, outbox
	// delivery) as Env timers. Called once, before anything else reaches the core.
	Start()
	// Write applies op to key with quorums q (q.W is the write's quorum; abd also reads at
	// q.R) and calls done with nil only once acknowledged. Errors are *OpError carrying the
	// honest outcome.
	Write(key string, op WriteOp, q Quorums, done func(error))
	// Read returns the merged record of key as read by a quorum of q.R (abd writes back at
	// q.W). A record of another kind than kind is an *OpError with status 409.
	Read(key, kind string, q Quorums, done func(Record, error))
	// Handle answers an internal request from peer `from` (already authenticated and
	// validated by whoever decoded it). reply gets the answer (a pointer of req.answer()'s
	// type, or nil) or an *OpError, whose status the caller sees.
	Handle(from string, req Request, reply func(answer any, err error))
	// Stats adds the mode's own figures to GET /admin/stats (called on the core's thread).
	Stats() map[string]any
}

// Event is one internal decision of a core, as Env.Event reports it. Node and Time are filled in
// by the Env (the reporting node, and its clock); the core fills the rest.
type Event struct {
	Time time.Duration `json:"t_ns"` // the simulator's virtual time, or the shell's time since start
	Node string        `json:"node"`
	// Kind names the decision: lww_discard, siblings, hint_stored, hint_delivered, hint_dead,
	// read_repair, ae_transfer, ml_applied, ml_superseded, ml_conflict.
	Kind string `json:"kind"`
	Key  string `json:"key,omitempty"`
	Peer string `json:"peer,omitempty"` // the other node involved, if one is
	// Kept and Lost are the versions involved (Record.Version), when the decision chose
	// between two: the one kept and the one discarded.
	Kept string `json:"kept,omitempty"`
	Lost string `json:"lost,omitempty"`
	// Why says the decision in words, with the values behind it: both timestamps and the
	// clock readings that made them, for an lww discard.
	Why string `json:"why,omitempty"`
}
