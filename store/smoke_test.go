package store

import (
	"context"
	"slices"
	"testing"
)

func TestSmokeConsistencies(t *testing.T) {
	for _, cons := range []string{LWW, VClock, ABD} {
		t.Run(cons, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.Consistency = cons })
			ctx := context.Background()
			a, b := c.client("n1"), c.client("n2")
			if err := a.Put(ctx, "k", "v1", 0, ""); err != nil {
				t.Fatalf("put: %v", err)
			}
			got, err := b.Get(ctx, "k", 0)
			if err != nil || !slices.Equal(got.Values, []string{"v1"}) {
				t.Fatalf("get: got %v %v, want [v1]", got.Values, err)
			}
			if err := b.Put(ctx, "k", "v2", 0, got.Context); err != nil {
				t.Fatalf("put 2: %v", err)
			}
			got, err = c.client("n3").Get(ctx, "k", 3)
			if err != nil || !slices.Equal(got.Values, []string{"v2"}) {
				t.Fatalf("get 2: got %v %v, want [v2]", got.Values, err)
			}
			for i := 0; i < 5; i++ {
				if err := c.client(c.ids[i%3]).Incr(ctx, "cnt", 2, 0); err != nil {
					t.Fatalf("incr: %v", err)
				}
			}
			if v, err := a.Counter(ctx, "cnt", 3); err != nil || v != 10 {
				t.Fatalf("counter: got %d %v, want 10", v, err)
			}
			for _, e := range []string{"x", "y", "x"} {
				if err := b.SetAdd(ctx, "s", e, 0); err != nil {
					t.Fatalf("add: %v", err)
				}
			}
			if el, err := a.SetRead(ctx, "s", 3); err != nil || !slices.Equal(el, []string{"x", "y"}) {
				t.Fatalf("set: got %v %v, want [x y]", el, err)
			}
		})
	}
}
