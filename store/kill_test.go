package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
	"github.com/rs/zerolog"
)

// The kill -9 test runs nodes as child processes: the test binary re-executes itself with
// FAULTLINE_STORE_CHILD set to a childSpec, and TestMain runs a node instead of the tests. The
// children are then ended with a real SIGKILL.
const childEnv = "FAULTLINE_STORE_CHILD"

type childSpec struct {
	ID      string
	Peers   map[string]string
	DataDir string
	Engine  string // Config.Engine; "" = the default
}

// forEachEngine runs test once per storage engine, as a subtest named after it.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) { test(t, engine) })
	}
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

func runChild(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		return 3
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Peers, cfg.DataDir = s.ID, s.Peers, s.DataDir
	if s.Engine != "" {
		cfg.Engine = s.Engine
	}
	cfg.Fsync = "always"
	cfg.AntiEntropy = 0
	cfg.RequestTimeout = time.Second
	cfg.AdminToken = testToken
	cfg.ClusterSecret = testSecret
	n, err := New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ln, err := net.Listen("tcp", s.Peers[s.ID])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := n.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startChild(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child %s: %v", spec.ID, err)
	}
	c := client.New(spec.Peers[spec.ID], client.WithTimeout(time.Second))
	healthy(t, "child "+spec.ID, c)
	return cmd
}

// healthy waits for the node c talks to to answer /health.
func healthy(t *testing.T, what string, c *client.Client) {
	t.Helper()
	wait.For(t, settle, what+" healthy", func() (bool, string) {
		err := c.Health(context.Background())
		return err == nil, fmt.Sprint(err)
	})
}

// startChildren starts n1..n3 as child processes on fresh loopback ports and data dirs, with
// storage engine engine, and kills whatever still runs of them when the test ends. procs is the
// test's to change (kill and restart nodes through it).
func startChildren(t *testing.T, engine string) (map[string]string, map[string]childSpec, map[string]*exec.Cmd) {
	t.Helper()
	dir := t.TempDir()
	peers := map[string]string{}
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[fmt.Sprintf("n%d", i)] = ln.Addr().String()
		ln.Close()
	}
	specs := map[string]childSpec{}
	procs := map[string]*exec.Cmd{}
	for id := range peers {
		specs[id] = childSpec{ID: id, Peers: peers, DataDir: filepath.Join(dir, id), Engine: engine}
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	for id, s := range specs {
		procs[id] = startChild(t, s)
	}
	return peers, specs, procs
}

func TestAckedWritesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	forEachEngine(t, testAckedWritesSurviveKill9)
}

func testAckedWritesSurviveKill9(t *testing.T, engine string) {
	peers, specs, procs := startChildren(t, engine)
	ids := []string{"n1", "n2", "n3"}

	// Concurrent writers; the killer strikes while they run.
	var mu sync.Mutex
	acked := map[string]string{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("g%d-%d", g, i)
				c := client.New(peers[ids[rng.Intn(3)]], client.WithTimeout(2*time.Second))
				if c.Put(context.Background(), key, "v-"+key, 2, "") == nil {
					mu.Lock()
					acked[key] = "v-" + key
					mu.Unlock()
				}
			}
		}()
	}
	wait.For(t, settle, "200 acked writes", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200, fmt.Sprintf("%d acked", len(acked))
	})
	for _, id := range ids {
		procs[id].Process.Signal(syscall.SIGKILL)
	}
	for _, id := range ids {
		procs[id].Wait()
		delete(procs, id)
	}
	close(stop)
	wg.Wait()

	for id, s := range specs {
		procs[id] = startChild(t, s)
	}
	c := client.New(peers["n1"], client.WithTimeout(5*time.Second))
	lost := 0
	for key, want := range acked {
		v, err := c.Get(context.Background(), key, 2)
		if err != nil {
			t.Fatalf("get %s after restart: %v", key, err)
		}
		if !slices.Equal(v.Values, []string{want}) {
			lost++
			if lost < 5 {
				t.Errorf("acked write %s: got %v after kill -9 of every node, want [%s]", key, v.Values, want)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acked writes lost", lost, len(acked))
	}
	t.Logf("%d acked writes checked after kill -9 of all 3 nodes", len(acked))
}

// TestHintSurvivesKill9: a hint is durable on the node that holds it. n3 is down, writes
// through n1 leave hints for it on n1, n1 is killed with SIGKILL and restarted, then n3 comes
// back: the hints reach n3 (anti-entropy and read repair are off in the children, so nothing
// else could carry the writes there).
func TestHintSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	forEachEngine(t, testHintSurvivesKill9)
}

func testHintSurvivesKill9(t *testing.T, engine string) {
	peers, specs, procs := startChildren(t, engine)
	kill := func(id string) {
		procs[id].Process.Signal(syscall.SIGKILL)
		procs[id].Wait()
		delete(procs, id)
	}
	kill("n3")
	ctx := context.Background()
	admin := func(id string) *client.Client {
		return client.New(peers[id], client.WithTimeout(2*time.Second), client.WithAdminToken(testToken))
	}
	keys := []string{"h1", "h2", "h3"}
	for _, k := range keys {
		if err := admin("n1").Put(ctx, k, "v-"+k, 2, ""); err != nil {
			t.Fatalf("put %s with n3 down: %v", k, err)
		}
	}
	// The puts return at W=2 (n1 and n2); the hint for n3 is stored by the attempt to n3, which
	// runs on after the ack (see Leaderless.writeReplica). Reading the stat right after the last
	// put raced that attempt: "stored 2 hints, want 3". So wait, and kill n1 only once every hint
	// is on its disk: the counters move after storeHint's fsync. With 3 nodes there is no
	// fallback, so n1 keeps the hints itself (hint_local, counted just after hint_stored).
	wait.For(t, settle, "n1 to hold a hint for n3 of each of the 3 writes", func() (bool, string) {
		n, saw := adminStat(admin("n1"), "hint_local")
		return n >= float64(len(keys)), saw
	})
	kill("n1")
	procs["n1"] = startChild(t, specs["n1"])
	procs["n3"] = startChild(t, specs["n3"])
	wait.For(t, settle, "n3 to hold every hinted write", func() (bool, string) {
		d, err := admin("n3").Dump(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, k := range keys {
			if e, ok := d.Keys[k]; !ok || !slices.Equal(e.Values, []string{"v-" + k}) {
				return false, fmt.Sprintf("%s: %v", k, e.Values)
			}
		}
		return true, ""
	})
}
