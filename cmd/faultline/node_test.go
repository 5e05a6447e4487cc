package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/store"
)

// parseNodeFlags runs `faultline node ARGS` up to the config: the node command's flags are
// parsed and turned into a store.Config by nodeConfig, but no node is started.
func parseNodeFlags(t *testing.T, args ...string) (store.Config, string, error) {
	t.Helper()
	env := &appEnv{log: zerolog.Nop()}
	cmd := nodeCommand(env)
	var cfg store.Config
	var listen string
	var cfgErr error
	ran := false
	cmd.Action = func(c *cli.Context) error {
		ran = true
		cfg, listen, cfgErr = nodeConfig(c)
		return nil
	}
	var sink strings.Builder
	app := &cli.App{Name: "faultline", Writer: &sink, ErrWriter: &sink, Commands: []*cli.Command{cmd},
		ExitErrHandler: func(*cli.Context, error) {}}
	if err := app.Run(append([]string{"faultline", "node"}, args...)); err != nil {
		t.Fatalf("faultline node %v: %v\n%s", args, err, sink.String())
	}
	if !ran {
		t.Fatalf("faultline node %v: action did not run\n%s", args, sink.String())
	}
	return cfg, listen, cfgErr
}

// TestNodeFlagDefaults: without flags, `faultline node` runs a node with store.DefaultConfig()
// (the same read repair, anti-entropy, hinted handoff, sloppy quorum and fsync as the harness).
func TestNodeFlagDefaults(t *testing.T) {
	t.Setenv("FAULTLINE_ADMIN_TOKEN", "")
	t.Setenv("FAULTLINE_CLUSTER_SECRET", "")
	dir := t.TempDir()
	cfg, listen, err := parseNodeFlags(t, "--id", "n2", "--peers", "n1=127.0.0.1:7001, n2=127.0.0.1:7002", "--data", dir)
	if err != nil {
		t.Fatalf("nodeConfig: %v", err)
	}
	def := store.DefaultConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"read repair", cfg.ReadRepair, def.ReadRepair},
		{"read repair sync", cfg.ReadRepairSync, def.ReadRepairSync},
		{"anti-entropy", cfg.AntiEntropy, def.AntiEntropy},
		{"hinted handoff", cfg.HintedHandoff, def.HintedHandoff},
		{"sloppy quorum", cfg.SloppyQuorum, def.SloppyQuorum},
		{"fsync", cfg.Fsync, def.Fsync},
		{"engine", cfg.Engine, def.Engine},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: flag default %v, store.DefaultConfig() %v", c.name, c.got, c.want)
		}
	}
	// Everything else too: the config is DefaultConfig plus id, peers and data directory.
	want := def
	want.ID, want.DataDir = "n2", dir
	want.Peers = map[string]string{"n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config from default flags:\n got %+v\nwant %+v", cfg, want)
	}
	if listen != "127.0.0.1:7002" {
		t.Errorf("listen without --listen: got %q, want n2's address in --peers", listen)
	}
}

// TestNodeFlagsOverride: the flags reach the config (the defaults test alone would pass if
// nodeConfig ignored them).
func TestNodeFlagsOverride(t *testing.T) {
	cfg, listen, err := parseNodeFlags(t, "--id", "n1", "--peers", "n1=127.0.0.1:7001", "--data", t.TempDir(),
		"--listen", "0.0.0.0:9000", "--read-repair=false", "--read-repair-sync", "--anti-entropy", "0",
		"--hinted-handoff=false", "--sloppy-quorum", "--fsync", "never", "--w", "1", "--r", "1",
		"--consistency", "vclock", "--admin-token", "tok", "--seed", "42", "--engine", "bbolt")
	if err != nil {
		t.Fatalf("nodeConfig: %v", err)
	}
	if cfg.ReadRepair || !cfg.ReadRepairSync || cfg.AntiEntropy != 0 || cfg.HintedHandoff || !cfg.SloppyQuorum || cfg.Fsync != "never" {
		t.Errorf("mechanism flags not applied: %+v", cfg)
	}
	if cfg.W != 1 || cfg.R != 1 || cfg.Consistency != "vclock" || cfg.AdminToken != "tok" || cfg.Seed != 42 || cfg.Engine != "bbolt" {
		t.Errorf("flags not applied: %+v", cfg)
	}
	if listen != "0.0.0.0:9000" {
		t.Errorf("listen: got %q, want --listen's", listen)
	}
}

// TestNodeBadPeers: a malformed --peers is an error of nodeConfig (the node exits 3).
func TestNodeBadPeers(t *testing.T) {
	for _, peers := range []string{"n1", "n1=a:1,n1=b:2", ","} {
		if _, _, err := parseNodeFlags(t, "--id", "n1", "--peers", peers, "--data", t.TempDir()); err == nil {
			t.Errorf("--peers %q: no error", peers)
		}
	}
}

// A switch of the other mode is refused, not silently ignored; each mode's own are accepted.
func TestNodeFlagsOfTheOtherMode(t *testing.T) {
	base := []string{"--id", "n1", "--peers", "n1=127.0.0.1:7001,n2=127.0.0.1:7002", "--data", t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"--mode", "multileader", "--consistency", "abd"}, "--consistency does not apply to --mode multileader"},
		{[]string{"--mode", "multileader", "--anti-entropy", "0"}, "--anti-entropy does not apply"},
		{[]string{"--mode", "multileader", "--sloppy-quorum"}, "--sloppy-quorum does not apply"},
		{[]string{"--conflict", "crdt"}, "--conflict does not apply to --mode leaderless"},
		{[]string{"--topology", "ring"}, "--topology does not apply"},
		{[]string{"--mode", "multileader", "--conflict", "crdt", "--topology", "ring", "--n", "2"}, ""},
		{[]string{"--consistency", "abd", "--anti-entropy", "0", "--sloppy-quorum"}, ""},
	} {
		_, _, err := parseNodeFlags(t, append(append([]string{}, base...), tc.args...)...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v, want accepted", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
