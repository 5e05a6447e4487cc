package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
	"github.com/rs/zerolog"
)

// mlChildEnv makes TestMultileaderChildNode run a multi-leader node (spec: childSpec JSON)
// instead of returning: the kill -9 test re-executes the test binary with it.
const mlChildEnv = "FAULTLINE_STORE_ML_CHILD"

// TestMultileaderChildNode is not a test: in a child process it serves one multi-leader node
// until SIGTERM (or until it is SIGKILLed); elsewhere it returns at once.
func TestMultileaderChildNode(t *testing.T) {
	spec := os.Getenv(mlChildEnv)
	if spec == "" {
		return
	}
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		os.Exit(3)
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Peers, cfg.DataDir = s.ID, s.Peers, s.DataDir
	if s.Engine != "" {
		cfg.Engine = s.Engine
	}
	cfg.Mode, cfg.Conflict, cfg.Topology = "multileader", ConflictCRDT, TopologyAll
	cfg.Fsync = "always"
	cfg.RequestTimeout = 500 * time.Millisecond
	cfg.AdminToken = testToken
	cfg.ClusterSecret = testSecret
	n, err := New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", s.Peers[s.ID])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := n.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func startMLChild(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMultileaderChildNode$")
	cmd.Env = append(os.Environ(), mlChildEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child %s: %v", spec.ID, err)
	}
	healthy(t, "child "+spec.ID, client.New(spec.Peers[spec.ID], client.WithTimeout(time.Second)))
	return cmd
}

// TestMultileaderQueueSurvivesKill9 acks increments on a leader cut off from its peers, kills
// it with SIGKILL while they are queued, restarts it, and checks the peers receive them all.
func TestMultileaderQueueSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	forEachEngine(t, testMultileaderQueueSurvivesKill9)
}

func testMultileaderQueueSurvivesKill9(t *testing.T, engine string) {
	ctx := context.Background()
	dir := t.TempDir()
	peers := map[string]string{}
	ids := []string{"n1", "n2", "n3"}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[id] = ln.Addr().String()
		ln.Close()
	}
	procs := map[string]*exec.Cmd{}
	t.Cleanup(func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	spec := func(id string) childSpec {
		return childSpec{ID: id, Peers: peers, DataDir: filepath.Join(dir, id), Engine: engine}
	}
	for _, id := range ids {
		procs[id] = startMLChild(t, spec(id))
	}
	admin := func(id string) *client.Client {
		return client.New(peers[id], client.WithAdminToken(testToken), client.WithTimeout(5*time.Second))
	}
	// The peers stop hearing n1; n1 acks locally and queues.
	for _, id := range []string{"n2", "n3"} {
		if err := admin(id).SetFaults(ctx, client.Faults{Drop: []string{"n1"}}); err != nil {
			t.Fatal(err)
		}
	}
	const writes = 40
	for i := 0; i < writes; i++ {
		if err := admin("n1").Incr(ctx, "c", 1, 0); err != nil {
			t.Fatalf("incr %d on n1: %v", i, err)
		}
	}
	st, err := admin("n1").Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := st["ml_queue_total"].(float64); q == 0 {
		t.Fatalf("queued on n1 before the kill: got 0, want > 0")
	}
	procs["n1"].Process.Signal(syscall.SIGKILL)
	procs["n1"].Wait()
	delete(procs, "n1")
	procs["n1"] = startMLChild(t, spec("n1"))
	healed := time.Now()
	for _, id := range []string{"n2", "n3"} {
		if err := admin(id).SetFaults(ctx, client.Faults{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		wait.For(t, settle, id+" to have every increment", func() (bool, string) {
			n, err := admin(id).Counter(ctx, "c", 0)
			return err == nil && n == writes, fmt.Sprintf("counter %d (%v)", n, err)
		})
	}
	t.Logf("%d increments queued before kill -9 reached every leader %s after heal", writes, time.Since(healed))
}
