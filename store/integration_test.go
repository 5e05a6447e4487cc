package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
	"github.com/rs/zerolog"
)

// keyWhere returns the first key "k0", "k1", ... whose preference list satisfies ok.
func (c *testCluster) keyWhere(ok func(pref []string) bool) string {
	c.t.Helper()
	for i := 0; i < 100000; i++ {
		k := fmt.Sprintf("k%d", i)
		if ok(c.replicas(k)) {
			return k
		}
	}
	c.t.Fatal("no key with the wanted preference list")
	return ""
}

// isolate cuts id off from every other node, both ways, with the fault filter.
func (c *testCluster) isolate(id string) {
	c.t.Helper()
	ctx := context.Background()
	var others []string
	for _, o := range c.ids {
		if o != id {
			others = append(others, o)
			if err := c.client(o).SetFaults(ctx, client.Faults{Drop: []string{id}}); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	if err := c.client(id).SetFaults(ctx, client.Faults{Drop: others}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testCluster) heal() {
	c.t.Helper()
	for id := range c.nodes {
		if err := c.client(id).SetFaults(context.Background(), client.Faults{}); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *testCluster) stat(id, name string) int64 { return c.node(id).Stats().Get(name) }

// waitStat waits for node id's counter name to reach at least want: counters move on the
// goroutines that do the work, which an operation's answer does not wait for.
func (c *testCluster) waitStat(id, name string, want int64) {
	c.t.Helper()
	wait.For(c.t, settle, fmt.Sprintf("%s %s >= %d", id, name, want), func() (bool, string) {
		got := c.stat(id, name)
		return got >= want, fmt.Sprintf("%s %d", name, got)
	})
}

// waitValues waits for node id's own replica of key to hold exactly want.
func (c *testCluster) waitValues(id, key string, want ...string) {
	c.t.Helper()
	wait.For(c.t, settle, fmt.Sprintf("%s to hold %s = %v", id, key, want), func() (bool, string) {
		d, err := c.client(id).Dump(context.Background())
		if err != nil {
			return false, err.Error()
		}
		got := d.Keys[key].Values
		return slices.Equal(got, want), fmt.Sprintf("%v", got)
	})
}

func (c *testCluster) sumStat(name string) int64 {
	var s int64
	for id := range c.nodes {
		s += c.stat(id, name)
	}
	return s
}

func values(t *testing.T, c *client.Client, key string, r int) []string {
	t.Helper()
	v, err := c.Get(context.Background(), key, r)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return v.Values
}

func TestWriteSurvivesOneKill(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			c := newCluster(t, size, nil)
			ctx := context.Background()
			key := c.keyWhere(func(p []string) bool { return p[0] == "n1" })
			if err := c.client("n1").Put(ctx, key, "before", 2, ""); err != nil {
				t.Fatalf("put: %v", err)
			}
			victim := c.replicas(key)[1]
			c.kill(victim)
			reader := c.replicas(key)[2]
			if got := values(t, c.client(reader), key, 2); !slices.Equal(got, []string{"before"}) {
				t.Errorf("after killing %s: got %v, want [before]", victim, got)
			}
			if err := c.client("n1").Put(ctx, key, "during", 2, ""); err != nil {
				t.Fatalf("put with %s down: %v", victim, err)
			}
			if got := values(t, c.client(reader), key, 2); !slices.Equal(got, []string{"during"}) {
				t.Errorf("got %v, want [during]", got)
			}
		})
	}
}

func TestReadRepair(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.HintedHandoff = false
				cfg.ReadRepairSync = sync
			})
			ctx := context.Background()
			c.isolate("n3")
			if err := c.client("n1").Put(ctx, "k", "fresh", 2, ""); err != nil {
				t.Fatalf("put: %v", err)
			}
			// The put returns at W=2 with its attempt to n3 still running: heal only once the
			// filter dropped it, or the attempt could pass after the heal and n3 need no repair.
			c.waitStat("n1", "fault_drop_out", 1)
			c.heal()
			if _, ok := c.dump("n3").Keys["k"]; ok {
				t.Fatalf("n3 has k although it was cut off")
			}
			if got := values(t, c.client("n1"), "k", 3); !slices.Equal(got, []string{"fresh"}) {
				t.Fatalf("read r=3: got %v, want [fresh]", got)
			}
			if sync {
				// The decision under test: a sync repair is done when the read returns.
				if got := c.dump("n3").Keys["k"]; !slices.Equal(got.Values, []string{"fresh"}) {
					t.Fatalf("sync read repair: n3 has %v, want [fresh] when the read returns", got)
				}
			} else {
				c.waitValues("n3", "k", "fresh")
			}
			// The repair is counted when n3's answer reaches n1, which may be just after n3 applied it.
			c.waitStat("n1", "read_repair", 1)
		})
	}
}

func TestAntiEntropyConvergesUnreadKeys(t *testing.T) {
	c := newCluster(t, 5, func(cfg *Config) {
		cfg.HintedHandoff = false
		cfg.ReadRepair = false
		cfg.AntiEntropy = 30 * time.Millisecond
	})
	ctx := context.Background()
	c.isolate("n5")
	var keys []string
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("ae-%d", i)
		coord := c.ids[i%4] // n1..n4, never the cut-off n5
		if err := c.client(coord).Put(ctx, k, "v"+k, 2, ""); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
		if err := c.client(coord).Incr(ctx, "cnt-"+k, 3, 2); err != nil {
			t.Fatalf("incr: %v", err)
		}
		if slices.Contains(c.replicas(k), "n5") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		t.Fatal("no key replicated on n5")
	}
	missing := 0
	for _, k := range keys {
		if _, ok := c.dump("n5").Keys[k]; !ok {
			missing++
		}
	}
	if missing != len(keys) {
		t.Fatalf("n5 has %d of its %d keys while cut off, want 0", len(keys)-missing, len(keys))
	}
	c.heal()
	// Nobody reads: only anti-entropy can bring n5 up to date.
	wait.For(t, settle, "n5 to converge by anti-entropy", func() (bool, string) {
		d := c.dump("n5")
		for _, k := range keys {
			if !slices.Equal(d.Keys[k].Values, []string{"v" + k}) {
				return false, fmt.Sprintf("n5 %s: %v", k, d.Keys[k].Values)
			}
		}
		return true, ""
	})
	wait.For(t, settle, "every replica to hold the same version of every key", func() (bool, string) {
		dumps := map[string]client.Dump{}
		for _, id := range c.ids {
			dumps[id] = c.dump(id)
		}
		for i := 0; i < 40; i++ {
			for _, k := range []string{fmt.Sprintf("ae-%d", i), fmt.Sprintf("cnt-ae-%d", i)} {
				var ver string
				for j, id := range c.replicas(k) {
					e, ok := dumps[id].Keys[k]
					if !ok || (j > 0 && e.Version != ver) {
						return false, fmt.Sprintf("%s on %s: %q (present %v), first replica %q", k, id, e.Version, ok, ver)
					}
					ver = e.Version
				}
			}
		}
		return true, ""
	})
	// A repair is counted just after it is applied, so the dump can show it first.
	c.waitStat("n5", "ae_keys_repaired", int64(len(keys)))
	if got := c.stat("n5", "read_repair"); got != 0 {
		t.Errorf("n5 read_repair: got %d, want 0 (nothing was read)", got)
	}
}

func TestHintDeliveredAfterRestart(t *testing.T) {
	c := newCluster(t, 5, func(cfg *Config) {
		cfg.Fsync = "always" // the hint must survive its holder's crash
		cfg.ReadRepair = false
	})
	ctx := context.Background()
	key := c.keyWhere(func(p []string) bool { return p[0] == "n1" })
	walk := NewRing(c.config("n1").NodeIDs(), c.config("n1").VNodes).Walk(key)
	target, fallback := walk[1], walk[3]
	c.kill(target)
	if err := c.client("n1").Put(ctx, key, "hinted", 2, ""); err != nil {
		t.Fatalf("put with %s down: %v", target, err)
	}
	// The put returns at W acks; the hint for the dead replica is stored alongside.
	c.waitStat(fallback, "hint_stored", 1)
	if got := c.stat(fallback, "hint_stored"); got != 1 {
		t.Fatalf("fallback %s hint_stored %d, want 1 (one write, one dead replica)", fallback, got)
	}
	// The hint holder crashes and comes back: the hint is on disk.
	c.kill(fallback)
	c.start(fallback)
	c.start(target)
	c.waitValues(target, key, "hinted")
	// Counted once the delivered hint is deleted, just after the target applied it.
	c.waitStat(fallback, "hint_delivered", 1)
	if got := c.stat(fallback, "hint_stored"); got != 0 {
		t.Errorf("restarted fallback %s hint_stored %d, want 0 (the hint it delivered came from its disk)", fallback, got)
	}
	if got := c.stat(fallback, "hint_delivered"); got != 1 {
		t.Errorf("fallback %s hint_delivered %d, want 1", fallback, got)
	}
	hints, err := storedHints(t, c.node(fallback)), error(nil)
	if err != nil || len(hints) != 0 {
		t.Errorf("fallback %s still holds hints %v (%v) after delivery", fallback, hints, err)
	}
	if _, ok := c.dump(fallback).Keys[key]; ok {
		t.Errorf("fallback %s stores %s as data, want only a hint", fallback, key)
	}
}

func TestSloppyQuorum(t *testing.T) {
	for _, sloppy := range []bool{false, true} {
		t.Run(fmt.Sprintf("sloppy=%v", sloppy), func(t *testing.T) {
			c := newCluster(t, 5, func(cfg *Config) { cfg.SloppyQuorum = sloppy })
			key := c.keyWhere(func(p []string) bool { return p[0] == "n1" })
			pref := c.replicas(key)
			c.kill(pref[1])
			c.kill(pref[2])
			err := c.client("n1").Put(context.Background(), key, "v", 2, "")
			if sloppy && err != nil {
				t.Errorf("sloppy quorum with 2 of 3 replicas down: got %v, want ok", err)
			}
			if !sloppy && !errors.Is(err, client.ErrIndeterminate) {
				t.Errorf("strict quorum with 2 of 3 replicas down: got %v, want indeterminate", err)
			}
		})
	}
}

func TestHonestOutcomes(t *testing.T) {
	ctx := context.Background()
	t.Run("failed when the only replica refuses", func(t *testing.T) {
		c := newCluster(t, 3, func(cfg *Config) { cfg.N = 1; cfg.HintedHandoff = false })
		key := c.keyWhere(func(p []string) bool { return p[0] == "n2" })
		c.kill("n2")
		err := c.client("n1").Put(ctx, key, "v", 1, "")
		if !errors.Is(err, client.ErrFailed) {
			t.Errorf("got %v, want ErrFailed", err)
		}
	})
	t.Run("indeterminate when replicas are silent", func(t *testing.T) {
		c := newCluster(t, 3, func(cfg *Config) { cfg.HintedHandoff = false })
		if err := c.client("n1").SetFaults(ctx, client.Faults{Drop: []string{"n2", "n3"}}); err != nil {
			t.Fatal(err)
		}
		err := c.client("n1").Put(ctx, "k", "v", 2, "")
		if !errors.Is(err, client.ErrIndeterminate) {
			t.Errorf("got %v, want ErrIndeterminate", err)
		}
		// The dropped requests were never applied by n2 and n3.
		for _, id := range []string{"n2", "n3"} {
			if _, ok := c.dump(id).Keys["k"]; ok {
				t.Errorf("%s applied a request its peer dropped", id)
			}
		}
		// Each attempt counts its drop when it reaches the filter, on a goroutine of its own.
		c.waitStat("n1", "fault_drop_out", 2)
	})
	t.Run("inbound drop holds the request unapplied", func(t *testing.T) {
		c := newCluster(t, 3, func(cfg *Config) { cfg.HintedHandoff = false })
		// Only the receivers drop n1: n1 sends, n2 and n3 hold the requests without applying.
		for _, id := range []string{"n2", "n3"} {
			if err := c.client(id).SetFaults(ctx, client.Faults{Drop: []string{"n1"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.client("n1").Put(ctx, "k", "v", 2, ""); !errors.Is(err, client.ErrIndeterminate) {
			t.Errorf("got %v, want ErrIndeterminate", err)
		}
		for _, id := range []string{"n2", "n3"} {
			// Counted when the request arrives, which n1's timeout does not wait for.
			c.waitStat(id, "fault_drop_in", 1)
			if _, ok := c.dump(id).Keys["k"]; ok {
				t.Errorf("%s applied a request it dropped", id)
			}
		}
	})
}

func TestLinkDelayAndLoss(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := context.Background()
	f := client.Faults{Links: map[string]client.LinkFault{"n2": {Delay: 5 * time.Millisecond}, "n3": {Loss: 1}}}
	if err := c.client("n1").SetFaults(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := c.client("n1").Put(ctx, "k", "v", 2, ""); err != nil {
		t.Fatalf("put through a delayed link: %v", err)
	}
	// The put returns at W acks; the attempt to n3 runs alongside.
	c.waitStat("n1", "fault_delay", 1)
	c.waitStat("n1", "fault_loss", 1)
	if _, ok := c.dump("n3").Keys["k"]; ok {
		t.Errorf("n3 applied a request lost on the way")
	}
}

// TestLinkDelayIsDirected: a link fault on n1 for n2 delays what n1 sends to n2 (its requests
// and its responses), never what n2 sends to n1, so a harness link From->To installed on From
// delays one way only and a symmetric pair delays a round trip once per hop (it was twice per
// hop: each message was delayed on both ends).
func TestLinkDelayIsDirected(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.HintedHandoff = false; cfg.ReadRepair = false })
	ctx := context.Background()
	f := client.Faults{Links: map[string]client.LinkFault{"n2": {Delay: time.Millisecond}}}
	if err := c.client("n1").SetFaults(ctx, f); err != nil {
		t.Fatal(err)
	}
	// n1 coordinates: its request to n2 is delayed, n2's answer is not.
	if err := c.client("n1").Put(ctx, "a", "v", 3, ""); err != nil {
		t.Fatal(err)
	}
	if got := c.stat("n1", "fault_delay"); got != 1 {
		t.Errorf("after n1 -> n2 -> n1: n1 fault_delay %d, want 1 (the request it sent)", got)
	}
	// n2 coordinates: n2's request to n1 is not delayed, n1's answer to n2 is.
	if err := c.client("n2").Put(ctx, "b", "v", 3, ""); err != nil {
		t.Fatal(err)
	}
	if got := c.stat("n1", "fault_delay"); got != 2 {
		t.Errorf("after n2 -> n1 -> n2: n1 fault_delay %d, want 2 (plus the answer it sent)", got)
	}
	// n3's traffic with n1 has no fault at all.
	if err := c.client("n3").Put(ctx, "c", "v", 3, ""); err != nil {
		t.Fatal(err)
	}
	if got := c.stat("n1", "fault_delay"); got != 2 {
		t.Errorf("after n3 -> n1 -> n3: n1 fault_delay %d, want still 2", got)
	}
	if got := c.stat("n2", "fault_delay") + c.stat("n3", "fault_delay"); got != 0 {
		t.Errorf("n2 and n3 have no link faults but counted %d delays", got)
	}
}

func TestVClockSiblings(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Consistency = VClock })
	ctx := context.Background()
	if err := c.client("n1").Put(ctx, "k", "a", 3, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.client("n2").Put(ctx, "k", "b", 3, ""); err != nil {
		t.Fatal(err)
	}
	v, err := c.client("n3").Get(ctx, "k", 2)
	if err != nil || !slices.Equal(v.Values, []string{"a", "b"}) {
		t.Fatalf("blind writes: got %v %v, want siblings [a b]", v.Values, err)
	}
	if err := c.client("n3").Put(ctx, "k", "merged", 2, v.Context); err != nil {
		t.Fatal(err)
	}
	if got := values(t, c.client("n1"), "k", 2); !slices.Equal(got, []string{"merged"}) {
		t.Errorf("write with the context: got %v, want [merged]", got)
	}
	// A context naming a node outside the cluster is no context a read returned: refused, and
	// nothing changes.
	if err := c.client("n1").Put(ctx, "k", "x", 2, "n9:1"); err == nil || !strings.Contains(err.Error(), "not a cluster node") {
		t.Errorf("put with context n9:1: got %v, want a refusal naming n9", err)
	}
	if got := values(t, c.client("n2"), "k", 2); !slices.Equal(got, []string{"merged"}) {
		t.Errorf("after the refused put: got %v, want [merged]", got)
	}
}

func TestClockSkewLosesLWWWrites(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := context.Background()
	if err := c.client("n1").SetClock(ctx, -time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	clk, err := c.client("n1").Clock(ctx)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if clk.Offset != -time.Hour {
		t.Errorf("clock offset: got %v, want -1h", clk.Offset)
	}
	// The node read its clock (real time - 1h, no drift) between before and after, however long
	// the request took; the second allows for the wall clock being adjusted meanwhile.
	if lo, hi := before.Add(-time.Hour-time.Second), after.Add(-time.Hour+time.Second); clk.Now.Before(lo) || clk.Now.After(hi) {
		t.Errorf("clock now: %v, want real time - 1h, within [%v, %v]", clk.Now, lo, hi)
	}
	if err := c.client("n2").Put(ctx, "k", "first", 3, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.client("n1").Put(ctx, "k", "second", 3, ""); err != nil {
		t.Fatal(err)
	}
	// n1's timestamp is an hour behind: its later write loses.
	if got := values(t, c.client("n3"), "k", 2); !slices.Equal(got, []string{"first"}) {
		t.Errorf("got %v, want [first] (the skewed node's write lost)", got)
	}
}

func TestBadInput(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID, cfg.Peers, cfg.DataDir = "n1", map[string]string{"n1": "127.0.0.1:1"}, t.TempDir()
	cfg.AdminToken = testToken
	cfg.ClusterSecret = testSecret
	cfg.Fsync = "never"
	n, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	do := func(method, path, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		n.Handler().ServeHTTP(rec, req)
		return rec
	}
	if rec := do("PUT", "/kv/k", `{"value":"orig"}`, ""); rec.Code != 200 {
		t.Fatalf("setup put: %d %s", rec.Code, rec.Body)
	}
	before := do("GET", "/admin/dump", "", testToken).Body.String()
	tests := []struct {
		name, method, path, body, token string
		status                          int
		errHas                          string
	}{
		{"malformed JSON", "PUT", "/kv/k", `{"value":`, "", 400, "bad JSON"},
		{"unknown field", "PUT", "/kv/k", `{"valeu":"x"}`, "", 400, "valeu"},
		{"wrong type", "PUT", "/kv/k", `{"value":3}`, "", 400, "bad JSON"},
		{"two values", "PUT", "/kv/k", `{"value":"x"}{"value":"y"}`, "", 400, "more than one"},
		{"empty body", "PUT", "/kv/k", ``, "", 400, "empty"},
		{"missing value", "PUT", "/kv/k", `{}`, "", 400, "value is missing"},
		{"null body", "PUT", "/kv/k", `null`, "", 400, "value is missing"},
		{"missing element", "POST", "/set/s", `{}`, "", 400, "element is missing"},
		{"oversize body", "PUT", "/kv/k", `{"value":"` + strings.Repeat("x", 2<<20) + `"}`, "", 413, "larger than"},
		{"w too big", "PUT", "/kv/k?w=2", `{"value":"x"}`, "", 400, "w 2 out of range 1..1"},
		{"w zero", "PUT", "/kv/k?w=0", `{"value":"x"}`, "", 400, "out of range"},
		{"w not a number", "PUT", "/kv/k?w=two", `{"value":"x"}`, "", 400, "not an integer"},
		{"r too big", "GET", "/kv/k?r=9", ``, "", 400, "r 9 out of range"},
		{"unknown parameter", "GET", "/kv/k?q=1", ``, "", 400, "unknown query parameter"},
		{"control char in key", "PUT", "/kv/a%01b", `{"value":"x"}`, "", 400, "control character"},
		{"key too long", "PUT", "/kv/" + strings.Repeat("k", 1025), `{"value":"x"}`, "", 400, "longer than 1024"},
		{"zero delta", "POST", "/counter/c", `{"delta":0}`, "", 400, "delta"},
		{"kind conflict", "POST", "/counter/k", `{"delta":1}`, "", 409, "holds a register"},
		{"kind conflict read", "GET", "/set/k", ``, "", 409, "holds a register"},
		{"missing token", "GET", "/admin/dump", ``, "", 401, "missing Authorization"},
		{"wrong token", "PUT", "/admin/clock", `{"offset_ms":5}`, "wrong", 401, "wrong admin token"},
		{"bad faults peer", "PUT", "/admin/faults", `{"drop":["n9"]}`, testToken, 400, "unknown peer"},
		{"bad loss", "PUT", "/admin/faults", `{"links":{"n1":{"loss":2}}}`, testToken, 400, "loss"},
		{"unknown endpoint", "GET", "/nope", ``, "", 404, "no endpoint"},
		{"internal without the cluster secret", "POST", "/internal/write", `{}`, "", 401, "missing X-Faultline-Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(tt.method, tt.path, tt.body, tt.token)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.errHas) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tt.status, tt.errHas)
			}
			if !strings.HasPrefix(rec.Body.String(), `{"error":`) {
				t.Errorf("body %s: want a JSON error", rec.Body)
			}
		})
	}
	if after := do("GET", "/admin/dump", "", testToken).Body.String(); after != before {
		t.Errorf("bad requests changed the data: before %s after %s", before, after)
	}
	if off, _ := n.Clock().Get(); off != 0 {
		t.Errorf("a rejected clock change applied: offset %v", off)
	}
	// With no token the admin API is off.
	n.cfg.AdminToken = ""
	if rec := do("GET", "/admin/stats", "", "x"); rec.Code != http.StatusNotFound {
		t.Errorf("admin off: got %d, want 404", rec.Code)
	}
}

// A vclock context must never cover a version its reader did not see. n1 makes A (seen only by
// n1) and then B; a client reading B from n2 and n3 must also get A, or its next write, carrying
// a context that names n1's later dot, would silently drop A.
func TestVClockContextCoversOnlyWhatWasSeen(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.Consistency = VClock
		cfg.HintedHandoff = false
		cfg.ReadRepair = false
	})
	ctx := context.Background()
	set := func(id string, drop ...string) {
		t.Helper()
		if err := c.client(id).SetFaults(ctx, client.Faults{Drop: drop}); err != nil {
			t.Fatal(err)
		}
	}
	set("n1", "n2", "n3")
	if err := c.client("n1").Put(ctx, "k", "A", 1, ""); err != nil {
		t.Fatalf("put A on n1 alone: %v", err)
	}
	// The put returns at W=1 with its attempts to n2 and n3 running on: heal only once both
	// were dropped, or A could reach them directly and the test would not test the context.
	c.waitStat("n1", "fault_drop_out", 2)
	c.heal()
	if err := c.client("n1").Put(ctx, "k", "B", 3, ""); err != nil {
		t.Fatalf("put B: %v", err)
	}
	// Read from n2 and n3 only.
	set("n2", "n1")
	set("n3", "n1")
	v, err := c.client("n2").Get(ctx, "k", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Values, []string{"A", "B"}) {
		t.Fatalf("read from n2, n3: got %v, want [A B] (B's replicas must also hold A)", v.Values)
	}
	if err := c.client("n2").Put(ctx, "k", "C", 2, v.Context); err != nil {
		t.Fatal(err)
	}
	c.heal()
	if got := values(t, c.client("n1"), "k", 3); !slices.Equal(got, []string{"C"}) {
		t.Errorf("after a write that saw A and B: got %v, want [C]", got)
	}
}

func TestVClockForwardsFromNonReplicas(t *testing.T) {
	c := newCluster(t, 5, func(cfg *Config) { cfg.Consistency = VClock })
	ctx := context.Background()
	key := c.keyWhere(func(p []string) bool { return !slices.Contains(p, "n1") && !slices.Contains(p, "n2") })
	if err := c.client("n1").Put(ctx, key, "a", 2, ""); err != nil {
		t.Fatalf("put via non-replica n1: %v", err)
	}
	if err := c.client("n2").Put(ctx, key, "b", 2, ""); err != nil {
		t.Fatalf("put via non-replica n2: %v", err)
	}
	v, err := c.client("n1").Get(ctx, key, 3)
	if err != nil || !slices.Equal(v.Values, []string{"a", "b"}) {
		t.Fatalf("blind writes: got %v %v, want siblings [a b]", v.Values, err)
	}
	if err := c.client("n2").Put(ctx, key, "ab", 2, v.Context); err != nil {
		t.Fatal(err)
	}
	if got := values(t, c.client("n1"), key, 3); !slices.Equal(got, []string{"ab"}) {
		t.Errorf("after the merge write: got %v, want [ab]", got)
	}
	if got := c.stat("n1", "vclock_forward") + c.stat("n2", "vclock_forward"); got != 3 {
		t.Errorf("vclock_forward on n1+n2: got %d, want 3", got)
	}
	for _, id := range c.ids {
		if slices.Contains(c.replicas(key), id) {
			// The third replica's copy travels after the w=2 acks (or by read repair).
			c.waitValues(id, key, "ab")
		} else if d := c.dump(id); len(d.Keys[key].Values) > 0 {
			t.Errorf("non-replica %s holds %v", id, d.Keys[key].Values)
		}
	}
}

// A peer that answers with an error (here a kind conflict) is up: the coordinator must not
// suspect it, or the next writes skip healthy replicas and come back indeterminate.
func TestErrorAnswerIsNotSuspicion(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := context.Background()
	if err := c.client("n1").Incr(ctx, "c", 1, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.client("n1").Put(ctx, "c", "x", 2, ""); err == nil {
		t.Fatal("a put to a counter key succeeded")
	}
	for i := range 3 {
		if err := c.client("n1").SetAdd(ctx, "s", fmt.Sprint(i), 3); err != nil {
			t.Fatalf("add %d after a kind conflict: %v (want ok: every replica is up)", i, err)
		}
	}
	if got := c.stat("n1", "replica_suspected_skip") + c.stat("n1", "hint_stored"); got != 0 {
		t.Errorf("n1 skipped or hinted %d replica writes after an error answer, want 0", got)
	}
}
