package file_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

	// The file says the store takes ?w= and ?r= (quorums: true), so the run's --w and --r reach
	// the nodes: W=R=4 on 4 nodes is a valid run, but the file starts them with --n 3, so every
	// request is refused as a bad request (400: certainly not applied). The same run through a
	// copy of the file without that line sends none, and the nodes' W=R=2 serve it.
	t.Run("local, the run's quorums", func(t *testing.T) {
		b, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "\nquorums: true\n") {
			t.Fatalf("%s: want it to say quorums: true", example)
		}
		without := filepath.Join(t.TempDir(), "faultline-node.yaml")
		if err := os.WriteFile(without, []byte(strings.Replace(string(b), "\nquorums: true\n", "\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, file string
			sent       bool
		}{{"sent", example, true}, {"not sent", without, false}} {
			t.Run(tc.name, func(t *testing.T) {
				tg, err := file.Load(tc.file)
				if err != nil {
					t.Fatal(err)
				}
				lcfg := local.DefaultConfig()
				lcfg.Binary, lcfg.Log = bin, log
				rt, err := local.New(lcfg)
				if err != nil {
					t.Fatal(err)
				}
				cfg := harness.DefaultConfig()
				cfg.Target = tc.file
				cfg.Nodes, cfg.Keys, cfg.Concurrency, cfg.Rate = 4, 3, 4, 100
				cfg.Store.N, cfg.Store.W, cfg.Store.R = 4, 4, 4
				cfg.Time, cfg.Nemesis = 2*time.Second, nil
				cfg.OpTimeout, cfg.QuiesceMax, cfg.CheckTimeout = 1500*time.Millisecond, 5*time.Second, 30*time.Second
				cfg.Seed, cfg.ResultsRoot = 7, t.TempDir()
				out, err := harness.Run(context.Background(), cfg, harness.Options{Runtime: rt, Target: tg, Log: log})
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				switch {
				case tc.sent && (out.OK != 0 || out.Fail == 0 || out.Info != 0):
					t.Errorf("w=4&r=4 sent to nodes of N=3: got ok %d, fail %d, info %d, want every op failed (folder %s)", out.OK, out.Fail, out.Info, out.Dir)
				case !tc.sent && (out.OK == 0 || out.Fail != 0):
					t.Errorf("no quorums sent: got ok %d, fail %d, info %d, want ops ok and none failed (folder %s)", out.OK, out.Fail, out.Info, out.Dir)
				}
			})
		}
	})
}

// TestQuorumParameters: a file saying `quorums: true` makes every request carry the run's W and
// R (final reads included); without it none are sent.
func TestQuorumParameters(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RawQuery)
		mu.Unlock()
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"values":["v"]}`)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, line, want string
	}{
		{"quorums", "quorums: true\n", "w=1&r=3"},
		{"no quorums", "", ""},
		{"quorums false", "quorums: false\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(p, []byte("name: x\nargs: [a]\nport: 1\nhealth: {path: /h}\nprotocol: faultline-http\n"+tc.line), 0o644); err != nil {
				t.Fatal(err)
			}
			tg, err := file.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			cfg := harness.DefaultConfig()
			cfg.Store.N, cfg.Store.W, cfg.Store.R = 3, 1, 3
			cl, err := tg.Open(context.Background(), cfg, harness.ClusterSpec{}, []harness.Node{{ID: "n1", Addr: srv.Listener.Addr().String()}})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			mu.Lock()
			seen = nil
			mu.Unlock()
			ctx := context.Background()
			if err := cl.Client("n1", false).Put(ctx, "k", "v", ""); err != nil {
				t.Fatal(err)
			}
			for _, final := range []bool{false, true} {
				if _, _, err := cl.Client("n1", final).Get(ctx, "k"); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 3 {
				t.Fatalf("got %d requests %q, want 3", len(seen), seen)
			}
			for _, got := range seen {
				if q := got[strings.IndexByte(got, ' ')+1:]; q != tc.want {
					t.Errorf("request %s: got query %q, want %q", got, q, tc.want)
				}
			}
		})
	}
}
