package file_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/local"
	"github.com/faultline/faultline/internal/testbin"
	"github.com/faultline/faultline/targets/file"
)

// example is the target file that runs `faultline node` through the generic path.
var example = filepath.Join("..", "..", "examples", "targets", "faultline-node.yaml")

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"protocol", "name: x\nargs: [a]\nport: 1\nhealth: {path: /h}\nprotocol: grpc\n", `protocol "grpc": want faultline-http`},
		{"clock", "name: x\nargs: [a]\nport: 1\nhealth: {path: /h}\nprotocol: faultline-http\nfaults: [clock]\n", "faults: clock needs a way into the store"},
		{"template", "name: x\nargs: ['{{.Nope}}']\nport: 1\nhealth: {path: /h}\nprotocol: faultline-http\n", "args:"},
		{"unknown field", "name: x\nargs: [a]\nport: 1\nhealth: {path: /h}\nprotocol: faultline-http\ncolour: red\n", "field colour not found"},
		{"both", "name: x\nbinary: b\nimage: i\nargs: [a]\nport: 1\nhealth: {path: /h}\nprotocol: faultline-http\n", "binary and image: give one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := file.Load(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestFaultlineNodeThroughTargetFile runs the reference store as any store would be run: from
// examples/targets/faultline-node.yaml (abd, W=R=2), on the local runtime under kills and pauses
// and on Docker under partitions, kills and pauses. Both are linearizable, and the clients
// reached the nodes only through the file's launch, health path and the client API.
func TestFaultlineNodeThroughTargetFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	tg, err := file.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := testbin.Build(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	for _, tc := range []struct {
		name    string
		rt      func(t *testing.T) harness.Runtime
		nemesis []string
	}{
		{"local", func(t *testing.T) harness.Runtime {
			cfg := local.DefaultConfig()
			cfg.Binary, cfg.Log = bin, log
			rt, err := local.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return rt
		}, []string{"kill", "pause"}},
		{"docker", func(t *testing.T) harness.Runtime {
			dockertest.Require(t)
			cfg := docker.DefaultConfig()
			cfg.Binary, cfg.Log = bin, log
			rt, err := docker.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close() })
			return rt
		}, []string{"partition", "kill", "pause"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.rt(t)
			cfg := harness.DefaultConfig()
			cfg.Target = example
			cfg.Nodes, cfg.Keys, cfg.Concurrency, cfg.Rate = 3, 3, 6, 150
			cfg.Time, cfg.NemesisInterval = 6*time.Second, 2*time.Second
			cfg.Nemesis = tc.nemesis
			cfg.OpTimeout, cfg.QuiesceMax, cfg.CheckTimeout = 1500*time.Millisecond, 5*time.Second, 30*time.Second
			cfg.Seed, cfg.ResultsRoot = 7, t.TempDir()
			out, err := harness.Run(context.Background(), cfg, harness.Options{Runtime: rt, Target: tg, Log: log})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if rt.Name() == "docker" {
				dockertest.RequireNothingLeft(t, out.RunID)
			}
			if r := out.Results.Checkers[checker.Linearizable]; r == nil || r.Valid != checker.Valid {
				t.Errorf("linearizable: got %+v, want valid (folder %s)", r, out.Dir)
			}
			if out.OK == 0 {
				t.Errorf("no client op succeeded: the test exercised nothing")
			}
			if !strings.HasPrefix(filepath.Base(filepath.Dir(out.Dir)), "faultline-node-register-") {
				t.Errorf("run folder %s: want it named after the target file's store", out.Dir)
			}
		})
	}
}
