package nemesis

import (
	"errors"
	"fmt"
	"time"
)

// Config says what faults a schedule injects into which nodes, and when.
type Config struct {
	Faults       []Kind        // kinds to inject, taken in turn (empty: no faults)
	Nodes        []string      // node ids of the cluster
	Interval     time.Duration // one fault per interval: started, held for part of it, stopped
	Duration     time.Duration // length of the run; every fault stops within it
	Seed         int64         // every choice derives from it
	ClockMax     time.Duration // largest clock bump, either way
	DelayMax     time.Duration // largest added link delay
	LossMax      float64       // largest link loss probability
	StrobePeriod time.Duration // how often a strobed clock flips
	_            struct{}
}

// DefaultConfig returns every fault on a 5-node cluster over a 30 s run.
func DefaultConfig() Config {
	return Config{
		Faults:       AllKinds(),
		Nodes:        []string{"n1", "n2", "n3", "n4", "n5"},
		Interval:     5 * time.Second,        // a fault and a recovery window every 5 s
		Duration:     30 * time.Second,       // faultline run's default --time
		Seed:         1,                      //
		ClockMax:     5 * time.Second,        // far beyond any write gap, so LWW picks wrong winners
		DelayMax:     200 * time.Millisecond, // long enough to reorder, short of the op timeout
		LossMax:      0.3,                    // lossy, not a partition
		StrobePeriod: 250 * time.Millisecond, // several flips per window
	}
}

// Validate reports the first problem with c; it does not change c.
func (c Config) Validate() error {
	seen := map[Kind]bool{}
	for _, k := range c.Faults {
		if !k.Valid() {
			return fmt.Errorf("nemesis: unknown fault %q: %s", string(k), specHelp)
		}
		if seen[k] {
			return fmt.Errorf("nemesis: fault %q listed twice", string(k))
		}
		seen[k] = true
	}
	if len(c.Nodes) == 0 {
		return errors.New("nemesis: Nodes is empty")
	}
	ids := map[string]bool{}
	for _, n := range c.Nodes {
		if n == "" {
			return errors.New("nemesis: Nodes has an empty id")
		}
		if ids[n] {
			return fmt.Errorf("nemesis: node %q listed twice", n)
		}
		ids[n] = true
	}
	for _, k := range []Kind{Partition, Delay, Loss} {
		if seen[k] && len(c.Nodes) < 2 {
			return fmt.Errorf("nemesis: fault %q needs at least 2 nodes, have %d", string(k), len(c.Nodes))
		}
	}
	if c.Interval < 10*time.Millisecond {
		return fmt.Errorf("nemesis: Interval (%s) must be >= 10ms", c.Interval)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("nemesis: Duration (%s) must be > 0", c.Duration)
	}
	if seen[Clock] {
		if c.ClockMax < time.Millisecond {
			return fmt.Errorf("nemesis: ClockMax (%s) must be >= 1ms with clock faults", c.ClockMax)
		}
		if c.StrobePeriod < time.Millisecond {
			return fmt.Errorf("nemesis: StrobePeriod (%s) must be >= 1ms with clock faults", c.StrobePeriod)
		}
	}
	if seen[Delay] && c.DelayMax < time.Millisecond {
		return fmt.Errorf("nemesis: DelayMax (%s) must be >= 1ms with delay faults", c.DelayMax)
	}
	if seen[Loss] && !(c.LossMax >= 0.01 && c.LossMax <= 1) {
		return fmt.Errorf("nemesis: LossMax (%g) must be in [0.01, 1] with loss faults", c.LossMax)
	}
	return nil
}
