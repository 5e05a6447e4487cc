package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Batches larger than one internal request's budget go in several requests, each within the
// peers' body limit: anti-entropy pages, multi-leader batches cut by size. A 4 KiB client
// limit makes the budget 64 KiB, and 100 values of 2 KiB need four requests or more.
func TestInternalBatchesSplitToTheBodyLimit(t *testing.T) {
	const clientBody = 4 << 10
	value := func(i int) string { return fmt.Sprintf("%04d", i) + strings.Repeat("v", 2000) }
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"anti-entropy", func(c *Config) {
			c.HintedHandoff, c.AntiEntropy = false, 50*time.Millisecond
		}},
		{"multileader", func(c *Config) {
			c.Mode, c.Conflict, c.Topology = "multileader", ConflictLWW, TopologyAll
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.MaxBodyBytes = clientBody
				tc.mod(cfg)
			})
			ctx := context.Background()
			c.stop("n3")
			w := 2
			if tc.name == "multileader" {
				w = 1
			}
			for i := 0; i < 100; i++ {
				if err := c.client("n1").Put(ctx, fmt.Sprintf("k%03d", i), value(i), w, ""); err != nil {
					t.Fatal(err)
				}
			}
			c.start("n3")
			eventually(t, "n3 holds all 100 values", func() bool {
				d, err := c.client("n3").Dump(ctx)
				if err != nil || len(d.Keys) != 100 {
					return false
				}
				for i := 0; i < 100; i++ {
					if v := d.Keys[fmt.Sprintf("k%03d", i)].Values; len(v) != 1 || v[0] != value(i) {
						return false
					}
				}
				return true
			})
			for _, id := range c.ids {
				if n := c.stat(id, "ae_record_too_large"); n != 0 {
					t.Errorf("%s: ae_record_too_large %d, want 0", id, n)
				}
			}
		})
	}
}

// TestInternalBodyBound: an internal body past what a legitimate batch needs is answered 413
// before it is applied, even with the secret; a record at the client API's largest value (in
// its worst JSON encoding) still replicates.
func TestInternalBodyBound(t *testing.T) {
	const clientBody = 4 << 10
	c := newCluster(t, 3, func(cfg *Config) { cfg.MaxBodyBytes = clientBody })
	ctx := context.Background()
	limit := maxInternalBody(clientBody)
	// The largest value a client can write, every byte one that JSON escapes six times over
	// (sent raw: the client package would escape it itself).
	big := strings.Repeat("<", clientBody-len(`{"value":""}`))
	req, err := http.NewRequest(http.MethodPut, "http://"+c.peers["n1"]+"/kv/big?w=3", strings.NewReader(`{"value":"`+big+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a largest client value: %d %s", resp.StatusCode, answer)
	}
	for _, id := range c.ids {
		if d := c.dump(id); !slices.Equal(d.Keys["big"].Values, []string{big}) {
			t.Errorf("%s does not hold the largest client value", id)
		}
	}
	if err := c.client("n1").Put(ctx, "k", "v1", 3, ""); err != nil {
		t.Fatal(err)
	}
	huge := `{"key":"k","record":{"k":"register","r":[{"v":"` + strings.Repeat("x", int(limit)) + `","t":9223372036854775807,"n":"n2","s":1}]}}`
	o := newOutsider(t)
	if st, body := o.post(c.peers["n1"], "/internal/write", huge, testSecret); st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than") {
		t.Errorf("oversize body with the secret: got %d %.200s, want 413", st, body)
	}
	st, body := o.post(c.peers["n1"], "/internal/write", huge, "")
	refused(t, "oversize body without the secret", st, body)
	if got := values(t, c.client("n2"), "k", 3); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("after the refused bodies: got %.40q, want [v1]", got)
	}
}

// fitEntries keeps a prefix within the budget, and at least one entry.
func TestFitEntries(t *testing.T) {
	entry := func(n int) queued {
		return queued{out: outEntry{E: mlEntry{Origin: "n1", Seq: 1, Key: "k",
			Rec: Record{Kind: KindRegister, Sibs: []Sibling{{Value: strings.Repeat("x", n), Node: "n1", Seq: 1}}}}}}
	}
	size := encodedSize(entry(100).out.E) + 1
	batch := []queued{entry(100), entry(100), entry(100), entry(100)}
	for _, tc := range []struct {
		budget int64
		want   int
	}{
		{4 * size, 4},
		{3*size + size/2, 3},
		{size, 1},
		{1, 1}, // an entry past the budget goes alone
	} {
		if got := len(fitEntries(batch, tc.budget)); got != tc.want {
			t.Errorf("budget %d (entries of %d bytes): got %d entries, want %d", tc.budget, size, got, tc.want)
		}
	}
}
