package nemesis

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
)

// fakeTarget keeps the state a real cluster would be in and logs every call.
type fakeTarget struct {
	mu     sync.Mutex
	calls  []string
	killed map[string]bool
	paused map[string]bool
	grudge map[string][]string
	links  []Link
	clocks map[string]time.Duration
	fail   map[string]error // call name ("kill", "heal", ...) -> error to return
}

var _ Target = (*fakeTarget)(nil)

func newFakeTarget() *fakeTarget {
	return &fakeTarget{killed: map[string]bool{}, paused: map[string]bool{}, clocks: map[string]time.Duration{}, fail: map[string]error{}}
}

func (f *fakeTarget) call(name, arg string) error {
	f.calls = append(f.calls, strings.TrimSpace(name+" "+arg))
	return f.fail[name]
}

func (f *fakeTarget) Kill(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("kill", n); err != nil {
		return err
	}
	f.killed[n] = true
	return nil
}

func (f *fakeTarget) Restart(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("restart", n); err != nil {
		return err
	}
	delete(f.killed, n)
	return nil
}

func (f *fakeTarget) Pause(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("pause", n); err != nil {
		return err
	}
	f.paused[n] = true
	return nil
}

func (f *fakeTarget) Resume(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("resume", n); err != nil {
		return err
	}
	delete(f.paused, n)
	return nil
}

func (f *fakeTarget) Partition(_ context.Context, g map[string][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("partition", fmt.Sprint(len(g))); err != nil {
		return err
	}
	f.grudge = maps.Clone(g)
	return nil
}

func (f *fakeTarget) SetLinks(_ context.Context, ls []Link) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("links", fmt.Sprint(len(ls))); err != nil {
		return err
	}
	f.links = slices.Clone(ls)
	return nil
}

func (f *fakeTarget) SetClock(_ context.Context, n string, off time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("clock", n+" "+off.String()); err != nil {
		return err
	}
	f.clocks[n] = off
	return nil
}

func (f *fakeTarget) Heal(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("heal", ""); err != nil {
		return err
	}
	f.grudge, f.links, f.paused = nil, nil, map[string]bool{}
	return nil
}

// faults describes the faults still in effect, "" when healthy.
func (f *fakeTarget) faults() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.killed {
		out = append(out, "killed "+n)
	}
	for n := range f.paused {
		out = append(out, "paused "+n)
	}
	if len(f.grudge) > 0 {
		out = append(out, "partitioned")
	}
	if len(f.links) > 0 {
		out = append(out, "links")
	}
	for n, off := range f.clocks {
		if off != 0 {
			out = append(out, "clock "+n)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

type recorder struct {
	mu  sync.Mutex
	ops []history.Op
}

func (r *recorder) Record(op history.Op) history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = int64(len(r.ops))
	r.ops = append(r.ops, op)
	return op
}

// fakeClock jumps to each wake-up time at once; stopAfter > 0 ends the run (ctx cancel) when
// that many sleeps have returned.
type fakeClock struct {
	mu        sync.Mutex
	t         time.Time
	sleeps    int
	stopAfter int
	cancel    func()
}

func (c *fakeClock) clock() clock {
	return clock{
		now: func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t },
		sleepUntil: func(ctx context.Context, t time.Time) bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.stopAfter > 0 && c.sleeps == c.stopAfter {
				c.cancel()
			}
			if ctx.Err() != nil {
				return false
			}
			c.sleeps++
			if t.After(c.t) {
				c.t = t
			}
			return true
		},
	}
}

func newTestRand(seed int64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 42)) }
