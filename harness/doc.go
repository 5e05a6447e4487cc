// Package harness runs one faultline test: it starts a Target's cluster through a Runtime,
// drives the workload's clients while the nemesis injects faults, heals, quiesces, takes final
// reads and replica dumps, tears the cluster down, checks the history and saves the run folder.
//
// A Target says what runs and how clients reach it (targets/reference is faultline's own store,
// targets/etcd etcd, targets/file any store speaking docs/API.md); a Runtime says where it runs
// (harness/local, docker). The harness itself talks to no store: health, clients, dumps, clock
// skew and stats all go through the Target's Cluster.
package harness
