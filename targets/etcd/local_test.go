package etcd_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/targets/etcd"
)

// TestLocalWorkloads runs etcd's real server as local processes under kills and pauses with each
// workload: the register (with compare-and-set) is linearizable, and the read-modify-write set
// and counter, whose writes are Txns on the mod revision read, lose nothing.
func TestLocalWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds etcd's server and runs clusters")
	}
	ctx := context.Background()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	src, err := etcd.ServerSource()
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin, _, err := etcd.Build(ctx, log, src, filepath.Join(cache, "faultline"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		workload, check string
	}{
		{"register", checker.Linearizable},
		{"set", "lost-updates"},
		{"counter", "lost-increments"},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			lcfg := local.DefaultConfig()
			lcfg.Log = log
			rt, err := local.New(lcfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg := harness.DefaultConfig()
			cfg.Target, cfg.Workload = "etcd", tc.workload
			if tc.workload == "register" {
				cfg.CAS = 0.3
			}
			cfg.Nodes, cfg.Keys, cfg.Concurrency, cfg.Rate = 3, 3, 6, 150
			cfg.Time, cfg.NemesisInterval = 6*time.Second, 2*time.Second
			cfg.Nemesis = []string{"kill", "pause"}
			cfg.OpTimeout, cfg.CheckTimeout = time.Second, 30*time.Second
			cfg.Seed, cfg.ResultsRoot = 5, t.TempDir()
			out, err := harness.Run(ctx, cfg, harness.Options{Runtime: rt, Target: etcd.Target{Binary: bin}, Log: log})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if r := out.Results.Checkers[tc.check]; r == nil || r.Valid != checker.Valid {
				t.Errorf("%s: got %+v, want valid (folder %s)", tc.check, r, out.Dir)
			}
			if out.OK == 0 {
				t.Errorf("no client op succeeded: the test exercised nothing")
			}
			for id, pid := range rt.PIDs() {
				t.Errorf("member %s (pid %d) still running after the run", id, pid)
			}
		})
	}
}
