package harness

import (
	"errors"
	"fmt"
	"github.com/faultline/faultline/checker"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StoreConfig is the store under test: what every node is started with.
type StoreConfig struct {
	Mode          string        // "leaderless" or "multileader"
	Consistency   string        // leaderless: "lww", "vclock" or "abd"
	Conflict      string        // multileader: "lww", "crdt" or "siblings"
	Topology      string        // multileader: "all", "ring" or "star"
	N             int           // replicas per key (capped at the cluster size)
	W, R          int           // write and read quorums
	ReadRepair    bool          // read repair on reads whose answers differ
	AntiEntropy   time.Duration // Merkle anti-entropy interval (0 = off)
	HintedHandoff bool          // hinted handoff for unreachable replicas
	SloppyQuorum  bool          // count hinted writes toward W (breaks quorum intersection)
	Fsync         string        // "always" or "never"
	_             struct{}
}

// Config is one test: the store, the cluster, the workload, the faults and the checks. Every
// random choice derives from Seed.
type Config struct {
	Name  string      // run name, "<workload>-<nemesis>" when empty
	Nodes int         // cluster size
	Store StoreConfig // what the nodes run (the reference store's settings)
	// Target names what is tested: "" or "faultline" (the reference store), "etcd", or a target
	// file's path. cmd/faultline turns it into a harness.Target.
	Target string
	// TargetOptions are the target's own settings, e.g. {"reads": "serializable"} for etcd.
	TargetOptions map[string]string

	Workload    string        // "register", "set" or "counter"
	CRDT        bool          // set/counter: the store's CRDT ops instead of read-modify-write
	CAS         float64       // register: share of updates that are compare-and-set (needs a target with CAS)
	Keys        int           // keys the workload spreads over
	KeyDist     string        // "uniform" or "hot"
	Concurrency int           // client processes at a time
	Rate        float64       // total ops/s (0 = as fast as possible)
	OpTimeout   time.Duration // a client op taking longer is recorded as info

	Nemesis         []string      // fault kinds: partition, kill, pause, clock, delay, loss (empty = none)
	NemesisInterval time.Duration // time between fault starts
	ClockMax        time.Duration // largest clock bump
	DelayMax        time.Duration // largest added link delay (one way)
	LossMax         float64       // largest link loss probability

	Checks       []string      // checker names (nil = the workload's defaults)
	CheckTimeout time.Duration // linearizability budget
	NoExplain    bool          // verdicts only: skip the linearizability explanation (sweeps)
	NoReport     bool          // skip report.html (sweeps; `faultline serve` renders it on demand)
	CheckWorkers int           // keys checked at once (0: one per core; sweeps running a run per core: 1)

	Time        time.Duration // how long clients and nemesis run
	Seed        int64         // the run's seed
	HealthWait  time.Duration // bound on waiting for the cluster to become healthy
	QuiesceMax  time.Duration // bound on waiting for replication to settle after healing
	ResultsRoot string        // where run folders go ("results")
	// Sim is what only the sim runtime can do to the network; the other runtimes refuse a
	// non-zero one (cmd/faultline).
	Sim SimConfig
	_   struct{}
}

// SimConfig is network behaviour TCP hides from the real runtimes, which the simulator can
// inject: duplicated and reordered messages, on every link (store nodes and clients alike).
type SimConfig struct {
	Duplicate float64 // probability that a delivered message is delivered a second time
	Reorder   bool    // messages on one link may overtake each other (each draws its own latency)
}

// IsZero reports whether s asks for nothing.
func (s SimConfig) IsZero() bool { return s == SimConfig{} }

// DefaultConfig is a meaningful test with no flags: a 5-node leaderless lww cluster at N=3,
// W=R=2, a register workload over 10 keys at 10 clients, partitions every 5 s, for 30 s.
func DefaultConfig() Config {
	return Config{
		Nodes: 5,
		Store: StoreConfig{
			Mode:          "leaderless",
			Consistency:   "lww",
			Conflict:      "lww",
			Topology:      "all",
			N:             3,
			W:             2,
			R:             2,
			ReadRepair:    true,
			AntiEntropy:   time.Second,
			HintedHandoff: true,
			Fsync:         "always",
		},
		Workload:        "register",
		Keys:            10,
		KeyDist:         "uniform",
		Concurrency:     10,
		Rate:            200,
		OpTimeout:       2 * time.Second, // above the node's 1 s coordinator timeout
		Nemesis:         []string{"partition"},
		NemesisInterval: 5 * time.Second,
		ClockMax:        2 * time.Second,
		DelayMax:        200 * time.Millisecond,
		LossMax:         0.3,
		CheckTimeout:    60 * time.Second,
		Time:            30 * time.Second,
		Seed:            1,
		HealthWait:      20 * time.Second,
		QuiesceMax:      10 * time.Second,
		ResultsRoot:     "results",
	}
}

// RunName is "<workload>-<nemesis>", e.g. "register-partition" or "set-kill+pause".
func (c Config) RunName() string {
	if c.Name != "" {
		return c.Name
	}
	nem := "none"
	if len(c.Nemesis) > 0 {
		nem = strings.Join(c.Nemesis, "+")
	}
	w := c.Workload
	if c.CRDT {
		w += "-crdt"
	}
	if t := c.TargetName(); t != ReferenceTarget {
		w = t + "-" + w
	}
	return w + "-" + nem
}

// Validate reports the first problem with c; it does not change c.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Nodes < 1 || c.Nodes > 64 {
		add("nodes (%d) must be between 1 and 64", c.Nodes)
	}
	s := c.Store
	switch s.Mode {
	case "leaderless":
	case "multileader":
		switch s.Conflict {
		case "lww", "crdt", "siblings":
		default:
			add("conflict %q: want lww, crdt or siblings", s.Conflict)
		}
		switch s.Topology {
		case "all", "ring", "star":
		default:
			add("topology %q: want all, ring or star", s.Topology)
		}
	default:
		add("store mode %q: want leaderless or multileader", s.Mode)
	}
	switch s.Consistency {
	case "lww", "vclock", "abd":
	default:
		add("consistency %q: want lww, vclock or abd", s.Consistency)
	}
	if s.N < 1 || s.N > c.Nodes {
		add("n (%d) must be between 1 and the cluster size (%d)", s.N, c.Nodes)
	}
	if s.W < 1 || s.W > s.N {
		add("w (%d) must be between 1 and n (%d)", s.W, s.N)
	}
	if s.R < 1 || s.R > s.N {
		add("r (%d) must be between 1 and n (%d)", s.R, s.N)
	}
	if s.AntiEntropy < 0 {
		add("anti-entropy interval (%s) must not be negative", s.AntiEntropy)
	}
	if s.Fsync != "always" && s.Fsync != "never" {
		add("fsync %q: want always or never", s.Fsync)
	}
	switch c.Workload {
	case "register", "set", "counter":
	default:
		add("workload %q: want register, set or counter", c.Workload)
	}
	if c.CRDT && c.Workload == "register" {
		add("--crdt applies to the set and counter workloads, not %q", c.Workload)
	}
	if c.CRDT && s.Consistency == "abd" && s.Mode == "leaderless" {
		add("--crdt needs consistency lww or vclock: abd is a plain register")
	}
	if !(c.CAS >= 0 && c.CAS <= 1) {
		add("cas share (%g) must be between 0 and 1", c.CAS)
	} else if c.CAS > 0 && c.Workload != "register" {
		add("--cas applies to the register workload, not %q", c.Workload)
	}
	if c.Keys < 1 {
		add("keys (%d) must be at least 1", c.Keys)
	}
	if c.KeyDist != "uniform" && c.KeyDist != "hot" {
		add("key distribution %q: want uniform or hot", c.KeyDist)
	}
	if c.Concurrency < 1 {
		add("concurrency (%d) must be at least 1", c.Concurrency)
	}
	if c.Rate < 0 {
		add("rate (%g) must not be negative", c.Rate)
	}
	if c.OpTimeout <= 0 {
		add("op timeout (%s) must be positive", c.OpTimeout)
	}
	for _, k := range c.Nemesis {
		switch k {
		case "partition", "kill", "pause", "clock", "delay", "loss":
		default:
			add("nemesis %q: want partition, kill, pause, clock, delay or loss", k)
		}
	}
	if len(c.Nemesis) > 0 && c.NemesisInterval <= 0 {
		add("nemesis interval (%s) must be positive", c.NemesisInterval)
	}
	// A fault starts within the first 0.2 of its interval and is held for 0.4 to 0.6 of one
	// (nemesis.Generate), so a shorter run may end before any fault does: it would be labelled
	// with faults it never had.
	if len(c.Nemesis) > 0 && c.NemesisInterval > 0 && c.Time > 0 && c.Time < c.NemesisInterval*8/10 {
		add("time (%s) is shorter than 0.8 of the nemesis interval (%s): no fault would surely be injected; use a shorter --nemesis-interval, a longer --time, or --nemesis none", c.Time, c.NemesisInterval)
	}
	if slices.Contains(c.Nemesis, "clock") && c.ClockMax < time.Millisecond {
		add("clock max (%s) must be at least 1ms with clock faults", c.ClockMax)
	}
	if slices.Contains(c.Nemesis, "delay") && c.DelayMax < time.Millisecond {
		add("delay max (%s) must be at least 1ms with delay faults", c.DelayMax)
	}
	if slices.Contains(c.Nemesis, "loss") && !(c.LossMax >= 0.01 && c.LossMax <= 1) {
		add("loss max (%g) must be between 0.01 and 1 with loss faults", c.LossMax)
	}
	for _, name := range c.Checks {
		switch {
		case !slices.Contains(checker.Names(), name):
			add("checks: %q is not a checker: want %s", name, strings.Join(checker.Names(), ", "))
		case !checker.Applies(name, c.Workload):
			add("checks: %s does not apply to the %s workload", name, c.Workload)
		}
	}
	if c.Time <= 0 {
		add("time (%s) must be positive", c.Time)
	}
	if c.HealthWait <= 0 || c.QuiesceMax < 0 || c.CheckTimeout <= 0 {
		add("health wait (%s) and check timeout (%s) must be positive, quiesce (%s) not negative",
			c.HealthWait, c.CheckTimeout, c.QuiesceMax)
	}
	if !(c.Sim.Duplicate >= 0 && c.Sim.Duplicate < 1) {
		add("sim duplicate probability (%g) must be in [0, 1)", c.Sim.Duplicate)
	}
	if c.ResultsRoot == "" {
		add("results folder must not be empty")
	}
	return errors.Join(errs...)
}

// ReferenceTarget is the name of the target faultline's own store is.
const ReferenceTarget = "faultline"

// TargetName is the target's short name: Target for a built-in one, the file's base name
// without extension for a target file.
func (c Config) TargetName() string {
	switch t := c.Target; {
	case t == "":
		return ReferenceTarget
	case strings.ContainsAny(t, "/.") || strings.HasSuffix(t, ".yaml"):
		base := t[strings.LastIndex(t, "/")+1:]
		if i := strings.Index(base, "."); i > 0 {
			base = base[:i]
		}
		return base
	default:
		return t
	}
}

// TargetLabel names the target with its options, e.g. "etcd reads=serializable" (options in
// key order), or "faultline" for the reference store.
func (c Config) TargetLabel() string {
	s := c.TargetName()
	keys := make([]string, 0, len(c.TargetOptions))
	for k := range c.TargetOptions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += " " + k + "=" + c.TargetOptions[k]
	}
	return s
}

// NodeArgs are the `faultline node` store flags for c (the runtime adds id, listen, peers, data).
func (c Config) NodeArgs() []string {
	s := c.Store
	args := []string{
		"--mode", s.Mode,
		"--n", strconv.Itoa(s.N),
		"--w", strconv.Itoa(s.W),
		"--r", strconv.Itoa(s.R),
		"--fsync", s.Fsync,
	}
	// Each mode's own switches only: the node refuses the other mode's.
	if s.Mode == "multileader" {
		return append(args, "--conflict", s.Conflict, "--topology", s.Topology)
	}
	return append(args,
		"--consistency", s.Consistency,
		"--read-repair="+strconv.FormatBool(s.ReadRepair),
		"--anti-entropy", s.AntiEntropy.String(),
		"--hinted-handoff="+strconv.FormatBool(s.HintedHandoff),
		"--sloppy-quorum="+strconv.FormatBool(s.SloppyQuorum))
}

// DefaultChecks are the checkers that decide the verdict when Checks is nil: nil (the
// workload's defaults) for leaderless; for multileader, whose reads are local and so not
// linearizable by design, lost updates or lost increments and convergence after heal.
func (c Config) DefaultChecks() []string {
	if c.Store.Mode != "multileader" {
		return nil
	}
	switch c.Workload {
	case "set":
		return []string{"lost-updates", "convergence"}
	case "counter":
		return []string{"lost-increments", "convergence"}
	}
	return []string{"convergence"}
}

// NodeIDs are the node ids n1..nK.
func (c Config) NodeIDs() []string {
	ids := make([]string, c.Nodes)
	for i := range ids {
		ids[i] = "n" + strconv.Itoa(i+1)
	}
	return ids
}
