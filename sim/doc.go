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
// The store core runs on this package through store.SimBoot (store/simnode.go): each store
// node's Program builds the same core `faultline node` runs (store.Core, store/env.go) over an
// Env made of this package's primitives. A Call to a peer is a message carrying a copy of the
// request (a typed deep copy, checked on arrival as the HTTP side checks it) with an id; the
// answer comes back as a message, and an Env.After timer ends the call when none does. After is
// a node timer, Persist a Disk batch (synced under fsync always), Get and Scan read the Disk, Now
// and Mono are the node's Clock, Rand its seeded stream, Event goes to the run's events.jsonl.
// Clients are nodes of their own (harness/simrt) sending client/write and client/read
// messages; the nemesis schedule is played by sim/faults.
//
// The core takes an Env of callbacks rather than the Step/effects shape first sketched here
// (inputs in, effects out as data, after etcd-io/raft's RawNode): the store's behaviours were
// goroutine code that fans out calls and races their answers against a deadline, and a callback
// per answer carried that code over one function at a time with its decisions (the pure
// decide_*.go functions) unchanged. Determinism does not suffer: the core runs only inside the
// Env's serialized callbacks, so the Env orders everything, and every Env effect (send, timer,
// persist) is an event of this package's hashed trace, so two runs that diverge still show it
// at the first differing event.
package sim
