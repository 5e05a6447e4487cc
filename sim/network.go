package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dist is the shape of the random part of a message's latency.
type Dist uint8

const (
	Constant    Dist = iota // no random part
	Exponential             // exponential with mean Scale
	LogNormal               // log-normal with median Scale and shape Sigma
)

func (d Dist) String() string {
	switch d {
	case Constant:
		return "constant"
	case Exponential:
		return "exponential"
	case LogNormal:
		return "lognormal"
	}
	return fmt.Sprintf("Dist(%d)", uint8(d))
}

// Latency is the one-way delay of a message: Base plus a random part of shape Dist, capped at
// Max.
type Latency struct {
	Base  time.Duration // every message takes at least this
	Dist  Dist          // the random part's shape
	Scale time.Duration // Exponential: mean; LogNormal: median
	Sigma float64       // LogNormal: standard deviation of the log
	Max   time.Duration // cap on the whole latency (0: none)
	_     struct{}
}

// Sample draws one latency from r.
func (l Latency) Sample(r *Rand) time.Duration {
	d := l.Base
	switch l.Dist {
	case Exponential:
		d += time.Duration(float64(float64(l.Scale) * r.ExpFloat64()))
	case LogNormal:
		d += time.Duration(float64(float64(l.Scale) * exp(float64(l.Sigma*r.NormFloat64()))))
	}
	if l.Max > 0 && d > l.Max {
		d = l.Max
	}
	return d
}

func (l Latency) validate() error {
	switch {
	case l.Base < 0 || l.Scale < 0 || l.Max < 0:
		return fmt.Errorf("latency: base (%s), scale (%s) and max (%s) must not be negative", l.Base, l.Scale, l.Max)
	case l.Dist > LogNormal:
		return fmt.Errorf("latency: unknown distribution %s", l.Dist)
	case l.Dist == LogNormal && !(l.Sigma >= 0 && l.Sigma <= 10):
		return fmt.Errorf("latency: lognormal sigma (%v) must be between 0 and 10", l.Sigma)
	case l.Max > 0 && l.Max < l.Base:
		return fmt.Errorf("latency: max (%s) below base (%s)", l.Max, l.Base)
	}
	return nil
}

// NetConfig is the network's behaviour on every link, before faults.
type NetConfig struct {
	Latency   Latency
	Loss      float64 // probability that any message is lost
	Duplicate float64 // probability that a delivered message is delivered a second time
	// Reorder lets messages on one link overtake each other: each message's latency is drawn
	// independently. Off (the default), a link is FIFO like a TCP connection: a message never
	// arrives before one sent earlier on the same directed link.
	Reorder bool
	_       struct{}
}

// DefaultNetConfig is a LAN-like TCP network: 200 µs plus an exponential tail of mean 100 µs,
// capped at 50 ms; no loss, no duplication, FIFO per link.
func DefaultNetConfig() NetConfig {
	return NetConfig{
		Latency: Latency{Base: 200 * time.Microsecond, Dist: Exponential, Scale: 100 * time.Microsecond, Max: 50 * time.Millisecond},
	}
}

// Validate reports the first problem with c.
func (c NetConfig) Validate() error {
	if err := c.Latency.validate(); err != nil {
		return fmt.Errorf("sim: net: %w", err)
	}
	if !(c.Loss >= 0 && c.Loss <= 1) || !(c.Duplicate >= 0 && c.Duplicate <= 1) {
		return fmt.Errorf("sim: net: loss (%v) and duplicate (%v) must be probabilities in 0..1", c.Loss, c.Duplicate)
	}
	return nil
}

// Message is what travels between nodes. The simulator never looks inside Body.
type Message struct {
	ID       uint64 // unique in the run; a duplicate keeps its original's
	From, To string
	Kind     string        // names the message in the trace (e.g. "put", "put-ack")
	Body     any           // the payload, shared with a duplicate: treat it as immutable
	Sent     time.Duration // virtual time it was sent
	Dup      bool          // this delivery is a duplicate
}

// LinkFault is added delay and loss on the directed link From->To (the nemesis's link fault).
type LinkFault struct {
	From, To string
	Delay    time.Duration // added to every message's latency
	Loss     float64       // probability a message is lost, on top of NetConfig.Loss
}

// NetStats counts what the network did with messages.
type NetStats struct {
	Sent       int64 // messages handed to the network
	Delivered  int64 // deliveries to a running node (duplicates included)
	Lost       int64 // lost to NetConfig.Loss or a link fault
	Partition  int64 // dropped by a partition (at send or on arrival)
	Crashed    int64 // dropped because the receiver was down or restarted meanwhile
	Duplicated int64 // extra copies made
	Held       int64 // arrivals held at a paused node (delivered on resume)
}

type linkKey struct{ from, to string }

type link struct {
	rng   *Rand
	last  time.Duration // latest arrival time scheduled on the link (FIFO clamp)
	fault LinkFault
}

// network moves messages between the world's nodes as scheduler events.
type network struct {
	w      *World
	cfg    NetConfig
	links  map[linkKey]*link
	grudge map[string]map[string]bool // node -> peers it must not hear
	nextID uint64
	stats  NetStats
}

func newNetwork(w *World, cfg NetConfig) *network {
	return &network{w: w, cfg: cfg, links: map[linkKey]*link{}, grudge: map[string]map[string]bool{}}
}

// link returns the directed link's state; its random stream depends only on the seed and the
// two names, so links are independent of one another and of creation order.
func (n *network) link(from, to string) *link {
	k := linkKey{from, to}
	l := n.links[k]
	if l == nil {
		l = &link{rng: n.w.rand.Split("link/" + from + ">" + to)}
		n.links[k] = l
	}
	return l
}

// blocked reports whether to must not hear from (a grudge).
func (n *network) blocked(from, to string) bool { return n.grudge[to][from] }

// send hands a message to the network at the current virtual time.
func (n *network) send(from, to, kind string, body any) uint64 {
	s := n.w.sched
	n.nextID++
	m := &Message{ID: n.nextID, From: from, To: to, Kind: kind, Body: body, Sent: s.Now()}
	n.stats.Sent++
	s.record(Label{Kind: "send", Node: from, Peer: to, ID: m.ID, Text: kind})
	dst := n.w.nodes[to]
	switch {
	case dst == nil:
		n.drop(m, "unknown-node")
		return m.ID
	case dst.state == Down:
		n.stats.Crashed++
		n.drop(m, "receiver-down")
		return m.ID
	case n.blocked(from, to):
		n.stats.Partition++
		n.drop(m, "partition")
		return m.ID
	}
	l := n.link(from, to)
	if l.rng.Chance(n.cfg.Loss) || l.rng.Chance(l.fault.Loss) {
		n.stats.Lost++
		n.drop(m, "lost")
		return m.ID
	}
	n.schedule(l, m, dst.inc)
	if l.rng.Chance(n.cfg.Duplicate) {
		n.stats.Duplicated++
		c := *m
		c.Dup = true
		n.schedule(l, &c, dst.inc)
	}
	return m.ID
}

// schedule draws the message's latency and queues its arrival.
func (n *network) schedule(l *link, m *Message, inc uint64) {
	at := n.w.sched.Now() + n.cfg.Latency.Sample(l.rng) + l.fault.Delay
	if !n.cfg.Reorder {
		// FIFO: never before an earlier message on the link; equal times keep send order
		// through the scheduler's sequence numbers.
		at = max(at, l.last)
		l.last = at
	}
	text := m.Kind
	if m.Dup {
		text += " dup"
	}
	n.w.sched.At(at, Label{Kind: "arrive", Node: m.To, Peer: m.From, ID: m.ID, Text: text}, func() { n.arrive(m, inc) })
}

// arrive runs when a message reaches its receiver's host.
func (n *network) arrive(m *Message, inc uint64) {
	if n.blocked(m.From, m.To) {
		n.stats.Partition++
		n.drop(m, "partition")
		return
	}
	n.w.nodes[m.To].receive(m, inc)
}

func (n *network) drop(m *Message, why string) {
	n.w.sched.record(Label{Kind: "drop", Node: m.To, Peer: m.From, ID: m.ID, Text: why})
}

// setGrudge replaces the partition; it validates first and changes nothing on error.
func (n *network) setGrudge(g map[string][]string) error {
	next := map[string]map[string]bool{}
	for _, a := range sortedKeys(g) {
		if n.w.nodes[a] == nil {
			return fmt.Errorf("sim: partition: unknown node %q", a)
		}
		for _, b := range g[a] {
			switch {
			case n.w.nodes[b] == nil:
				return fmt.Errorf("sim: partition: %s: unknown peer %q", a, b)
			case b == a:
				return fmt.Errorf("sim: partition: %s cannot be cut from itself", a)
			}
			if next[a] == nil {
				next[a] = map[string]bool{}
			}
			next[a][b] = true
		}
	}
	n.grudge = next
	if len(next) == 0 {
		n.w.sched.record(Label{Kind: "partition", Text: "none"})
		return nil
	}
	for _, a := range sortedKeys(next) {
		n.w.sched.record(Label{Kind: "partition", Node: a, Text: strings.Join(sortedKeys(next[a]), ",")})
	}
	return nil
}

// setLinks replaces every link fault.
func (n *network) setLinks(faults []LinkFault) error {
	for _, f := range faults {
		switch {
		case n.w.nodes[f.From] == nil || n.w.nodes[f.To] == nil:
			return fmt.Errorf("sim: link %s->%s: unknown node", f.From, f.To)
		case f.From == f.To:
			return fmt.Errorf("sim: link %s->%s: a link needs two nodes", f.From, f.To)
		case f.Delay < 0 || !(f.Loss >= 0 && f.Loss <= 1):
			return fmt.Errorf("sim: link %s->%s: delay (%s) must not be negative and loss (%v) must be in 0..1", f.From, f.To, f.Delay, f.Loss)
		}
	}
	keys := make([]linkKey, 0, len(n.links))
	for k := range n.links {
		keys = append(keys, k)
	}
	for _, k := range keys {
		n.links[k].fault = LinkFault{}
	}
	for _, f := range faults {
		n.link(f.From, f.To).fault = f
	}
	sorted := slices.Clone(faults)
	slices.SortStableFunc(sorted, func(a, b LinkFault) int {
		return strings.Compare(a.From+">"+a.To, b.From+">"+b.To)
	})
	if len(sorted) == 0 {
		n.w.sched.record(Label{Kind: "links", Text: "none"})
	}
	for _, f := range sorted {
		n.w.sched.record(Label{Kind: "links", Node: f.From, Peer: f.To,
			Text: fmt.Sprintf("delay=%d loss=%v", f.Delay, f.Loss)})
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
