package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/nemesis"
)

// target is what the nemesis acts through: the Runtime for processes and the network, and the
// nodes' admin API for their clocks. It remembers clock offsets so that a node restarted by the
// nemesis comes back skewed as it was (a real machine's clock does not reset when a process dies).
type target struct {
	rt     Runtime
	admins map[string]*client.Client

	mu      sync.Mutex
	offsets map[string]time.Duration
	active  map[string]string // current fault per kind, for the progress line
}

var _ nemesis.Target = (*target)(nil)

func newTarget(rt Runtime, admins map[string]*client.Client) *target {
	return &target{rt: rt, admins: admins, offsets: map[string]time.Duration{}}
}

func (t *target) Kill(ctx context.Context, node string) error  { return t.rt.Kill(ctx, node) }
func (t *target) Pause(ctx context.Context, node string) error { return t.rt.Pause(ctx, node) }
func (t *target) Resume(ctx context.Context, node string) error {
	return t.rt.Resume(ctx, node)
}

func (t *target) Restart(ctx context.Context, node string) error {
	if err := t.rt.Restart(ctx, node); err != nil {
		return err
	}
	t.mu.Lock()
	off, skewed := t.offsets[node]
	t.mu.Unlock()
	if !skewed || off == 0 {
		return nil
	}
	return t.retryClock(ctx, node, off)
}

// retryClock sets a clock on a node that may still be starting.
func (t *target) retryClock(ctx context.Context, node string, off time.Duration) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := t.setClock(ctx, node, off)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (t *target) Partition(ctx context.Context, grudge map[string][]string) error {
	return t.rt.Partition(ctx, grudge)
}

func (t *target) SetLinks(ctx context.Context, links []nemesis.Link) error {
	ls := make([]Link, len(links))
	for i, l := range links {
		ls[i] = Link{From: l.From, To: l.To, Delay: l.Delay, Loss: l.Loss}
	}
	return t.rt.SetLinks(ctx, ls)
}

func (t *target) SetClock(ctx context.Context, node string, offset time.Duration) error {
	t.mu.Lock()
	t.offsets[node] = offset
	t.mu.Unlock()
	return t.setClock(ctx, node, offset)
}

func (t *target) setClock(ctx context.Context, node string, offset time.Duration) error {
	a, ok := t.admins[node]
	if !ok {
		return fmt.Errorf("harness: clock of unknown node %q", node)
	}
	return a.SetClock(ctx, offset, 0)
}

func (t *target) Heal(ctx context.Context) error { return t.rt.Heal(ctx) }
