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
