// Package sim is the deterministic simulation substrate of issue 11: one process, one
// goroutine, virtual time, one seed. It plays the network, the disks, the clocks and the
// processes of a cluster so that a store core (see "The core interface" below) runs under
// faults with byte-identical results from a seed, thousands of seeds a minute.
//
// # What is simulated
//
//   - Time: a Scheduler orders events by (virtual time, sequence number); ties fire in the
//     order they were scheduled. Nothing reads the wall clock, nothing starts a goroutine, no
//     map is iterated where order could leak into behaviour, and no package-level state exists.
//   - Randomness: one root Rand from the seed, split into named sub-streams ("node/n1",
//     "link/n1>n2", "disk/n3", "user/<name>"), each derived from the seed and its name only, so
//     adding a consumer does not perturb the others. Floats, bounded integers and the
//     exponential and normal variates are computed with IEEE basic operations only (our own
//     ln and exp), so a seed gives the same run on every platform and GOMAXPROCS.
//   - Network (World.Partition, SetLinks, NetConfig): messages between named nodes (store nodes
//     and clients alike), delivered as events after a latency of Base plus an exponential or
//     log-normal tail, capped. Per directed link: FIFO like a TCP connection unless Reorder is
//     on; loss and duplication probabilities (default 0); nemesis link faults (added delay,
//     loss). Partitions are grudges, the nemesis's shape (node -> peers it must not hear), so
//     one-way cuts come free; a message is dropped if its link is cut when it is sent or when it
//     arrives. The sender learns nothing of a drop, as with the store's fault filter: it must
//     time out.
//   - Disks (Disk, DiskConfig): a keyspace of buckets, keys and bytes written in atomic batches,
//     read by Get and ordered Iterate. A write is visible at once and durable only after Sync;
//     a crash loses every unsynced batch, or with torn crashes keeps a random prefix of them
//     (never part of a batch). Env.Persist adds the write and sync latencies.
//   - Clocks (Clock): per node, virtual time + offset + drift (ppm), as store.Clock does with
//     real time; a wall view (jumps with the offset) and a monotonic view (drift only, never
//     backwards). Node timers run on the node's clock, so a fast clock fires them sooner.
//   - Processes (World.Crash, Restart, Pause, Resume): a crash discards the program (its
//     volatile state), messages in flight to it, its timers and its unsynced writes; a restart
//     boots a new incarnation on what the disk kept; a paused node runs nothing, and what
//     arrives for it (messages, timers, disk completions) waits and runs, in order, on Resume.
//   - Trace: every fired event and every decision (send, drop and why, crash and what it lost,
//     faults installed, program notes) is one line in a sha256-hashed log; equal hashes mean
//     equal runs (testdata/golden.txt pins seed 1).
//
// Not simulated: bandwidth and congestion, CPU time (handlers take no virtual time), message
// corruption, disk errors and full disks, latency variance of the disk, connection resets
// seen by the sender.
//
// # The core interface
//
// The store core (DESIGN.md, "Store core and shell") will be driven Step-style, as etcd-io/raft
// drives its state machine through RawNode: inputs in, effects out as data, no callbacks into
// the environment during a step. A sketch, for the next session to make real:
//
//	type Input struct {
//		Now  time.Time     // the node's wall clock (skewed); the core never reads a clock
//		Mono time.Duration // its monotonic clock, for timeouts
//		Ev   Event         // ClientRequest | PeerMessage | TimerFired | StorageDone
//	}
//	type Effects struct {
//		Persist []Write   // batches; Sync true = durable before Done; Done comes back as StorageDone{ID}
//		Send    []Message // to peers (by node id)
//		Reply   []Reply   // to clients: ok, failed, or indeterminate
//		Timers  []Timer   // set (id, after) or cancel
//	}
//	func New(cfg store.Config, st Storage, rng *rand.Rand) *Core // Storage: read-only Get/Iterate
//	func (c *Core) Step(in Input) Effects
//
// Why Step/effects and not an Env the core calls (Now/Send/Persist/After/Rand): raft's
// rawnode.go keeps the state machine free of I/O by returning a Ready (entries to persist,
// messages to send) and letting the caller carry it out, with one ordering rule, persist before
// send. We take the same shape without raft's Ready/Advance handshake, because a leaderless
// store has no single log to acknowledge: each Step returns its effects. Effects as data can be
// traced and hashed (two runs that diverge show it at the first differing effect), printed
// in datadriven tests (etcd's interaction_test.go style), executed differently by the shell
// (HTTP, bbolt with group commit, the wall clock) and by the simulator (this package:
// Env.Send, Env.Persist, Env.After), and they make the durability rule explicit: an ack that
// depends on a write is only emitted after the StorageDone for it arrives, which the simulated
// disk then tests by crashing between the write and its sync. An Env of callbacks would be
// easier to port today's goroutine code onto, but it lets the core observe the world in the
// middle of a step, hides the persist/send order in call order, and needs closures as timer
// callbacks, which cannot be printed or compared. Reads of local storage stay synchronous
// (Storage.Get/Iterate on the sim Disk or the shell's engine): they are deterministic and
// local, and making them effects would turn every coordinator step into two. Randomness is a
// seeded *rand.Rand given to New (in the simulator, rand.New(env.Rand()): Rand is a
// math/rand/v2 Source); the seed is saved with the run.
//
// In the simulator one node is then a Program adapter: Receive(m) becomes
// Step(Input{Now: env.Now(), Mono: env.Mono(), Ev: PeerMessage{m}}), and the adapter carries
// out the effects: Send via env.Send, Persist via env.Persist (its done feeds StorageDone back),
// Timers via env.After (firing feeds TimerFired), Replies as messages to the client's node.
// Clients are nodes running the workload generators with Jepsen process semantics, recording
// into a sim/record History (virtual-time stamps, hashed as history.jsonl's bytes); the
// nemesis schedule is played by sim/faults (Play: each event at its virtual time as a World
// fault; Target: the World as a nemesis.Target, so nemesis.HealAll heals it).
package sim
