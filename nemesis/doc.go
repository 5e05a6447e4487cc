// Package nemesis plans and injects the faults of a faultline run.
//
// A schedule is data: Generate builds it from a Config, deterministically from the seed, so a
// schedule can be saved (schedule.json), golden-tested and replayed. The run is cut into slots
// of Config.Interval; in each slot one fault, taken in turn from a seeded shuffle of the enabled
// kinds, starts a little after the slot begins, is held for part of the slot and is stopped
// before it ends, so the cluster sees a fault window and a recovery window every interval.
//
// The fault kinds:
//
//   - partition: a grudge (node -> peers it must not hear) of one of these shapes: random halves,
//     one node isolated, a majorities ring (every node sees a majority, no two the same one), a
//     bridge (two halves joined only through one node), one-way (one half cannot hear the other,
//     which still hears it).
//   - kill: SIGKILL of 1..minority nodes, restarted on the same data at the end of the window.
//   - pause: SIGSTOP of 1..minority nodes, resumed at the end of the window.
//   - clock: a bump of 1..minority nodes' clocks by up to +-ClockMax, or a strobe of one node's
//     clock between an offset and 0 every StrobePeriod (expanded into events here), reset to 0
//     at the end.
//   - delay, loss: added delay or loss on every link, or on the links to and from one node.
//
// At most a minority of nodes ((n-1)/2, at least 1) is killed or paused at once, so a quorum
// configuration can make progress; a cluster of fewer than 3 nodes has no minority and loses
// one node anyway.
//
// Execute runs a schedule through a Target (the harness's runtime and the nodes' admin API) and
// records every fault start and end as a history op of the nemesis process; HealAll ends
// whatever may still be active.
package nemesis
