package store

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
	"github.com/rs/zerolog"
)

const testToken = "secret"

// testCluster runs nodes in-process on loopback listeners. Killing a node is Node.Kill: the
// listener and every connection are closed abruptly and nothing is flushed beyond what the
// fsync policy already wrote (the real SIGKILL test is in kill_test.go).
type testCluster struct {
	t     *testing.T
	ids   []string
	peers map[string]string
	dir   string
	mod   func(*Config)
	nodes map[string]*runningNode
	hc    *client.Client
	mode  *coreMode // the nodes' core (nil: the old replication modes)
}

type runningNode struct {
	node *Node
	stop context.CancelFunc
	done chan error
}

func newCluster(t *testing.T, size int, mod func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, peers: map[string]string{}, dir: t.TempDir(), mod: mod, nodes: map[string]*runningNode{}}
	c.startAll(size)
	return c
}

// startAll runs size nodes n1..nSize on loopback ports, stopped when the test ends.
func (c *testCluster) startAll(size int) {
	lns := map[string]net.Listener{}
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.t.Fatal(err)
		}
		c.ids = append(c.ids, id)
		c.peers[id] = ln.Addr().String()
		lns[id] = ln
	}
	for _, id := range c.ids {
		c.startOn(id, lns[id])
	}
	c.t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
}

func (c *testCluster) config(id string) Config {
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Peers = c.peers
	cfg.DataDir = filepath.Join(c.dir, id)
	cfg.AdminToken = testToken
	cfg.ClusterSecret = testSecret
	cfg.RequestTimeout = 500 * time.Millisecond
	cfg.HintInterval = 50 * time.Millisecond
	cfg.AntiEntropy = 0
	cfg.Fsync = "never" // tests that need durability set "always"
	if c.mod != nil {
		c.mod(&cfg)
	}
	return cfg
}

func (c *testCluster) startOn(id string, ln net.Listener) {
	c.t.Helper()
	cfg := c.config(id)
	mode := c.mode
	if mode == nil {
		mode = coreModeOf(cfg)
	}
	n, err := newNode(cfg, zerolog.New(zerolog.NewTestWriter(c.t)).Level(zerolog.WarnLevel), mode)
	if err != nil {
		c.t.Fatalf("starting %s: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &runningNode{node: n, stop: cancel, done: make(chan error, 1)}
	go func() { rn.done <- n.Serve(ctx, ln) }()
	c.nodes[id] = rn
}

// start restarts a stopped node on its address and data dir.
func (c *testCluster) start(id string) {
	c.t.Helper()
	var ln net.Listener
	// The port of a node just stopped may not be free at once.
	wait.For(c.t, settle, "re-listening on "+id+"'s address "+c.peers[id], func() (bool, string) {
		var err error
		ln, err = net.Listen("tcp", c.peers[id])
		return err == nil, fmt.Sprint(err)
	})
	c.startOn(id, ln)
}

// kill stops a node abruptly.
func (c *testCluster) kill(id string) {
	c.t.Helper()
	rn := c.nodes[id]
	rn.node.Kill()
	if err := <-rn.done; err != nil {
		c.t.Errorf("killing %s: %v", id, err)
	}
	rn.stop()
	delete(c.nodes, id)
}

// stop stops a node gracefully.
func (c *testCluster) stop(id string) {
	rn := c.nodes[id]
	rn.stop()
	if err := <-rn.done; err != nil {
		c.t.Errorf("stopping %s: %v", id, err)
	}
	delete(c.nodes, id)
}

func (c *testCluster) client(id string) *client.Client {
	return client.New(c.peers[id], client.WithAdminToken(testToken), client.WithTimeout(5*time.Second))
}

func (c *testCluster) node(id string) *Node { return c.nodes[id].node }

// dump reads one node's local data.
func (c *testCluster) dump(id string) client.Dump {
	c.t.Helper()
	d, err := c.client(id).Dump(context.Background())
	if err != nil {
		c.t.Fatalf("dump %s: %v", id, err)
	}
	return d
}

// replicas are key's preference list.
func (c *testCluster) replicas(key string) []string {
	cfg := c.config(c.ids[0])
	return NewRing(cfg.NodeIDs(), cfg.VNodes).PrefList(key, cfg.EffectiveN())
}

// settle bounds the tests' waits for asynchronous work (hints, repairs, deliveries, restarts):
// a liveness bound generous enough for -race on a loaded machine, not a timing assertion.
const settle = 30 * time.Second

// adminStat reads one node's counter through its admin API (for nodes in child processes), and
// says what it read, for a wait's failure message.
func adminStat(c *client.Client, name string) (float64, string) {
	st, err := c.Stats(context.Background())
	if err != nil {
		return 0, err.Error()
	}
	n, _ := st[name].(float64)
	return n, fmt.Sprintf("%s %v", name, st[name])
}

// eventually waits (up to settle) until cond holds, through the one poll helper.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	wait.For(t, settle, what, func() (bool, string) { return cond(), "" })
}
