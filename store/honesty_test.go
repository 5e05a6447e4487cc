package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
)

// Issue 10: the store must never lie about a write.

// A write is "failed" only when every attempt has ended without applying it. An attempt that has
// not reported when the deadline passes (the coordinator's own local write queued behind a group
// commit, a hint still being stored) may apply it yet: the outcome is indeterminate.
func TestDecideUnreportedAttemptsAreUnknown(t *testing.T) {
	tests := []struct {
		name string
		t    Tally
		w    int
		want Outcome
		done bool
	}{
		{"local write pending at the deadline, peers refused", Tally{Refused: 2, Targets: 3, TimedOut: true}, 1, OutcomeIndeterminate, true},
		{"nothing reported at the deadline", Tally{Targets: 3, TimedOut: true}, 1, OutcomeIndeterminate, true},
		{"every replica refused, hint attempts still running at the deadline", Tally{Refused: 3, Targets: 3, TimedOut: true}, 2, OutcomeIndeterminate, true},
		{"refused and pending at the deadline, w=3", Tally{Refused: 1, Targets: 3, TimedOut: true}, 3, OutcomeIndeterminate, true},
		{"every attempt ended refused", Tally{Refused: 3, Targets: 3, Finished: true}, 2, OutcomeFailed, true},
		{"every attempt ended refused, then the deadline", Tally{Refused: 3, Targets: 3, Finished: true, TimedOut: true}, 2, OutcomeFailed, true},
		{"refusals, one still open, time left", Tally{Refused: 2, Targets: 3}, 1, OutcomeOK, false},
		{"acked before the deadline", Tally{Acks: 1, Refused: 2, Targets: 3, TimedOut: true}, 1, OutcomeOK, true},
		{"a silent replica is unknown even when the others finished refusing", Tally{Refused: 2, Unknown: 1, Targets: 3, Finished: true}, 1, OutcomeIndeterminate, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done := tt.t.Decide(tt.w)
			if got != tt.want || done != tt.done {
				t.Errorf("Decide(%d) of %+v: got %v done=%v, want %v done=%v", tt.w, tt.t, got, done, tt.want, tt.done)
			}
		})
	}
}

// Overload one live node (its peers down) with a tiny request timeout: its own local writes
// queue behind group commits past the deadline while the peers refuse at once. Whatever the
// timing, a write answered "failed" must be held by no node, as data or as a hint, once every
// attempt has ended (a graceful stop waits for them).
func TestFailedWritesWereNotApplied(t *testing.T) {
	for _, tt := range []struct {
		name, cons string
		kind       string
	}{
		{"lww registers", LWW, KindRegister},
		{"abd registers", ABD, KindRegister},
		{"sets", LWW, KindSet},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.RequestTimeout = 20 * time.Millisecond
				cfg.HintInterval = time.Hour // keep hints where they are stored
				cfg.Fsync = "always"
				cfg.Consistency = tt.cons
			})
			c.stop("n2")
			c.stop("n3")
			hc := client.NewHTTPClient()
			cl := client.New(c.peers["n1"], client.WithHTTPClient(hc), client.WithTimeout(30*time.Second)).WithQuorums(1, 1)
			const writes = 1000
			var mu sync.Mutex
			var failed []string
			outcomes := map[string]int{}
			var wg sync.WaitGroup
			for i := 0; i < writes; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("f2%d", i)
					var err error
					if tt.kind == KindSet {
						err = cl.SetAdd(context.Background(), key, "x", 1)
					} else {
						err = cl.Put(context.Background(), key, "v", 1, "")
					}
					var ce *client.Error
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						outcomes["ok"]++
					case errors.As(err, &ce) && ce.Status == http.StatusServiceUnavailable:
						// The node's answer "failed" (not the client's own "never sent").
						failed = append(failed, key)
						outcomes["failed"]++
					case errors.Is(err, client.ErrIndeterminate):
						outcomes["indeterminate"]++
					default:
						outcomes["other"]++
					}
				}()
			}
			wg.Wait()
			t.Logf("outcomes: %v", outcomes)
			// Settle: a graceful stop waits for every replica attempt of every write.
			c.stop("n1")
			c.start("n1")
			d := c.dump("n1")
			hints, err := storedHints(t, c.node("n1")), error(nil)
			if err != nil {
				t.Fatal(err)
			}
			hinted := map[string]bool{}
			for _, h := range hints {
				hinted[h.Key] = true
			}
			for _, key := range failed {
				if _, ok := d.Keys[key]; ok {
					t.Errorf("write of %q was answered failed, but n1 holds it", key)
				}
				if hinted[key] {
					t.Errorf("write of %q was answered failed, but n1 holds a hint for it", key)
				}
			}
		})
	}
}
