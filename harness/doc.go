// Package harness runs one faultline test: it starts a cluster through a Runtime, drives the
// workload's clients while the nemesis injects faults, heals, quiesces, takes final reads and
// replica dumps, tears the cluster down, checks the history and saves the run folder.
package harness
