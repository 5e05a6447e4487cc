package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DiskConfig is how the world's disks behave.
type DiskConfig struct {
	WriteLatency time.Duration // from Env.Persist to its completion without sync
	SyncLatency  time.Duration // added for a Persist with sync
	// Torn crashes keep a random prefix of the unsynced batches instead of none.
	Torn bool
	_    struct{}
}

// Config is a simulated world.
type Config struct {
	Seed  uint64    // every random choice derives from it
	Epoch time.Time // every node's wall clock at virtual time 0, before skew
	Net   NetConfig
	Disk  DiskConfig
	// KeepTrace retains the trace's lines in memory (for debugging and golden files); the
	// hash is kept either way.
	KeepTrace bool
	_         struct{}
}

// DefaultConfig is a LAN (DefaultNetConfig) and SSD-like disks, seed 1.
func DefaultConfig() Config {
	return Config{
		Seed:  1,
		Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), // fixed, never the host's clock
		Net:   DefaultNetConfig(),
		Disk: DiskConfig{
			WriteLatency: 20 * time.Microsecond, // a page-cache write
			SyncLatency:  time.Millisecond,      // an fsync on a fast SSD
		},
	}
}

// Validate reports the problems with c; it does not change c.
func (c Config) Validate() error {
	var errs []error
	if err := c.Net.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Disk.WriteLatency < 0 || c.Disk.SyncLatency < 0 {
		errs = append(errs, fmt.Errorf("sim: disk: write latency (%s) and sync latency (%s) must not be negative",
			c.Disk.WriteLatency, c.Disk.SyncLatency))
	}
	return errors.Join(errs...)
}

// World is a whole simulated cluster: a scheduler, a network, and nodes with clocks and disks.
// Everything happens on the caller's goroutine, in virtual time, from one seed.
//
// The fault methods (Crash, Restart, Pause, Resume, Partition, SetLinks, SetClock, Heal) act
// at the current virtual time; schedule them with At to run them later, as a nemesis schedule
// would.
type World struct {
	cfg   Config
	sched *Scheduler
	rand  *Rand
	net   *network
	nodes map[string]*Node
	ids   []string // in the order added
}

// New returns an empty world.
func New(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &World{cfg: cfg, sched: NewScheduler(NewTrace(cfg.KeepTrace)), rand: NewRand(cfg.Seed), nodes: map[string]*Node{}}
	w.net = newNetwork(w, cfg.Net)
	w.sched.record(Label{Kind: "world", Text: "seed=" + strconv.FormatUint(cfg.Seed, 10)})
	return w, nil
}

// AddNode adds a node (a store node or a client: the network does not tell them apart) and
// boots it now.
func (w *World) AddNode(id string, boot Boot) (*Node, error) {
	switch {
	case id == "" || strings.ContainsAny(id, " \t\n>,"):
		return nil, fmt.Errorf("sim: node id %q: want a non-empty name without spaces, '>' or ','", id)
	case w.nodes[id] != nil:
		return nil, fmt.Errorf("sim: node %q added twice", id)
	case boot == nil:
		return nil, fmt.Errorf("sim: node %q: no Boot", id)
	}
	n := &Node{w: w, id: id, boot: boot, clock: NewClock(w.cfg.Epoch), rng: w.rand.Split("node/" + id)}
	n.disk = NewDisk(w.cfg.Disk.Torn, w.rand.Split("disk/"+id))
	w.nodes[id] = n
	w.ids = append(w.ids, id)
	n.start()
	return n, nil
}

// Node returns the node called id, or nil.
func (w *World) Node(id string) *Node { return w.nodes[id] }

// Nodes lists the node ids in the order they were added.
func (w *World) Nodes() []string { return append([]string(nil), w.ids...) }

// Now is the current virtual time.
func (w *World) Now() time.Duration { return w.sched.Now() }

// Rand returns the world's sub-stream called name (for a workload generator, a nemesis).
func (w *World) Rand(name string) *Rand { return w.rand.Split("user/" + name) }

// At schedules fn (a fault, a client's arrival) at virtual time at; name appears in the trace.
func (w *World) At(at time.Duration, name string, fn func()) Timer {
	return w.sched.At(at, Label{Kind: "world", Text: name}, fn)
}

// Step fires the next event; false when nothing is pending.
func (w *World) Step() bool { return w.sched.Step() }

// Run runs every event due up to virtual time until and returns how many fired.
func (w *World) Run(until time.Duration) int { return w.sched.Run(until) }

// Fired is the number of events run so far.
func (w *World) Fired() uint64 { return w.sched.Fired() }

// Trace is the run's trace.
func (w *World) Trace() *Trace { return w.sched.Trace() }

// NetStats returns the network's counters.
func (w *World) NetStats() NetStats { return w.net.stats }

func (w *World) node(op, id string) (*Node, error) {
	n := w.nodes[id]
	if n == nil {
		return nil, fmt.Errorf("sim: %s: unknown node %q", op, id)
	}
	return n, nil
}

// Crash kills node id (SIGKILL): volatile state, messages in flight to it and unsynced disk
// writes are lost. Crashing a down node does nothing.
func (w *World) Crash(id string) error {
	n, err := w.node("crash", id)
	if err == nil && n.state != Down {
		n.crash()
	}
	return err
}

// Restart boots a crashed node as a new incarnation on what its disk kept. Restarting a
// running node does nothing (as the nemesis's restart after kill).
func (w *World) Restart(id string) error {
	n, err := w.node("restart", id)
	if err == nil && n.state == Down {
		n.start()
	}
	return err
}

// Pause stops a running node (SIGSTOP): its arrivals and timers wait.
func (w *World) Pause(id string) error {
	n, err := w.node("pause", id)
	if err == nil && n.state == Up {
		n.pause()
	}
	return err
}

// Resume continues a paused node; what waited runs now, in order.
func (w *World) Resume(id string) error {
	n, err := w.node("resume", id)
	if err == nil && n.state == Paused {
		n.resume()
	}
	return err
}

// Partition installs a grudge, replacing any earlier one: grudge[a] lists the peers node a
// must not hear (a one-way cut when b does not list a too). An empty grudge lifts it. A
// message is dropped if its link is cut when it is sent or when it arrives.
func (w *World) Partition(grudge map[string][]string) error { return w.net.setGrudge(grudge) }

// SetLinks replaces every link fault (delay and loss on directed links).
func (w *World) SetLinks(faults []LinkFault) error { return w.net.setLinks(faults) }

// SetClock sets node id's clock offset and drift from now.
func (w *World) SetClock(id string, offset time.Duration, driftPPM float64) error {
	n, err := w.node("clock", id)
	if err != nil {
		return err
	}
	if err := n.clock.Set(w.sched.Now(), offset, driftPPM); err != nil {
		return err
	}
	w.sched.record(Label{Kind: "clock", Node: id, Text: fmt.Sprintf("offset=%d drift=%v", offset, driftPPM)})
	return nil
}

// Heal lifts partitions and link faults and resumes paused nodes (clocks and crashed nodes
// stay as they are, as in the nemesis's heal).
func (w *World) Heal() {
	_ = w.net.setGrudge(nil)
	_ = w.net.setLinks(nil)
	for _, id := range w.ids {
		if n := w.nodes[id]; n.state == Paused {
			n.resume()
		}
	}
}
