package store

import (
	"testing"

	"github.com/faultline/faultline/sim"
)

// TestSimDuplicateClientRequestDropped: the simulated network delivers every message twice;
// a node applies a client's increment once (TCP never duplicates an HTTP request), so ten
// increments of 1 read back as 10, and the node counts what it dropped.
func TestSimDuplicateClientRequestDropped(t *testing.T) {
	scfg := sim.DefaultConfig()
	scfg.Seed = 5
	scfg.Net.Duplicate = 1
	c := newSimClusterOn(t, scfg, llTestConfig(3))
	for i := 0; i < 10; i++ {
		mustOK(t, "incr", c.do("n1", SimKindWrite, func(id uint64) any {
			return SimWrite{ID: id, Key: "cnt", Op: WriteOp{Kind: KindCounter, Delta: 1}, Q: Quorums{W: 3}}
		}))
	}
	c.run(4 * scfg.Net.Latency.Max) // the last duplicates arrive
	r := c.do("n2", SimKindRead, func(id uint64) any { return SimRead{ID: id, Key: "cnt", Kind: KindCounter, Q: Quorums{R: 3}} })
	mustOK(t, "read", r)
	if v, err := r.Record.CounterValue(); err != nil || v != 10 {
		t.Fatalf("counter after 10 increments of 1, every message duplicated: got %d (%v), want 10", v, err)
	}
	if got := c.stat("n1", "client_duplicate_dropped"); got < 10 {
		t.Errorf("n1 client_duplicate_dropped: got %d, want at least 10 (every write came twice)", got)
	}
	if got := c.stat("n2", "client_duplicate_dropped"); got != 1 {
		t.Errorf("n2 client_duplicate_dropped: got %d, want 1 (the read came twice)", got)
	}
}
