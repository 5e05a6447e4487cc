package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
)

// Counters: an increment that would take this node's entry, or the counter's value as the
// coordinator sees it, out of int64 range is a 400 naming the overflow, and changes nothing.
func TestCounterOverflowIsRefused(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3, nil)
	key := "c"
	n2, n3 := c.client("n2"), c.client("n3")
	if err := n2.Incr(ctx, key, math.MaxInt64, 3); err != nil {
		t.Fatalf("+MaxInt64 via n2: %v", err)
	}
	wantBad := func(what string, err error) {
		t.Helper()
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Message, "overflow") {
			t.Errorf("%s: got %v, want a 400 naming the overflow", what, err)
		}
	}
	wantBad("+1 via n3 (the total would overflow)", n3.Incr(ctx, key, 1, 3))
	wantBad("+MaxInt64 again via n2 (its entry would overflow)", n2.Incr(ctx, key, math.MaxInt64, 3))
	wantBad("a delta of MinInt64 (its negation overflows)", n2.Incr(ctx, "c2", math.MinInt64, 1))
	for _, id := range c.ids {
		got, err := c.client(id).Counter(ctx, key, 3)
		if err != nil || got != math.MaxInt64 {
			t.Errorf("counter via %s: got %d, %v; want %d", id, got, err, int64(math.MaxInt64))
		}
	}
	// The node's entry was not spoiled: increments through it still work.
	if err := n2.Incr(ctx, key, -5, 3); err != nil {
		t.Errorf("-5 via n2 after the refused increments: %v", err)
	}
	if err := n3.Incr(ctx, key, 2, 3); err != nil {
		t.Errorf("+2 via n3: %v", err)
	}
	if got, err := c.client("n1").Counter(ctx, key, 3); err != nil || got != math.MaxInt64-3 {
		t.Errorf("counter: got %d, %v; want %d", got, err, int64(math.MaxInt64-3))
	}
	for _, id := range c.ids {
		if _, ok := c.dump(id).Keys["c2"]; ok {
			t.Errorf("%s holds c2, whose only increment was refused", id)
		}
	}
}

// A counter's value that does not fit in int64 (increments through several nodes, each
// accepted by a coordinator that had not seen the others) is an error on read, never a wrapped
// number.
func TestCounterOutOfRangeReadIsAnError(t *testing.T) {
	in := newInputNode(t, 3, nil)
	key := "c"
	rec := in.do("POST", "/internal/write", fmt.Sprintf(`{"key":%q,"record":{"k":"counter","p":{"n2":%d,"n3":1}}}`, key, int64(math.MaxInt64)), "n2")
	if rec.Code != 200 {
		t.Fatalf("internal write: %d %s", rec.Code, rec.Body)
	}
	rec = in.do("GET", "/counter/"+key+"?r=1", "", "")
	if rec.Code == 200 || !strings.Contains(rec.Body.String(), "out of int64 range") {
		t.Errorf("read of a counter of value MaxInt64+1: got %d %s, want an error naming the range", rec.Code, rec.Body)
	}
}
func TestCounterValue(t *testing.T) {
	const max = math.MaxInt64
	tests := []struct {
		name string
		p, n map[string]int64
		want int64
		ok   bool
	}{
		{"empty", nil, nil, 0, true},
		{"plain", map[string]int64{"a": 5, "b": 3}, map[string]int64{"a": 2}, 6, true},
		{"max", map[string]int64{"a": max}, nil, max, true},
		{"min", nil, map[string]int64{"a": max, "b": 1}, math.MinInt64, true},
		{"increments overflow, decrements bring it back", map[string]int64{"a": max, "b": max}, map[string]int64{"c": max}, max, true},
		{"above max", map[string]int64{"a": max, "b": 1}, nil, 0, false},
		{"below min", nil, map[string]int64{"a": max, "b": 2}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Record{Kind: KindCounter, P: tt.p, N: tt.n}.CounterValue()
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("got %d, %v; want %d, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// Multi-leader counters: a leader refuses an increment that would take its own entry, or the
// value it answers reads with, out of int64 range; the refused increment is not queued.
func TestMultileaderCounterOverflowIsRefused(t *testing.T) {
	ctx := context.Background()
	for _, conflict := range []string{ConflictCRDT, ConflictLWW} {
		t.Run(conflict, func(t *testing.T) {
			c := newCluster(t, 3, multileader(conflict, TopologyAll))
			n1, n2 := c.client("n1"), c.client("n2")
			if err := n1.Incr(ctx, "c", math.MaxInt64, 1); err != nil {
				t.Fatalf("+MaxInt64 via n1: %v", err)
			}
			wantBad := func(what string, err error) {
				t.Helper()
				var ce *client.Error
				if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Message, "overflow") {
					t.Errorf("%s: got %v, want a 400 naming the overflow", what, err)
				}
			}
			wantBad("+1 via n1", n1.Incr(ctx, "c", 1, 1))
			wantBad("-MaxInt64-1 via n1", n1.Incr(ctx, "d", math.MinInt64, 1))
			eventually(t, "n2 sees n1's increment", func() bool {
				v, err := n2.Counter(ctx, "c", 1)
				return err == nil && v == math.MaxInt64
			})
			wantBad("+1 via n2", n2.Incr(ctx, "c", 1, 1))
			if err := n2.Incr(ctx, "c", -1, 1); err != nil {
				t.Errorf("-1 via n2: %v", err)
			}
			c.waitConverged(time.Now())
			for _, id := range c.ids {
				if v, err := c.client(id).Counter(ctx, "c", 1); err != nil || v != math.MaxInt64-1 {
					t.Errorf("counter via %s: got %d, %v; want %d", id, v, err, int64(math.MaxInt64-1))
				}
				if _, ok := c.dump(id).Keys["d"]; ok {
					t.Errorf("%s holds d, whose only increment was refused", id)
				}
			}
		})
	}
}

func TestAddContribution(t *testing.T) {
	const max = math.MaxInt64
	tests := []struct {
		name     string
		c        [2]int64
		delta    int64
		want     [2]int64
		overflow bool
		err      bool
	}{
		{"increment", [2]int64{1, 2}, 3, [2]int64{4, 2}, false, false},
		{"decrement", [2]int64{1, 2}, -3, [2]int64{1, 5}, false, false},
		{"increments up to max", [2]int64{max - 1, 0}, 1, [2]int64{max, 0}, false, false},
		{"decrements up to max", [2]int64{0, 1}, -(max - 1), [2]int64{0, max}, false, false},
		{"increments past max", [2]int64{max, 0}, 1, [2]int64{max, 0}, true, true},
		{"decrements past max", [2]int64{0, 2}, -max, [2]int64{0, 2}, true, true},
		{"MinInt64", [2]int64{0, 0}, math.MinInt64, [2]int64{0, 0}, true, true},
		{"a wrapped entry is not made worse", [2]int64{0, math.MinInt64}, 1, [2]int64{0, math.MinInt64}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			err := addContribution(&c, tt.delta)
			if (err != nil) != tt.err || errors.Is(err, ErrCounterOverflow) != tt.overflow || c != tt.want {
				t.Errorf("addContribution(%v, %d): got %v, %v; want %v, err=%v overflow=%v", tt.c, tt.delta, c, err, tt.want, tt.err, tt.overflow)
			}
		})
	}
}
