package harness

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/faultline/faultline/nemesis"
)

// faultTarget is what the nemesis acts through: the Runtime for processes and the network, and
// the target's Clock ability for clocks. It remembers clock offsets so that a node restarted by the
// nemesis comes back skewed as it was (a real machine's clock does not reset when a process dies).
type faultTarget struct {
	rt    Runtime
	nodes []string
	clock Clock // nil: the target cannot skew clocks

	mu      sync.Mutex
	offsets map[string]time.Duration
	active  map[string]string // current fault per kind, for the progress line
}

var _ nemesis.Target = (*faultTarget)(nil)

func newFaultTarget(rt Runtime, nodes []string, cl Cluster) *faultTarget {
	clock, _ := cl.(Clock)
	return &faultTarget{rt: rt, nodes: nodes, clock: clock, offsets: map[string]time.Duration{}}
}

func (t *faultTarget) Kill(ctx context.Context, node string) error  { return t.rt.Kill(ctx, node) }
func (t *faultTarget) Pause(ctx context.Context, node string) error { return t.rt.Pause(ctx, node) }
func (t *faultTarget) Resume(ctx context.Context, node string) error {
	return t.rt.Resume(ctx, node)
}

func (t *faultTarget) Restart(ctx context.Context, node string) error {
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
func (t *faultTarget) retryClock(ctx context.Context, node string, off time.Duration) error {
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

func (t *faultTarget) Partition(ctx context.Context, grudge map[string][]string) error {
	return t.rt.Partition(ctx, grudge)
}

func (t *faultTarget) SetLinks(ctx context.Context, links []nemesis.Link) error {
	ls := make([]Link, len(links))
	for i, l := range links {
		ls[i] = Link{From: l.From, To: l.To, Delay: l.Delay, Loss: l.Loss}
	}
	return t.rt.SetLinks(ctx, ls)
}

func (t *faultTarget) SetClock(ctx context.Context, node string, offset time.Duration) error {
	t.mu.Lock()
	t.offsets[node] = offset
	t.mu.Unlock()
	return t.setClock(ctx, node, offset)
}

func (t *faultTarget) setClock(ctx context.Context, node string, offset time.Duration) error {
	if !slices.Contains(t.nodes, node) {
		return fmt.Errorf("harness: clock of unknown node %q", node)
	}
	if t.clock == nil {
		return fmt.Errorf("harness: clock of %s: %w: the target has no way to skew its clock", node, ErrUnsupportedFault)
	}
	return t.clock.SetClock(ctx, node, offset)
}

func (t *faultTarget) Heal(ctx context.Context) error { return t.rt.Heal(ctx) }
