package store

import (
	"context"
	"testing"
)

// onCore runs f on n's loop with n's core (a *llCore or a *mlCore) and waits until f calls
// done, as the core's own work would (on the loop, possibly from a later callback).
func onCore[C Core](t testing.TB, n *Node, f func(c C, done func())) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	if _, err := await(ctx, n.sh, func(reply func(struct{})) {
		f(n.sh.core.(C), func() { reply(struct{}{}) })
	}); err != nil {
		t.Fatalf("running on %s's loop: %v", n.cfg.ID, err)
	}
}

// storedHints lists the hints n holds (none under multi-leader, which keeps none).
func storedHints(t testing.TB, n *Node) []hint {
	t.Helper()
	var out []hint
	onCore(t, n, func(core Core, done func()) {
		c, ok := core.(*llCore)
		if !ok {
			done()
			return
		}
		h, err := c.hints()
		if err != nil {
			t.Errorf("listing %s's hints: %v", n.cfg.ID, err)
		}
		out = h
		done()
	})
	return out
}

// coreStats is n's core's Stats, read on its loop.
func coreStats(t testing.TB, n *Node) map[string]any {
	t.Helper()
	var out map[string]any
	onCore(t, n, func(c Core, done func()) { out = c.Stats(); done() })
	return out
}
