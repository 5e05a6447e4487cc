package reference

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/wait"
	"github.com/faultline/faultline/store"
)

// TestDumpsMarkMissingReplica: with N=3 on 3 in-process nodes, a write made while n3 was cut
// off leaves n3 without the key. takeDumps records n3's key as null, so the quiesce test
// (agreed) does not settle and the convergence checker finds the key divergent.
func TestDumpsMarkMissingReplica(t *testing.T) {
	ctx := context.Background()
	const token = "tok"
	ids := []string{"n1", "n2", "n3"}
	peers := map[string]string{}
	lns := map[string]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[id], lns[id] = ln.Addr().String(), ln
	}
	dir := t.TempDir()
	admins := map[string]*client.Client{}
	for _, id := range ids {
		cfg := store.DefaultConfig()
		cfg.ID, cfg.Peers, cfg.DataDir = id, peers, filepath.Join(dir, id)
		cfg.AdminToken, cfg.Fsync, cfg.AntiEntropy = token, "never", 0
		cfg.ClusterSecret = "placement-test-cluster-secret"
		cfg.RequestTimeout, cfg.HintInterval = 300*time.Millisecond, time.Hour
		n, err := store.New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func(ln net.Listener) { done <- n.Serve(sctx, ln) }(lns[id])
		t.Cleanup(func() { stop(); <-done })
		admins[id] = client.New(peers[id], client.WithAdminToken(token), client.WithTimeout(5*time.Second))
	}
	cut := func(drop map[string][]string) {
		for _, id := range ids {
			if err := admins[id].SetFaults(ctx, client.Faults{Drop: drop[id]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cut(map[string][]string{"n1": {"n3"}, "n2": {"n3"}, "n3": {"n1", "n2"}})
	if err := admins["n1"].Put(ctx, "k", "7", 2, ""); err != nil {
		t.Fatal(err)
	}
	// The put returns at W=2 while n1's attempt to n3 runs on: lift the cut only once n1's
	// filter dropped that attempt, or it could pass after the cut and reach n3.
	wait.For(t, 30*time.Second, "n1 to drop its write to n3", func() (bool, string) {
		st, err := admins["n1"].Stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		n, _ := st["fault_drop_out"].(float64)
		return n >= 1, fmt.Sprintf("fault_drop_out %v", st["fault_drop_out"])
	})
	cut(nil)

	d, err := takeDumps(ctx, admins, ids)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := d["n3"]["k"]; !ok || !v.IsNil() {
		t.Fatalf("n3/k: got %v (present %v), want null; dumps %v", v, ok, d)
	}
	if !d["n1"]["k"].Equal(history.Int(7)) || !d["n2"]["k"].Equal(history.Int(7)) {
		t.Errorf("n1, n2: got %v, want 7 on both", d)
	}
	if harness.Agreed(d) {
		t.Error("Agreed: true with n3 missing k")
	}

	// Saved as dumps.json and checked again (faultline check on the run folder), the same.
	path := filepath.Join(t.TempDir(), "dumps.json")
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	saved, err := history.ReadDumps(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := checker.Check(ctx, nil, checker.Config{Workload: checker.WorkloadRegister, Checks: []string{checker.Convergence}, Dumps: saved, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Checkers[checker.Convergence]; c == nil || c.Valid != checker.Invalid || !strings.Contains(strings.Join(c.Explanation, " "), "[n3]") {
		t.Errorf("convergence on the saved dumps: got %+v, want invalid naming n3", c)
	}
}
