package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
)

// e2eOf is node id's end-to-end lag window for origin (zero if none).
func (c *testCluster) e2eOf(id, origin string) mlE2E {
	return e2eWindows(c.t, c.node(id))[origin]
}

// e2eWindows copies n's end-to-end lag windows per origin (read on its loop).
func e2eWindows(t testing.TB, n *Node) map[string]mlE2E {
	t.Helper()
	out := map[string]mlE2E{}
	onCore(t, n, func(c *mlCore, done func()) {
		for origin, w := range c.e2e {
			cp := *w
			cp.lags.buf = append([]time.Duration(nil), w.lags.buf...)
			out[origin] = cp
		}
		done()
	})
	return out
}

// mlApply applies entries from peer on n's core, as an ml/apply request would.
func mlApply(t testing.TB, n *Node, from string, entries []mlEntry) (mlApplyResp, error) {
	t.Helper()
	var resp mlApplyResp
	var err error
	onCore(t, n, func(c *mlCore, done func()) {
		c.apply(from, entries, func(ans any, e error) {
			if r, ok := ans.(*mlApplyResp); ok {
				resp = *r
			}
			err = e
			done()
		})
	})
	return resp, err
}

// TestMultileaderE2ELagTwoHops writes once on a leader whose write reaches the far leader through
// a middle one (ring n1->n2->n3; star leaf n2 -> hub n1 -> leaf n3), with the middle leader's link
// to the far one delayed, and checks the end-to-end lags: one sample per write on each other
// leader, none for writes never made, and the far leader's lag at least the middle one's plus the
// delay (the delay is on the second hop, which the one-hop per-peer lags do not add up).
func TestMultileaderE2ELagTwoHops(t *testing.T) {
	const delay = 150 * time.Millisecond // below the tests' 500ms request timeout
	tests := []struct {
		topo             string
		origin, mid, far string
	}{
		{TopologyRing, "n1", "n2", "n3"},
		{TopologyStar, "n2", "n1", "n3"},
	}
	for _, tt := range tests {
		t.Run(tt.topo, func(t *testing.T) {
			ctx := context.Background()
			c := newCluster(t, 3, multileader(ConflictLWW, tt.topo))
			if got := MLTargets(tt.topo, c.ids, tt.origin, tt.origin); !slices.Equal(got, []string{tt.mid}) {
				t.Fatalf("%s sends its writes to %v, want [%s] (the test needs two hops)", tt.origin, got, tt.mid)
			}
			slow := client.Faults{Links: map[string]client.LinkFault{tt.far: {Delay: delay}}}
			if err := c.client(tt.mid).SetFaults(ctx, slow); err != nil {
				t.Fatal(err)
			}
			if err := c.client(tt.origin).Put(ctx, "k", "v", 0, ""); err != nil {
				t.Fatal(err)
			}
			// The far leader records its sample after it commits the write, so the write can be
			// readable there first: wait for every queue to drain (the middle leader dequeues
			// once the far one answered, after recording).
			c.waitMLDrained()
			if v, err := c.client(tt.far).Get(ctx, "k", 0); err != nil || !slices.Equal(v.Values, []string{"v"}) {
				t.Fatalf("%s after the queues drained: got %v (%v), want [v]", tt.far, v.Values, err)
			}
			mid, far := c.e2eOf(tt.mid, tt.origin), c.e2eOf(tt.far, tt.origin)
			if mid.samples != 1 || far.samples != 1 || len(mid.lags.buf) != 1 || len(far.lags.buf) != 1 {
				t.Fatalf("end-to-end samples for %s: %s has %d (window %d), %s has %d (window %d), want 1 each",
					tt.origin, tt.mid, mid.samples, len(mid.lags.buf), tt.far, far.samples, len(far.lags.buf))
			}
			for _, id := range c.ids {
				for origin, w := range e2eWindows(t, c.node(id)) {
					if origin != tt.origin && w.samples != 0 {
						t.Errorf("%s has %d end-to-end samples from %s, which wrote nothing", id, w.samples, origin)
					}
				}
			}
			if far.last < mid.last+delay {
				t.Errorf("end-to-end lag on %s (two hops) %s, want >= %s on %s (one hop) + the %s delay of the second hop",
					tt.far, far.last, mid.last, tt.mid, delay)
			}
			// The same through /admin/stats.
			st, err := c.client(tt.far).Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			worst, _ := st["ml_e2e_lag_p99_ms"].(float64)
			if worst < float64(delay/time.Millisecond) {
				t.Errorf("%s ml_e2e_lag_p99_ms: got %v, want >= %v (the delayed second hop)", tt.far, st["ml_e2e_lag_p99_ms"], delay)
			}
			byOrigin, _ := st["ml_e2e"].(map[string]any)
			o, _ := byOrigin[tt.origin].(map[string]any)
			if o == nil || o["samples"] != float64(1) || o["p99_ms"] != worst || o["p50_ms"] != worst {
				t.Errorf("%s ml_e2e[%s]: got %v, want 1 sample with p50 = p99 = %v", tt.far, tt.origin, o, worst)
			}
			// The origin's one-hop lag (queue to the middle leader's ack) misses the second hop.
			oneHop := coreStats(t, c.node(tt.origin))["ml_lag_p99_ms"].(float64)
			t.Logf("%s: one-hop lag p99 %.1f ms; end to end on %s %.1f ms, on %s %.1f ms",
				tt.origin, oneHop, tt.mid, mlMS(mid.last), tt.far, worst)
		})
	}
}

// TestMultileaderE2ELagEntries checks the wire form of the origin time and how apply records it:
// absent means unknown (entries queued by older versions: applied, no sample), present gives one
// sample per newly applied write, duplicates give none.
func TestMultileaderE2ELagEntries(t *testing.T) {
	var old outEntry // as queued by a version without origin times
	if err := json.Unmarshal([]byte(`{"e":{"o":"n1","s":7,"k":"k","r":{"k":"register"}},"q":123}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.E.At != 0 || old.E.Seq != 7 || old.Enq != 123 {
		t.Errorf("a queued entry without an origin time: %+v, want At 0 (unknown)", old)
	}
	enc, _ := json.Marshal(mlEntry{Origin: "n1", Seq: 1, Key: "k"})
	if strings.Contains(string(enc), `"t"`) {
		t.Errorf("an entry without an origin time encodes it: %s", enc)
	}
	enc, _ = json.Marshal(mlEntry{Origin: "n1", Seq: 1, Key: "k", At: 42})
	if !strings.Contains(string(enc), `"t":42`) {
		t.Errorf("an entry with an origin time: %s, want \"t\":42", enc)
	}

	c := newCluster(t, 2, multileader(ConflictLWW, TopologyAll))
	n2 := c.node("n2")
	// Sequence numbers far above what n1 writes itself (it writes nothing here).
	rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "a", TS: 1, Node: "n1", Seq: 100}}}
	unknown := mlEntry{Origin: "n1", Seq: 100, Key: "k", Rec: rec}
	if resp, err := mlApply(t, n2, "n1", []mlEntry{unknown}); err != nil || resp.Applied != 1 {
		t.Fatalf("applying an entry without an origin time: %+v %v, want applied", resp, err)
	}
	if w := e2eWindows(t, n2)["n1"]; w.samples != 0 {
		t.Errorf("samples after an entry without an origin time: got %d, want 0", w.samples)
	}
	at := n2.clock.Now().Add(-time.Second).UnixNano()
	rec2 := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "b", TS: 2, Node: "n1", Seq: 101}}}
	rec3 := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "c", TS: 3, Node: "n1", Seq: 102}}}
	batch := []mlEntry{
		{Origin: "n1", Seq: 101, Key: "k", Rec: rec2, At: at},
		{Origin: "n1", Seq: 102, Key: "k", Rec: rec3, At: at},
	}
	if resp, err := mlApply(t, n2, "n1", batch); err != nil || resp.Applied != 2 {
		t.Fatalf("applying two entries with an origin time: %+v %v", resp, err)
	}
	if resp, err := mlApply(t, n2, "n1", batch); err != nil || resp.Duplicates != 2 {
		t.Fatalf("re-applying them: %+v %v, want 2 duplicates", resp, err)
	}
	w := e2eWindows(t, n2)["n1"]
	if w.samples != 2 || len(w.lags.buf) != 2 {
		t.Fatalf("samples: got %d (window %d), want 2 (duplicates add none)", w.samples, len(w.lags.buf))
	}
	if w.last < time.Second {
		t.Errorf("last end-to-end lag %s, want >= 1s (the origin time was 1s ago)", w.last)
	}
	if _, ok := e2eWindows(t, n2)["n2"]; ok {
		t.Errorf("n2 keeps end-to-end lags for its own writes")
	}
}

func TestLagWindow(t *testing.T) {
	var w lagWindow
	if p50, p99 := w.percentiles(); p50 != 0 || p99 != 0 {
		t.Errorf("empty: %s %s", p50, p99)
	}
	for i := 1; i <= mlLags+100; i++ {
		w.add(time.Duration(i))
	}
	if len(w.buf) != mlLags {
		t.Fatalf("window size %d, want %d", len(w.buf), mlLags)
	}
	// The oldest 100 were overwritten: the window is 101..mlLags+100.
	if got := slices.Min(w.buf); got != 101 {
		t.Errorf("oldest kept %d, want 101", got)
	}
	p50, p99 := w.percentiles()
	if p50 != time.Duration(101+mlLags*50/100) || p99 != time.Duration(101+mlLags*99/100) {
		t.Errorf("p50 %d p99 %d", p50, p99)
	}
}
