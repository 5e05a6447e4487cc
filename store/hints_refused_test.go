package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/faultline/faultline/client"
)

// fakeReplica is a peer that answers /internal/write: with status for the keys in refuse, with
// 200 for the others (and records them).
type fakeReplica struct {
	mu     sync.Mutex
	got    []string
	refuse map[string]int
}

func (f *fakeReplica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req writeReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/internal/write" {
		writeError(w, http.StatusBadRequest, "", "fake replica: unexpected request")
		return
	}
	if status, ok := f.refuse[req.Key]; ok {
		writeError(w, status, "", fmt.Sprintf("fake replica refuses %q", req.Key))
		return
	}
	f.mu.Lock()
	f.got = append(f.got, req.Key)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (f *fakeReplica) delivered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string{}, f.got...)
	sort.Strings(out)
	return out
}

// One hint its target refuses as invalid must not hold up the others: deliverHints delivers every
// other hint, counts the refusal and sets the refused hint aside (kept, not pending). Only an
// unreachable target stops the round for that target; an error answer that is not about the
// hint (5xx) keeps that hint pending and the round goes on.
func TestRefusedHintDoesNotStopHandoff(t *testing.T) {
	const hints = 50
	bad := "h10"
	for _, tt := range []struct {
		name        string
		status      int  // the fake's answer to the bad hint
		down        bool // the target is unreachable
		delivered   int
		pending     int
		setAside    int
		refusedStat int64
	}{
		{"400: set aside, the others delivered", http.StatusBadRequest, false, hints - 1, 0, 1, 1},
		{"409 kind conflict: set aside, the others delivered", http.StatusConflict, false, hints - 1, 0, 1, 1},
		{"500: kept pending, the others delivered", http.StatusInternalServerError, false, hints - 1, 1, 0, 0},
		{"unreachable: the round stops, nothing lost", 0, true, 0, hints, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeReplica{refuse: map[string]int{bad: tt.status}}
			srv := httptest.NewServer(fake)
			addr := strings.TrimPrefix(srv.URL, "http://")
			if tt.down {
				srv.Close()
			} else {
				defer srv.Close()
			}
			in := newInputNode(t, 3, func(c *Config) { c.Peers["n2"] = addr })
			for i := 0; i < hints; i++ {
				key := fmt.Sprintf("h%02d", i)
				rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v", TS: 1, Node: "n1", Seq: uint64(i + 1)}}}
				onCore(t, in.node, func(c *llCore, done func()) {
					c.storeHint(key, "n2", rec, func(err error) {
						if err != nil {
							t.Error(err)
						}
						done()
					})
				})
			}
			deliver := func() { onCore(t, in.node, func(c *llCore, done func()) { c.deliverHints(done) }) }
			deliver()

			got := fake.delivered()
			if len(got) != tt.delivered {
				t.Errorf("delivered %d hints, want %d: %v", len(got), tt.delivered, got)
			}
			for _, k := range got {
				if k == bad {
					t.Errorf("the refused hint %q reached the target", bad)
				}
			}
			if n := in.hints(); n != tt.pending {
				t.Errorf("%d hints pending, want %d", n, tt.pending)
			}
			if got := in.node.stats.Get("hint_pending"); got != int64(tt.pending) {
				t.Errorf("stat hint_pending %d, want %d", got, tt.pending)
			}
			if got := in.node.stats.Get("hint_refused"); got != tt.refusedStat {
				t.Errorf("stat hint_refused %d, want %d", got, tt.refusedStat)
			}
			dead, err := in.node.deadHintList()
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != tt.setAside {
				t.Fatalf("%d hints set aside, want %d: %+v", len(dead), tt.setAside, dead)
			}
			if tt.setAside == 1 {
				d := dead[0]
				if d.Key != bad || d.Target != "n2" || d.Rec.Kind != KindRegister || !strings.Contains(d.Error, "fake replica refuses") {
					t.Errorf("set-aside hint %+v: want %q for n2 with the record and the target's answer", d, bad)
				}
				rec := in.do("GET", "/admin/hints/dead", "", "")
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"key":"h10"`) {
					t.Errorf("GET /admin/hints/dead: %d %s, want the set-aside hint", rec.Code, rec.Body)
				}
			}
			// A second round delivers nothing twice and sets nothing more aside.
			deliver()
			if n := len(fake.delivered()); n != tt.delivered {
				t.Errorf("after a second round: %d delivered, want %d", n, tt.delivered)
			}
			if dead, _ := in.node.deadHintList(); len(dead) != tt.setAside {
				t.Errorf("after a second round: %d set aside, want %d", len(dead), tt.setAside)
			}
		})
	}
}

// End to end: n1 holds 50 hints for n2; n2 meanwhile got another kind of record for one of the
// keys, so it refuses that hint (409). Every other hint still reaches n2, and the refused one is
// set aside on n1, not lost.
func TestRefusedHintEndToEnd(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3, nil)
	c.stop("n2")
	n1 := c.client("n1")
	for i := 0; i < 50; i++ {
		if err := n1.Put(ctx, fmt.Sprintf("h%02d", i), "v", 2, ""); err != nil {
			t.Fatalf("put h%02d: %v", i, err)
		}
	}
	if err := n1.SetFaults(ctx, client.Faults{Drop: []string{"n2"}}); err != nil {
		t.Fatal(err)
	}
	c.start("n2")
	// h10 becomes a counter on n2 only (n1 and n3 hold a register there: they refuse it).
	if err := c.client("n3").Incr(ctx, "h10", 1, 1); err != nil {
		t.Fatalf("incr h10: %v", err)
	}
	if err := n1.SetFaults(ctx, client.Faults{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "n1 holds no pending hint", func() bool {
		return len(storedHints(t, c.node("n1"))) == 0
	})
	d := c.dump("n2")
	for i := 0; i < 50; i++ {
		key := fmt.Sprintf("h%02d", i)
		want := KindRegister
		if key == "h10" {
			want = KindCounter
		}
		if e, ok := d.Keys[key]; !ok || e.Kind != want {
			t.Errorf("n2 holds %s as %+v (present %v), want a %s", key, e, ok, want)
		}
	}
	dead, err := c.node("n1").deadHintList()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Key != "h10" || dead[0].Target != "n2" || dead[0].Rec.Values()[0] != "v" {
		t.Errorf("dead hints on n1: %+v, want the register hint of h10 for n2", dead)
	}
	if got := c.stat("n1", "hint_refused"); got != 1 {
		t.Errorf("n1 hint_refused: %d, want 1", got)
	}
}
