package nemesis

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Where a fault sits in its slot, as fractions of the interval: it starts within
// [startMin, startMin+startSpread) and is held for [holdMin, holdMin+holdSpread), so it stops by
// 0.8 of the slot and the rest is a recovery window.
const (
	startMin    = 0.1
	startSpread = 0.1
	holdMin     = 0.4
	holdSpread  = 0.2
	maxStrobes  = 100 // flips of one strobe, at most
)

// Generate builds the schedule of cfg, deterministically from cfg.Seed.
func Generate(cfg Config) (Schedule, error) {
	if err := cfg.Validate(); err != nil {
		return Schedule{}, err
	}
	s := Schedule{
		Seed:     cfg.Seed,
		Nodes:    slices.Clone(cfg.Nodes),
		Faults:   slices.Clone(cfg.Faults),
		Interval: cfg.Interval,
		Duration: cfg.Duration,
		Events:   []Event{},
	}
	if s.Faults == nil {
		s.Faults = []Kind{}
	}
	if len(cfg.Faults) == 0 {
		return s, nil
	}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e656d65736973))}
	var turn []Kind
	for slot := time.Duration(0); ; slot++ {
		t0 := slot * cfg.Interval
		start := t0 + g.frac(startMin, startSpread)
		stop := start + g.frac(holdMin, holdSpread)
		if stop > cfg.Duration {
			break
		}
		if len(turn) == 0 {
			turn = slices.Clone(cfg.Faults)
			g.rng.Shuffle(len(turn), func(i, j int) { turn[i], turn[j] = turn[j], turn[i] })
		}
		kind := turn[0]
		turn = turn[1:]
		switch kind {
		case Partition:
			g.partition(start, stop)
		case Kill:
			g.nodeFault(Kill, FKill, FRestart, start, stop)
		case Pause:
			g.nodeFault(Pause, FPause, FResume, start, stop)
		case Clock:
			g.clock(start, stop)
		case Delay, Loss:
			g.links(kind, start, stop)
		}
	}
	s.Events = g.events
	slices.SortStableFunc(s.Events, func(a, b Event) int { return int(a.At - b.At) })
	return s, nil
}

// generator holds the state of one Generate call.
type generator struct {
	cfg    Config
	rng    *rand.Rand
	events []Event
}

// frac returns a time in [min, min+spread) intervals, rounded to the millisecond.
func (g *generator) frac(min, spread float64) time.Duration {
	d := time.Duration((min + spread*g.rng.Float64()) * float64(g.cfg.Interval))
	return max(d.Round(time.Millisecond), time.Millisecond)
}

func (g *generator) add(e Event) { g.events = append(g.events, e) }

// minority is how many nodes may be down at once: (n-1)/2, at least 1.
func (g *generator) minority() int { return max(1, (len(g.cfg.Nodes)-1)/2) }

// pick returns c distinct random nodes, in cluster order.
func (g *generator) pick(c int) []string {
	idx := g.rng.Perm(len(g.cfg.Nodes))[:c]
	slices.Sort(idx)
	out := make([]string, c)
	for i, j := range idx {
		out[i] = g.cfg.Nodes[j]
	}
	return out
}

// shuffled returns the nodes in a random order.
func (g *generator) shuffled() []string {
	out := slices.Clone(g.cfg.Nodes)
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// nodeFault kills or pauses 1..minority nodes at start and undoes it at stop.
func (g *generator) nodeFault(kind Kind, on, off string, start, stop time.Duration) {
	nodes := g.pick(1 + g.rng.IntN(g.minority()))
	for _, n := range nodes {
		g.add(Event{At: start, Kind: kind, F: on, Node: n, Detail: n})
	}
	for _, n := range nodes {
		g.add(Event{At: stop, Kind: kind, F: off, Node: n, Detail: n})
	}
}

// clock bumps 1..minority nodes' clocks (or strobes one) and resets them at stop.
func (g *generator) clock(start, stop time.Duration) {
	if g.rng.IntN(3) == 0 {
		g.strobe(start, stop)
		return
	}
	nodes := g.pick(1 + g.rng.IntN(g.minority()))
	for _, n := range nodes {
		off := g.offset()
		g.add(Event{At: start, Kind: Clock, F: FClockBump, Node: n, Offset: off, Detail: n + " " + signed(off)})
	}
	for _, n := range nodes {
		g.add(Event{At: stop, Kind: Clock, F: FClockReset, Node: n, Detail: n + " 0s"})
	}
}

// strobe flips one node's clock between an offset and 0 every StrobePeriod.
func (g *generator) strobe(start, stop time.Duration) {
	n := g.pick(1)[0]
	off := g.offset()
	p := g.cfg.StrobePeriod
	flips := 0
	for at := start; at < stop && flips < maxStrobes; at += p {
		e := Event{At: at, Kind: Clock, F: FClockBump, Node: n}
		if flips%2 == 0 {
			e.Offset = off
		}
		e.Detail = n + " " + signed(e.Offset) + " (strobe " + signed(off) + "/0s every " + p.String() + ")"
		g.add(e)
		flips++
	}
	g.add(Event{At: stop, Kind: Clock, F: FClockReset, Node: n, Detail: n + " 0s"})
}

// offset is a clock offset of magnitude in [ClockMax/4, ClockMax], either sign, in ms.
func (g *generator) offset() time.Duration {
	m := g.cfg.ClockMax
	d := m/4 + time.Duration(g.rng.Float64()*float64(m-m/4))
	d = max(d.Round(time.Millisecond), time.Millisecond)
	if g.rng.IntN(2) == 0 {
		d = -d
	}
	return d
}

func signed(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// links degrades every link, or the links to and from one node, with delay or loss.
func (g *generator) links(kind Kind, start, stop time.Duration) {
	var l Link
	var amount string
	if kind == Delay {
		m := g.cfg.DelayMax
		l.Delay = max((m/4 + time.Duration(g.rng.Float64()*float64(m-m/4))).Round(time.Millisecond), time.Millisecond)
		amount = l.Delay.String()
	} else {
		p := g.cfg.LossMax
		l.Loss = max(float64(int((p/4+g.rng.Float64()*(p-p/4))*100+0.5))/100, 0.01)
		amount = formatPercent(l.Loss)
	}
	var links []Link
	var detail string
	nodes := g.cfg.Nodes
	if g.rng.IntN(2) == 0 {
		detail = "all links " + amount
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b {
					links = append(links, Link{From: a, To: b, Delay: l.Delay, Loss: l.Loss})
				}
			}
		}
	} else {
		n := g.pick(1)[0]
		detail = n + " <-> * " + amount
		for _, b := range nodes {
			if b != n {
				links = append(links, Link{From: n, To: b, Delay: l.Delay, Loss: l.Loss},
					Link{From: b, To: n, Delay: l.Delay, Loss: l.Loss})
			}
		}
	}
	on, off := FStartDelay, FStopDelay
	if kind == Loss {
		on, off = FStartLoss, FStopLoss
	}
	g.add(Event{At: start, Kind: kind, F: on, Links: links, Detail: detail})
	g.add(Event{At: stop, Kind: kind, F: off, Detail: detail})
}

func formatPercent(p float64) string {
	return itoa(int(p*100+0.5)) + "%"
}
