package sim

import (
	"fmt"
	"strconv"
	"time"
)

// State is a node's process state.
type State uint8

const (
	Down   State = iota // crashed or not started: volatile state gone, inbound messages dropped
	Up                  // running
	Paused              // stopped (SIGSTOP): nothing runs; arrivals and timers wait for Resume
)

func (s State) String() string {
	switch s {
	case Down:
		return "down"
	case Up:
		return "up"
	case Paused:
		return "paused"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Program is what runs on a node: one incarnation of a process. It holds the process's
// volatile state; the simulator calls it on its one goroutine and never concurrently.
type Program interface {
	// Receive handles a message delivered to the node.
	Receive(m Message)
}

// Boot starts a node's program (at first start and after every restart) with the node's
// environment; whatever the program knew before a crash is gone, and its disk holds only what
// survived.
type Boot func(env *Env) Program

// Node is one simulated process with its own clock and disk.
type Node struct {
	w       *World
	id      string
	state   State
	inc     uint64 // incarnation: incremented at every boot
	boot    Boot
	prog    Program
	env     *Env
	clock   *Clock
	disk    *Disk
	rng     *Rand // the node's stream; each incarnation splits its own
	held    []heldEvent
	persist uint64 // persist ids, for the trace
}

type heldEvent struct {
	label Label
	fn    func()
}

// ID is the node's name.
func (n *Node) ID() string { return n.id }

// State is the node's process state.
func (n *Node) State() State { return n.state }

// Incarnation counts the node's boots (1 after the first).
func (n *Node) Incarnation() uint64 { return n.inc }

// Clock is the node's clock.
func (n *Node) Clock() *Clock { return n.clock }

// Disk is the node's disk.
func (n *Node) Disk() *Disk { return n.disk }

// Program is the running incarnation's program (nil when down).
func (n *Node) Program() Program { return n.prog }

// start boots a new incarnation.
func (n *Node) start() {
	n.inc++
	n.state = Up
	n.disk.Recover()
	n.env = &Env{n: n, inc: n.inc, rng: n.rng.Split("inc/" + strconv.FormatUint(n.inc, 10))}
	n.w.sched.record(Label{Kind: "boot", Node: n.id, ID: n.inc})
	n.prog = n.boot(n.env)
}

// crash kills the process: its volatile state, held events and unsynced writes are lost.
func (n *Node) crash() {
	lost := n.disk.Crash()
	n.w.sched.record(Label{Kind: "crash", Node: n.id, ID: n.inc,
		Text: "held=" + strconv.Itoa(len(n.held)) + " lost-batches=" + strconv.Itoa(lost)})
	n.state = Down
	n.prog, n.env, n.held = nil, nil, nil
}

func (n *Node) pause() {
	n.state = Paused
	n.w.sched.record(Label{Kind: "pause", Node: n.id, ID: n.inc})
}

// resume runs everything held while paused, in the order it arrived, now.
func (n *Node) resume() {
	n.state = Up
	n.w.sched.record(Label{Kind: "resume", Node: n.id, ID: n.inc, Text: "held=" + strconv.Itoa(len(n.held))})
	held := n.held
	n.held = nil
	for _, h := range held {
		n.w.sched.After(0, h.label, h.fn)
	}
}

// run runs fn for incarnation inc now, holds it if the node is paused, and calls dropped (if
// not nil) if that incarnation is gone, now or when a held fn comes back after Resume.
func (n *Node) run(inc uint64, l Label, fn, dropped func()) {
	switch {
	case n.inc != inc || n.state == Down:
		if dropped != nil {
			dropped()
		}
	case n.state == Paused:
		l.Text += " held"
		n.held = append(n.held, heldEvent{label: l, fn: func() { n.run(inc, l, fn, dropped) }})
	default:
		fn()
	}
}

// receive handles a message arriving for incarnation inc.
func (n *Node) receive(m *Message, inc uint64) {
	if n.state == Up && n.inc == inc { // the common case, without closures
		n.w.net.stats.Delivered++
		n.prog.Receive(*m)
		return
	}
	if n.state == Paused && n.inc == inc {
		n.w.net.stats.Held++
	}
	l := Label{Kind: "deliver", Node: m.To, Peer: m.From, ID: m.ID, Text: m.Kind}
	n.run(inc, l, func() {
		n.w.net.stats.Delivered++
		n.prog.Receive(*m)
	}, func() {
		n.w.net.stats.Crashed++
		n.w.net.drop(m, "receiver-crashed")
	})
}

// Env is one incarnation's view of the world: its clock, network, timers, disk and randomness.
// It is what a store core's shell is made of in the simulator. Once the incarnation is gone
// (the node crashed), every call does nothing.
type Env struct {
	n   *Node
	inc uint64
	rng *Rand
}

func (e *Env) live() bool { return e.n.inc == e.inc && e.n.state != Down }

// ID is the node's name.
func (e *Env) ID() string { return e.n.id }

// Incarnation is this incarnation's number (1 for the first boot).
func (e *Env) Incarnation() uint64 { return e.inc }

// Now is the node's wall clock (with its offset and drift).
func (e *Env) Now() time.Time { return e.n.clock.Wall(e.n.w.sched.Now()) }

// Mono is the node's monotonic clock (drift, no offset).
func (e *Env) Mono() time.Duration { return e.n.clock.Mono(e.n.w.sched.Now()) }

// Time is the world's virtual time (the same for every node; for stamping reports, never for
// the node's own decisions, which see only its clock).
func (e *Env) Time() time.Duration { return e.n.w.sched.Now() }

// Rand is this incarnation's random stream.
func (e *Env) Rand() *Rand { return e.rng }

// Send sends a message; it returns the message id (0 if the incarnation is gone).
func (e *Env) Send(to, kind string, body any) uint64 {
	if !e.live() {
		return 0
	}
	return e.n.w.net.send(e.n.id, to, kind, body)
}

// After runs fn once d has passed on the node's clock (drift counts, at the drift in effect
// now; offsets do not). A paused node's timers wait for Resume; a crashed incarnation's never
// fire.
func (e *Env) After(d time.Duration, name string, fn func()) Timer {
	if !e.live() {
		return Timer{}
	}
	n := e.n
	l := Label{Kind: "timer", Node: n.id, ID: e.inc, Text: name}
	return n.w.sched.After(n.clock.Virtual(d), l, func() { n.run(e.inc, l, fn, nil) })
}

// Cancel stops a timer; false if it already fired or was cancelled.
func (e *Env) Cancel(t Timer) bool { return e.n.w.sched.Cancel(t) }

// Disk is the node's disk (reads and writes are immediate; see Persist for timed writes).
func (e *Env) Disk() *Disk { return e.n.disk }

// Persist writes b now (visible to reads at once) and calls done when the write completes,
// after the world's write latency, plus the sync latency with sync, when the disk is synced
// first. If the node crashes before then, done is never called, and b is durable only if a
// sync finished before the crash (or a torn crash kept it). While paused, done waits for
// Resume (the write itself completes).
func (e *Env) Persist(b *Batch, sync bool, done func(error)) {
	if !e.live() {
		return
	}
	n := e.n
	err := n.disk.Write(b)
	lat := n.w.cfg.Disk.WriteLatency
	text := "write"
	if sync {
		lat += n.w.cfg.Disk.SyncLatency
		text = "write+sync"
	}
	n.persist++
	l := Label{Kind: "persisted", Node: n.id, ID: n.persist, Text: text}
	inc := e.inc
	n.w.sched.After(lat, l, func() {
		if n.inc != inc || n.state == Down {
			return
		}
		if sync && err == nil {
			err = n.disk.Sync()
		}
		if done != nil {
			n.run(inc, l, func() { done(err) }, nil)
		}
	})
}

// Note writes a line of the program's own into the trace (e.g. a client's op result), so that
// it counts in the run's hash.
func (e *Env) Note(text string) {
	if e.live() {
		e.n.w.sched.record(Label{Kind: "note", Node: e.n.id, ID: e.inc, Text: text})
	}
}
