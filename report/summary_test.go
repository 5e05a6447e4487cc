package report

import (
	"strings"
	"testing"
)

// TestConfigSummaryTarget: a run of another target is summarized by its target and options,
// not by the reference store's settings; a reference run is summarized as before.
func TestConfigSummaryTarget(t *testing.T) {
	for _, tc := range []struct {
		name, json, want, not string
	}{
		{"etcd", `{"target":"etcd","target_options":{"reads":"serializable"},"nodes":3,"store":{"mode":"leaderless","consistency":"lww","n":3,"w":2,"r":2},"workload":"register"}`,
			"etcd reads=serializable", "leaderless"},
		{"reference", `{"nodes":3,"store":{"mode":"leaderless","consistency":"abd","n":3,"w":2,"r":2},"workload":"register"}`,
			"leaderless abd N3 W2 R2", "etcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := configSummary([]byte(tc.json))
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
				t.Errorf("got %q, want it to contain %q and not %q", got, tc.want, tc.not)
			}
		})
	}
}
