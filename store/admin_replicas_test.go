package store

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestAdminReplicas: POST /admin/replicas names each key's replicas (leaderless: the preference
// list of N; multi-leader: every node), including a replica that lacks the key, which its dump
// alone cannot show.
func TestAdminReplicas(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 5, nil) // N=3 of 5
	keys := []string{"a", "b", "k1", "k2", "k3"}
	got, err := c.client("n2").Replicas(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if want := c.replicas(k); !slices.Equal(got[k], want) {
			t.Errorf("leaderless %s: got %v, want %v", k, got[k], want)
		}
	}
	if len(got) != len(keys) {
		t.Errorf("got %d keys, want %d: %v", len(got), len(keys), got)
	}

	// A replica cut off during a write lacks the key; the placement still names it.
	key := c.keyWhere(func(pref []string) bool { return pref[0] != "n1" && slices.Contains(pref, "n1") })
	pref := c.replicas(key)
	c.isolate("n1")
	if err := c.client(pref[0]).Put(ctx, key, "v", 2, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.dump("n1").Keys[key]; ok {
		t.Fatalf("n1 holds %s though it was cut off", key)
	}
	got, err = c.client(pref[0]).Replicas(ctx, []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got[key], "n1") {
		t.Errorf("%s: replicas %v do not name n1", key, got[key])
	}
	c.heal()

	// Many keys go in batches.
	var many []string
	for i := 0; i < 3000; i++ {
		many = append(many, fmt.Sprintf("%s%d", strings.Repeat("<", 200), i))
	}
	if got, err := c.client("n3").Replicas(ctx, many); err != nil || len(got) != len(many) {
		t.Errorf("3000 long keys: got %d keys, err %v", len(got), err)
	}

	// Errors.
	hc := &http.Client{}
	for _, tt := range []struct {
		name, body, token string
		status            int
	}{
		{"no token", `{"keys":["a"]}`, "", 401},
		{"wrong token", `{"keys":["a"]}`, "nope", 401},
		{"keys missing", `{}`, testToken, 400},
		{"unknown field", `{"key":["a"]}`, testToken, 400},
		{"empty key", `{"keys":[""]}`, testToken, 400},
		{"ok", `{"keys":[]}`, testToken, 200},
	} {
		req, _ := http.NewRequest("POST", "http://"+c.peers["n1"]+"/admin/replicas", strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: got %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}

	ml := newCluster(t, 3, func(cfg *Config) { cfg.Mode = "multileader" })
	got, err = ml.client("n1").Replicas(ctx, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if want := []string{"n1", "n2", "n3"}; !slices.Equal(got[k], want) {
			t.Errorf("multileader %s: got %v, want %v", k, got[k], want)
		}
	}
}
