package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Nodes, c.Store.N, c.Store.W, c.Store.R = 3, 3, 1, 3
	c.Store.Consistency, c.Store.SloppyQuorum, c.Store.AntiEntropy = "abd", true, 0
	c.Workload, c.CRDT, c.Nemesis, c.Checks = "set", true, []string{"kill", "clock"}, []string{"lost-updates"}
	c.Time, c.Seed, c.Rate = 7*time.Second, 42, 12.5
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, c)
	}
}

func TestConfigBadDuration(t *testing.T) {
	var c Config
	err := json.Unmarshal([]byte(`{"time":"soon","nodes":3}`), &c)
	if err == nil || !strings.Contains(err.Error(), `time "soon"`) {
		t.Errorf("got %v, want an error naming time \"soon\"", err)
	}
}

// A multi-leader config keeps its conflict mode and topology through config.json; a
// leaderless one writes neither, and a file without them loads the defaults.
func TestConfigRoundTripMultileader(t *testing.T) {
	c := DefaultConfig()
	c.Store.Mode, c.Store.Conflict, c.Store.Topology = "multileader", "siblings", "star"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got.Store, c.Store)
	}
	lb, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(lb), `"conflict"`) || strings.Contains(string(lb), `"topology"`) {
		t.Errorf("a leaderless config.json names a conflict mode or topology: %s", lb)
	}
	var old Config
	if err := json.Unmarshal([]byte(`{"nodes":3,"store":{"mode":"multileader","fsync":"always","anti_entropy":"0s"}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Store.Conflict != "lww" || old.Store.Topology != "all" {
		t.Errorf("a file without them loads conflict %q, topology %q; want lww, all", old.Store.Conflict, old.Store.Topology)
	}
}
