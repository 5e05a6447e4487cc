package workloads

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Workload names.
const (
	Register = "register"
	Set      = "set"
	Counter  = "counter"
)

// Key distributions.
const (
	Uniform = "uniform" // every key equally likely
	Hot     = "hot"     // key 0 takes HotShare of the ops, the rest are uniform over the others
)

// HotShare is the share of ops that go to the hot key under the "hot" distribution.
const HotShare = 0.8

// DefaultFinalProcess is the first process id of final reads when Config.FinalProcess is 0.
const DefaultFinalProcess = 1_000_000

// Config says what a workload does.
type Config struct {
	Workload    string        // "register", "set" or "counter"
	CRDT        bool          // set/counter: use the store's CRDT ops instead of client read-modify-write
	Keys        int           // number of keys, named k0..k<Keys-1>
	KeyDist     string        // "uniform" or "hot" (key k0 takes HotShare of the ops)
	Concurrency int           // worker count = number of processes live at once
	Rate        float64       // total ops/s across workers; 0 = as fast as possible
	OpTimeout   time.Duration // a client call exceeding it is recorded as info
	Seed        int64         // every random choice derives from it
	// CASShare is the share of register updates that are compare-and-set (the client must be a
	// CASClient): from the value the process last read of the key to its next unique value. A
	// process that has read no value of the key yet writes instead. 0: writes only.
	CASShare float64
	// FinalProcess is the first process id FinalReads uses; set it to Counters.NextProcess after
	// Run. 0 means DefaultFinalProcess, above anything a run reaches in practice.
	FinalProcess int
	// FinalTries is how many times FinalReads tries each key before giving up on it.
	FinalTries int
	_          struct{}
}

// DefaultConfig returns a register workload that gives a meaningful test on a 5-node cluster.
func DefaultConfig() Config {
	return Config{
		Workload:    Register,
		Keys:        10,              // enough keys for concurrency, few enough for contention
		KeyDist:     Uniform,         // every key equally likely
		Concurrency: 10,              // 10 processes live at once
		Rate:        200,             // ops/s in total
		OpTimeout:   2 * time.Second, // above the store's default quorum timeout, so it answers first
		Seed:        1,
		FinalTries:  5, // final reads retried through a slow recovery
	}
}

// Validate reports the first problem with c; it does not change c.
func (c Config) Validate() error {
	switch c.Workload {
	case Register, Set, Counter:
	default:
		return fmt.Errorf("workloads: Workload %q: want register, set or counter", c.Workload)
	}
	if c.CRDT && c.Workload == Register {
		return errors.New("workloads: CRDT applies to the set and counter workloads, not register")
	}
	if !(c.CASShare >= 0 && c.CASShare <= 1) || c.CASShare > 0 && c.Workload != Register {
		return fmt.Errorf("workloads: CASShare (%g) must be in [0, 1], and 0 but for the register workload", c.CASShare)
	}
	if c.Keys < 1 {
		return fmt.Errorf("workloads: Keys (%d) must be >= 1", c.Keys)
	}
	if c.KeyDist != Uniform && c.KeyDist != Hot {
		return fmt.Errorf("workloads: KeyDist %q: want uniform or hot", c.KeyDist)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("workloads: Concurrency (%d) must be >= 1", c.Concurrency)
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		return fmt.Errorf("workloads: Rate (%g) must be >= 0", c.Rate)
	}
	if c.OpTimeout <= 0 {
		return fmt.Errorf("workloads: OpTimeout (%s) must be > 0", c.OpTimeout)
	}
	if c.FinalProcess < 0 {
		return fmt.Errorf("workloads: FinalProcess (%d) must be >= 0", c.FinalProcess)
	}
	if c.FinalTries < 1 {
		return fmt.Errorf("workloads: FinalTries (%d) must be >= 1", c.FinalTries)
	}
	return nil
}

// KeyNames returns the workload's key names, k0..k<Keys-1>.
func KeyNames(cfg Config) []string {
	keys := make([]string, max(cfg.Keys, 0))
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return keys
}
