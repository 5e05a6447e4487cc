// Package simrt is the simulator runtime (`faultline run --runtime sim`): one whole test in one
// goroutine, in virtual time, everything derived from the seed. A sim.World holds the cluster's
// store nodes, each running the store's own core (store.SimBoot, the same code `faultline node`
// runs) on a simulated network, disk and clock; the workload's workers (workloads.Procs, the
// same generators and Jepsen process semantics as the real runtimes) are client nodes on that
// network; the nemesis schedule (nemesis.Generate, from the seed) is played by sim/faults in
// virtual time. Then the run heals, settles, takes final reads and replica dumps, and saves the
// same run folder as harness.Run (history.jsonl, config.json with runtime "sim", results.json,
// stats.json, report.html), plus events.jsonl: the store's internal decisions.
//
// The same config and seed give a byte-identical history.jsonl on any machine and GOMAXPROCS:
// nothing in the simulated run reads the wall clock (history times are virtual) or lets map
// order leak into what happens. The wall clock is read only to report the speed (virtual seconds
// per wall second) and by the checkers' time budget, which run after the simulation.
package simrt
