package workloads

import (
	"fmt"
	"time"
)

// Step is one op of a worker's script: when it is due (since the workers started) and what it
// does, as the worker's generator would have chosen it. A scripted run (Procs.SetScript) runs
// exactly its steps, each at its time or, if the worker is still busy then, as soon as the
// worker is free; the op's outcome (process, node, result) is the run's own.
type Step struct {
	At    time.Duration `json:"at"`              // due, since the workers started
	Read  bool          `json:"read,omitempty"`  // a read; else the workload's update
	Key   int           `json:"key"`             // the key's index (KeyNames)
	Value int64         `json:"value,omitempty"` // the update's unique value (gen.op)
}

// Script is the steps of every worker of a run, indexed by worker.
type Script [][]Step

// Ops is the number of steps in s.
func (s Script) Ops() int {
	n := 0
	for _, w := range s {
		n += len(w)
	}
	return n
}

// Validate checks s against cfg: one list per worker, keys in range, times in order.
func (s Script) Validate(cfg Config) error {
	if len(s) != cfg.Concurrency {
		return fmt.Errorf("workloads: script: %d workers, the config has concurrency %d", len(s), cfg.Concurrency)
	}
	for i, steps := range s {
		for j, st := range steps {
			if st.Key < 0 || st.Key >= cfg.Keys {
				return fmt.Errorf("workloads: script: worker %d step %d: key %d out of range [0, %d)", i, j, st.Key, cfg.Keys)
			}
			if st.At < 0 || j > 0 && st.At < steps[j-1].At {
				return fmt.Errorf("workloads: script: worker %d step %d: time %s out of order", i, j, st.At)
			}
		}
	}
	return nil
}

// SetScript makes the workers run script instead of their generators and rate limiters. Call
// it before Start.
func (p *Procs) SetScript(script Script) error {
	if err := script.Validate(p.cfg); err != nil {
		return err
	}
	p.script = script
	p.pos = make([]int, len(script))
	return nil
}

// Started is the script of what the workers started so far (generated or scripted): running
// it again with SetScript repeats the run.
func (p *Procs) Started() Script { return p.started }
