package harness

import (
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/workloads"
)

// The pieces of a run that do not depend on where it runs, for a runtime that drives the whole
// test itself (the simulator, harness/simrt) instead of through Run.

// ConfigDoc is config.json's content: cfg (loadable with LoadConfig) plus the runtime it ran on.
func ConfigDoc(cfg Config, runtime string) any { return configDoc(cfg, runtime) }

// Schedule is the run's nemesis schedule: given (a replay's) if not nil, else generated from
// cfg's seed for nodes.
func Schedule(cfg Config, nodes []string, given *nemesis.Schedule) (nemesis.Schedule, error) {
	return schedule(cfg, nodes, given)
}

// WorkloadConfig is the workload cfg describes.
func WorkloadConfig(cfg Config) workloads.Config { return workloadConfig(cfg) }
