package docker_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
)

// TestKnownPairsOnDocker runs calibration pairs of the harness on the Docker runtime, with real
// netfilter partitions, engine kills and pauses: a configuration that must break is found
// invalid, one that must hold is found valid, and neither leaves anything behind.
func TestKnownPairsOnDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	cases := []struct {
		name  string
		edit  func(*harness.Config)
		want  checker.Verdict
		check string
	}{
		{
			name: "lww W=1 R=1 under partitions is not linearizable",
			edit: func(c *harness.Config) {
				c.Store.W, c.Store.R = 1, 1
				c.Nemesis = []string{"partition"}
			},
			want: checker.Invalid, check: "linearizable",
		},
		{
			name: "abd W=2 R=2 stays linearizable under partitions, kills and pauses",
			edit: func(c *harness.Config) {
				c.Store.Consistency = "abd"
				c.Store.W, c.Store.R = 2, 2
				c.Nemesis = []string{"partition", "kill", "pause"}
			},
			want: checker.Valid, check: "linearizable",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRuntime(t, func(c *docker.Config) { c.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel) })
			cfg := harness.DefaultConfig()
			cfg.Nodes = 3
			cfg.Time = 6 * time.Second
			cfg.NemesisInterval = 2 * time.Second
			cfg.Rate = 150
			cfg.Keys = 3
			cfg.Concurrency = 6
			cfg.OpTimeout = 1500 * time.Millisecond
			cfg.QuiesceMax = 5 * time.Second
			cfg.CheckTimeout = 30 * time.Second
			cfg.Seed = 7
			cfg.ResultsRoot = t.TempDir()
			tc.edit(&cfg)
			out, err := harness.Run(context.Background(), cfg, harness.Options{
				Runtime: rt,
				Log:     zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if out.Runtime != "docker" {
				t.Errorf("runtime %q, want docker", out.Runtime)
			}
			r, ok := out.Results.Checkers[tc.check]
			if !ok {
				t.Fatalf("no %s result in %v", tc.check, out.Results.Checkers)
			}
			if r.Valid != tc.want {
				t.Errorf("%s: got %v, want %v (ops %d, ok %d, fail %d, info %d, folder %s)",
					tc.check, r.Valid, tc.want, out.Ops, out.OK, out.Fail, out.Info, out.Dir)
			}
			if out.OK == 0 {
				t.Errorf("no client op succeeded: the test exercised nothing")
			}
			dockertest.RequireNothingLeft(t, out.RunID)
		})
	}
}
