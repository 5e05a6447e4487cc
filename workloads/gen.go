package workloads

import (
	"math/rand/v2"
	"time"
)

// Read shares of each workload's ops; the rest are writes, adds or increments.
const (
	registerReads = 0.5
	setReads      = 0.1
	counterReads  = 0.2
)

// gen chooses a worker's ops: read or update, which key, and the update's unique value. Its
// sequence depends only on the seed and the worker index, never on timing or results.
type gen struct {
	rng       *rand.Rand
	keys      int
	hot       bool
	readShare float64
	stride    int64 // Concurrency: values of worker w are w+1, w+1+stride, ...
	casShare  float64
	next      int64
}

func newGen(cfg Config, worker int) *gen {
	g := &gen{
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(worker)<<1)),
		keys:     cfg.Keys,
		hot:      cfg.KeyDist == Hot,
		stride:   int64(cfg.Concurrency),
		casShare: cfg.CASShare,
		next:     int64(worker) + 1,
	}
	switch cfg.Workload {
	case Register:
		g.readShare = registerReads
	case Set:
		g.readShare = setReads
	default:
		g.readShare = counterReads
	}
	return g
}

// op returns the next op: whether it is a read, its key index, and for updates a value unique
// across all workers (register writes and set adds use it; counter increments ignore it), and
// whether a register update is a compare-and-set (never with CASShare 0, which draws nothing
// more, so such runs keep their sequences).
func (g *gen) op() (read bool, key int, value int64, cas bool) {
	read = g.rng.Float64() < g.readShare
	key = g.key()
	if !read {
		value = g.next
		g.next += g.stride
		if g.casShare > 0 {
			cas = g.rng.Float64() < g.casShare
		}
	}
	return read, key, value, cas
}

func (g *gen) key() int {
	if g.keys == 1 {
		return 0
	}
	if g.hot {
		if g.rng.Float64() < HotShare {
			return 0
		}
		return 1 + g.rng.IntN(g.keys-1)
	}
	return g.rng.IntN(g.keys)
}

// limiter spaces a worker's ops to an average interval with seeded jitter (each gap uniform in
// [0.5, 1.5) times the interval). A worker that falls behind does not burst to catch up by more
// than one interval.
type limiter struct {
	rng      *rand.Rand
	interval time.Duration // 0: no limit
	next     time.Time
	timer    *time.Timer
}

func newLimiter(cfg Config, worker int, now time.Time) *limiter {
	l := &limiter{rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(worker)<<1|1))}
	if cfg.Rate > 0 {
		l.interval = time.Duration(float64(time.Second) * float64(cfg.Concurrency) / cfg.Rate)
		// Stagger the workers' first ops over one interval.
		l.next = now.Add(time.Duration(l.rng.Float64() * float64(l.interval)))
	}
	return l
}

// advance moves the schedule one gap forward from the op that just started at now and returns
// when the next op is due.
func (l *limiter) advance(now time.Time) time.Time {
	if l.next.Before(now.Add(-l.interval)) {
		l.next = now // fell behind by more than a gap: do not burst
	}
	l.next = l.next.Add(time.Duration((0.5 + l.rng.Float64()) * float64(l.interval)))
	return l.next
}

// wait blocks until the next op is due; false if done closed first.
func (l *limiter) wait(done <-chan struct{}) bool {
	if l.interval == 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	now := time.Now()
	d := l.next.Sub(now)
	if d > 0 {
		if l.timer == nil {
			l.timer = time.NewTimer(d)
		} else {
			l.timer.Reset(d)
		}
		select {
		case <-done:
			l.timer.Stop()
			return false
		case <-l.timer.C:
		}
		now = l.next
	} else {
		select {
		case <-done:
			return false
		default:
		}
	}
	l.advance(now)
	return true
}
