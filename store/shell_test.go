package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
	"github.com/rs/zerolog"
)

// ---- storage: the overlay and the pipelined group commit ----

// gatedEngine is an Engine whose Apply waits for the test to open its gate, so a test sees what
// Get and Scan answer while a batch is committing.
type gatedEngine struct {
	Engine
	gate    chan struct{} // Apply waits for a receive... of a value sent here
	entered chan struct{} // Apply sends here when it starts
	syncs   []bool        // each Apply's sync flag (the committer's goroutine; read after its post)
}

func (g *gatedEngine) Apply(b *Batch, sync bool) error {
	g.entered <- struct{}{}
	<-g.gate
	g.syncs = append(g.syncs, sync)
	return g.Engine.Apply(b, sync)
}

// newGatedStorage is a shellStorage on a bbolt engine in a temp dir, gated, with its posts
// queued for the test to run (the test is the loop).
func newGatedStorage(t *testing.T, linger time.Duration) (*shellStorage, *gatedEngine, chan func()) {
	t.Helper()
	eng, err := openEngine(t.TempDir(), EngineBbolt, "never", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedEngine{Engine: eng, gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	posts := make(chan func(), 1000)
	s := newShellStorage(g, false, linger, func(f func()) { posts <- f })
	t.Cleanup(func() {
		close(g.gate) // let every Apply through
		if err := s.close(); err != nil {
			t.Error(err)
		}
	})
	return s, g, posts
}

func putOp(bucket, key, value string) BatchOp {
	return BatchOp{Bucket: bucket, Key: []byte(key), Value: []byte(value)}
}

func scanOverlay(t *testing.T, s *shellStorage, bucket, from string) string {
	t.Helper()
	var out []string
	if err := s.Scan(bucket, []byte(from), func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func getOverlay(t *testing.T, s *shellStorage, bucket, key string) string {
	t.Helper()
	v, err := s.Get(bucket, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return "<nil>"
	}
	return string(v)
}

func TestShellStorageOverlayServesReadsWhileTheBatchCommits(t *testing.T) {
	s, g, posts := newGatedStorage(t, 0)
	// The engine already holds a, c and e.
	if err := g.Engine.Apply(&Batch{Ops: []BatchOp{putOp("data", "a", "1"), putOp("data", "c", "1"), putOp("data", "e", "1")}}, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "b", "2"), putOp("data", "c", "2"), {Bucket: "data", Key: []byte("e"), Delete: true}, putOp("hints", "x", "h")}},
		func(err error) { done <- err })
	<-g.entered // the committer is applying it, held at the gate

	if got, want := scanOverlay(t, s, "data", ""), "a=1 b=2 c=2"; got != want {
		t.Errorf("scan while committing: got %q, want %q", got, want)
	}
	if got, want := scanOverlay(t, s, "data", "b"), "b=2 c=2"; got != want {
		t.Errorf("scan from b: got %q, want %q", got, want)
	}
	var first []string
	_ = s.Scan("data", nil, func(k, _ []byte) bool { first = append(first, string(k)); return len(first) < 2 })
	if got, want := strings.Join(first, " "), "a b"; got != want {
		t.Errorf("scan stopped after 2: got %q, want %q", got, want)
	}
	for key, want := range map[string]string{"a": "1", "b": "2", "c": "2", "e": "<nil>"} {
		if got := getOverlay(t, s, "data", key); got != want {
			t.Errorf("get %s while committing: got %s, want %s", key, got, want)
		}
	}
	if got := getOverlay(t, s, "hints", "x"); got != "h" {
		t.Errorf("get hints/x: got %s, want h", got)
	}
	// A second batch overwrites c before the first is retired.
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "c", "3")}}, func(err error) { done <- err })
	select {
	case f := <-posts:
		t.Fatalf("a done was posted before the engine applied the batch (%p)", f)
	default:
	}

	g.gate <- struct{}{} // the first batch reaches the engine
	(<-posts)()          // its retirement and done, on "the loop"
	if err := <-done; err != nil {
		t.Fatalf("first batch: %v", err)
	}
	if got := getOverlay(t, s, "data", "c"); got != "3" {
		t.Errorf("after the first batch retired, c is %s, want 3 (the second batch's, still in the overlay)", got)
	}
	<-g.entered
	g.gate <- struct{}{}
	(<-posts)()
	if err := <-done; err != nil {
		t.Fatalf("second batch: %v", err)
	}
	if n := len(s.overlay); n != 0 {
		t.Errorf("overlay holds %d buckets after every batch retired, want 0", n)
	}
	if got, want := scanOverlay(t, s, "data", ""), "a=1 b=2 c=3"; got != want {
		t.Errorf("scan of the engine: got %q, want %q", got, want)
	}
}

func TestShellStorageGroupsTheBatchesQueuedDuringACommit(t *testing.T) {
	s, g, posts := newGatedStorage(t, 0)
	var order []int
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "k0", "v")}}, func(err error) { order = append(order, 0) })
	<-g.entered
	const more = 10
	for i := 1; i <= more; i++ {
		s.Persist(&Batch{Ops: []BatchOp{putOp("data", fmt.Sprintf("k%d", i), "v")}}, func(err error) {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
			order = append(order, i)
		})
	}
	g.gate <- struct{}{}
	(<-posts)()
	<-g.entered
	g.gate <- struct{}{}
	(<-posts)()
	if got, want := fmt.Sprint(s.commits.Load(), s.committed.Load()), fmt.Sprint(2, more+1); got != want {
		t.Errorf("commits and batches committed: got %s, want %s (the ten queued during the first commit share one)", got, want)
	}
	if got, want := fmt.Sprint(order), "[0 1 2 3 4 5 6 7 8 9 10]"; got != want {
		t.Errorf("dones ran in order %s, want %s", got, want)
	}
}

// Under fsync never, Sync makes what was persisted before it durable: its group is applied with
// a sync (the multi-leader core relies on it before it sends or acknowledges to a peer), and
// its done comes after the dones of the batches before it. The batches alone are not synced.
func TestShellStorageSyncSyncsUnderFsyncNever(t *testing.T) {
	s, g, posts := newGatedStorage(t, 0)
	var order []string
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "a", "1")}}, func(error) { order = append(order, "a") })
	<-g.entered
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "b", "1")}}, func(error) { order = append(order, "b") })
	s.Sync(func(err error) {
		if err != nil {
			t.Errorf("sync: %v", err)
		}
		order = append(order, "sync")
	})
	g.gate <- struct{}{}
	(<-posts)()
	<-g.entered
	g.gate <- struct{}{}
	(<-posts)()
	if got, want := fmt.Sprint(g.syncs), "[false true]"; got != want {
		t.Errorf("engine applies synced: got %s, want %s (a alone unsynced; b with the Sync synced)", got, want)
	}
	if got, want := fmt.Sprint(order), "[a b sync]"; got != want {
		t.Errorf("dones: got %s, want %s", got, want)
	}
}

func TestShellStorageAfterCloseAnswersClosed(t *testing.T) {
	eng, err := openEngine(t.TempDir(), EnginePebble, "always", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	posts := make(chan func(), 10)
	s := newShellStorage(eng, true, 0, func(f func()) { posts <- f })
	got := make(chan error, 2)
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "k", "v")}}, func(err error) { got <- err })
	if err := s.close(); err != nil { // applies what was queued first
		t.Fatal(err)
	}
	(<-posts)()
	if err := <-got; err != nil {
		t.Errorf("the batch queued before close: %v", err)
	}
	s.Persist(&Batch{Ops: []BatchOp{putOp("data", "k", "w")}}, func(err error) { got <- err })
	(<-posts)()
	if err := <-got; !errors.Is(err, errClosed) {
		t.Errorf("a batch after close: got %v, want errClosed", err)
	}
}

// ---- the loop and the Env, through a node running a test core ----

// testPutReq is the test core's one internal request: store a value.
type testPutReq struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type testPutResp struct {
	Stored string `json:"stored"`
}

func (testPutReq) route() string                 { return "/internal/test/put" }
func (testPutReq) answer() any                   { return new(testPutResp) }
func (*testPutReq) limit(*internalRules) int64   { return internalSmallBody }
func (q *testPutReq) check(*internalRules) error { return checkKey(q.Key) }

func testRequest(route string) Request {
	if route == (testPutReq{}).route() {
		return &testPutReq{}
	}
	return nil
}

// loopGuard catches two entries into a core at once (the race detector catches the rest).
type loopGuard struct{ busy atomic.Bool }

func (g *loopGuard) enter(t *testing.T) (leave func()) {
	if g.busy.Swap(true) {
		t.Errorf("the core was entered while it was running (two entries at once, or a callback run inline)")
	}
	return func() { g.busy.Store(false) }
}

// testCore is a minimal Core for the shell's tests: a register per key, stored locally and sent
// to every peer; a write is acknowledged once q.W copies (the local one included) are stored,
// and fails indeterminate when too few peers answered. Reads are local. Every entry checks that
// it runs alone, and every Call's done that it runs exactly once.
type testCore struct {
	t       *testing.T
	id      string
	peers   []string
	env     Env
	timeout time.Duration
	guard   loopGuard

	calls, dones, twice atomic.Int64
	timerFired          atomic.Int64
}

func newTestCoreMode(t *testing.T, timeout time.Duration, cores map[string]*testCore, mu *sync.Mutex) *coreMode {
	return &coreMode{
		build: func(cfg Config, env Env, stats *Stats, log zerolog.Logger) (Core, error) {
			c := &testCore{t: t, id: cfg.ID, env: env, timeout: timeout}
			for _, p := range cfg.NodeIDs() {
				if p != cfg.ID {
					c.peers = append(c.peers, p)
				}
			}
			mu.Lock()
			cores[cfg.ID] = c
			mu.Unlock()
			return c, nil
		},
		routes:  []string{testPutReq{}.route()},
		request: testRequest,
	}
}

// in runs f as one entry into the core.
func (c *testCore) in(f func()) {
	leave := c.guard.enter(c.t)
	defer leave()
	f()
}

func (c *testCore) Start() {
	c.in(func() {
		c.env.After(time.Hour, func() { c.timerFired.Add(1) }) // never fires: the node stops first
	})
}

func (c *testCore) store(key, value string, done func(error)) {
	rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: value, Node: c.id, Seq: 1}}}
	b, err := json.Marshal(rec)
	if err != nil {
		done(err)
		return
	}
	c.env.Persist(&Batch{Ops: []BatchOp{{Bucket: string(bucketData), Key: []byte(key), Value: b}}}, func(err error) {
		c.in(func() { done(err) })
	})
}

func (c *testCore) Write(key string, op WriteOp, q Quorums, done func(error)) {
	c.in(func() {
		c.store(key, op.Value, func(err error) {
			if err != nil {
				done(&OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()})
				return
			}
			acks, pending, answered := 1, len(c.peers), false
			if acks >= q.W {
				answered = true
				done(nil)
			}
			for _, p := range c.peers {
				c.calls.Add(1)
				var ran atomic.Bool
				c.env.Call(p, testPutReq{Key: key, Value: op.Value}, c.timeout, func(ans any, err error) {
					c.in(func() {
						if ran.Swap(true) {
							c.twice.Add(1)
							return
						}
						c.dones.Add(1)
						pending--
						if err == nil {
							if r, ok := ans.(*testPutResp); !ok || r.Stored != op.Value {
								c.t.Errorf("peer %s answered %#v, want stored %q", p, ans, op.Value)
							}
							acks++
						} else {
							var re *replicaError
							if !errors.As(err, &re) {
								c.t.Errorf("a Call's error is %T (%v), want a *replicaError", err, err)
							}
						}
						if !answered && acks >= q.W {
							answered = true
							done(nil)
						}
						if !answered && pending == 0 {
							answered = true
							done(&OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeIndeterminate,
								Msg: fmt.Sprintf("%d of %d copies stored", acks, q.W)})
						}
					})
				})
			}
		})
	})
}

func (c *testCore) Read(key, kind string, q Quorums, done func(Record, error)) {
	c.in(func() {
		v, err := c.env.Get(string(bucketData), []byte(key))
		if err != nil {
			done(Record{}, err)
			return
		}
		rec, err := decodeRecord(v)
		done(rec, err)
	})
}

func (c *testCore) Handle(from string, req Request, reply func(any, error)) {
	c.in(func() {
		r, ok := req.(*testPutReq)
		if !ok {
			reply(nil, &OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("unknown request %T", req)})
			return
		}
		c.store(r.Key, r.Value, func(err error) {
			if err != nil {
				reply(nil, err)
				return
			}
			reply(&testPutResp{Stored: r.Value}, nil)
		})
	})
}

func (c *testCore) Stats() map[string]any {
	return map[string]any{"test_calls": c.calls.Load()}
}

// shellCluster runs nodes with test cores on loopback.
type shellCluster struct {
	*testCluster
	mu    sync.Mutex
	cores map[string]*testCore
}

func newShellCluster(t *testing.T, size int, timeout time.Duration) *shellCluster {
	sc := &shellCluster{cores: map[string]*testCore{}}
	mode := newTestCoreMode(t, timeout, sc.cores, &sc.mu)
	tc := &testCluster{t: t, peers: map[string]string{}, dir: t.TempDir(), nodes: map[string]*runningNode{}, mode: mode}
	tc.startAll(size)
	sc.testCluster = tc
	return sc
}

func (sc *shellCluster) core(id string) *testCore {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.cores[id]
}

func (sc *shellCluster) put(id, key, value string, w int) (int, string) {
	sc.t.Helper()
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/kv/%s?w=%d", sc.peers[id], key, w), strings.NewReader(`{"value":"`+value+`"}`))
	if err != nil {
		sc.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sc.t.Fatalf("put on %s: %v", id, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (sc *shellCluster) admin(method, id, path, body string) (int, string) {
	sc.t.Helper()
	req, err := http.NewRequest(method, "http://"+sc.peers[id]+path, strings.NewReader(body))
	if err != nil {
		sc.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sc.t.Fatalf("%s %s on %s: %v", method, path, id, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestShellRunsTheCoreBehindTheClientAndInternalAPIs(t *testing.T) {
	sc := newShellCluster(t, 3, 5*time.Second)
	if code, body := sc.put("n1", "k", "v1", 3); code != http.StatusOK {
		t.Fatalf("put w=3: %d %s", code, body)
	}
	for _, id := range []string{"n2", "n3"} {
		code, body := sc.admin(http.MethodGet, id, "/admin/dump", "")
		if code != http.StatusOK || !strings.Contains(body, `"k":{"kind":"register"`) || !strings.Contains(body, `"v1"`) {
			t.Errorf("dump of %s: %d %s, want k = v1", id, code, body)
		}
	}
	code, body := sc.admin(http.MethodGet, "n1", "/admin/stats", "")
	for _, want := range []string{`"test_calls":2`, `"storage_commits":`, `"mode":"leaderless"`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("stats of n1: %d %s, want %s in it", code, body, want)
		}
	}
	wait.For(t, settle, "both of n1's Calls answered once", func() (bool, string) {
		c := sc.core("n1")
		return c.dones.Load() == 2, fmt.Sprintf("%d dones", c.dones.Load())
	})
	resp, err := http.Get("http://" + sc.peers["n2"] + "/kv/k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"values":["v1"]`) {
		t.Errorf("read on n2: %d %s, want v1", resp.StatusCode, b)
	}
}

func TestShellCallFailsOnceWhenThePeerIsCutOff(t *testing.T) {
	sc := newShellCluster(t, 3, 200*time.Millisecond)
	if code, body := sc.admin(http.MethodPut, "n1", "/admin/faults", `{"drop":["n2","n3"]}`); code != http.StatusOK {
		t.Fatalf("faults: %d %s", code, body)
	}
	code, body := sc.put("n1", "k", "v", 2)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"outcome":"indeterminate"`) {
		t.Errorf("put w=2 with both peers cut off: %d %s, want 503 indeterminate", code, body)
	}
	c := sc.core("n1")
	if c.calls.Load() != 2 || c.dones.Load() != 2 || c.twice.Load() != 0 {
		t.Errorf("calls %d, dones %d, dones run twice %d: want 2, 2, 0", c.calls.Load(), c.dones.Load(), c.twice.Load())
	}
}

func TestShellStopDrainsTheCallsInFlightAndLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		sc := newShellCluster(t, 2, time.Hour) // only the stop can end the held Call
		if code, body := sc.admin(http.MethodPut, "n1", "/admin/faults", `{"drop":["n2"]}`); code != http.StatusOK {
			t.Fatalf("faults: %d %s", code, body)
		}
		if code, body := sc.put("n1", "k", "v", 1); code != http.StatusOK {
			t.Fatalf("put w=1: %d %s", code, body)
		}
		c := sc.core("n1")
		sc.stop("n1") // returns only once the loop drained: the held Call's done has run
		if c.calls.Load() != 1 || c.dones.Load() != 1 || c.twice.Load() != 0 {
			t.Errorf("after stop: calls %d, dones %d, twice %d: want 1, 1, 0", c.calls.Load(), c.dones.Load(), c.twice.Load())
		}
		if c.timerFired.Load() != 0 {
			t.Errorf("a timer fired after the node stopped")
		}
		sc.stop("n2")
		http.DefaultClient.CloseIdleConnections()
	}()
	wait.For(t, settle, "the goroutines of two stopped nodes to end", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before the nodes started", n, before)
	})
}

func TestShellTimerCancelledAfterItFiredDoesNotRun(t *testing.T) {
	var mu sync.Mutex
	cores := map[string]*testCore{}
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Peers = "n1", t.TempDir(), map[string]string{"n1": "127.0.0.1:1"}
	cfg.Fsync = "never"
	n, err := newNode(cfg, zerolog.New(zerolog.NewTestWriter(t)), newTestCoreMode(t, time.Second, cores, &mu))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	sh := n.sh
	var ran atomic.Bool
	queued := make(chan error, 1)
	sh.post(func() {
		cancel := sh.After(0, func() { ran.Store(true) })
		// Hold the loop until the timer has fired and queued its function behind this one.
		queued <- wait.Until(nil, settle, func() (bool, string) {
			sh.mb.mu.Lock()
			defer sh.mb.mu.Unlock()
			return len(sh.mb.q) > 0, "nothing queued"
		})
		cancel()
	})
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
	// Once a later function ran, the timer's has run too (the loop runs them in order).
	if _, err := await(context.Background(), sh, func(reply func(struct{})) { reply(struct{}{}) }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("a timer whose cancel was called after it fired, while its function was queued, ran")
	}
}

func TestShellInternalAPIDecodesStrictlyBeforeTheCore(t *testing.T) {
	var mu sync.Mutex
	cores := map[string]*testCore{}
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Peers = "n1", t.TempDir(), map[string]string{"n1": "127.0.0.1:1", "n2": "127.0.0.1:2"}
	cfg.Fsync = "never"
	cfg.ClusterSecret = testSecret
	n, err := newNode(cfg, zerolog.New(zerolog.NewTestWriter(t)), newTestCoreMode(t, time.Second, cores, &mu))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	for _, tc := range []struct {
		name, method, body, secret, from string
		code                             int
		want                             string
	}{
		{"stored", "POST", `{"key":"k","value":"v"}`, testSecret, "n2", 200, `{"stored":"v"}`},
		{"no secret", "POST", `{"key":"k","value":"v"}`, "", "n2", 401, "missing " + HeaderSecret},
		{"no sender", "POST", `{"key":"k","value":"v"}`, testSecret, "", 400, "X-Faultline-From header"},
		{"unknown sender", "POST", `{"key":"k","value":"v"}`, testSecret, "n9", 400, `\"n9\" is not a cluster node`},
		{"bad JSON", "POST", `{"key":`, testSecret, "n2", 400, "bad JSON body"},
		{"unknown field", "POST", `{"key":"k","x":1}`, testSecret, "n2", 400, `unknown field \"x\"`},
		{"two values", "POST", `{"key":"k"}{}`, testSecret, "n2", 400, "more than one JSON value"},
		{"empty key", "POST", `{"key":""}`, testSecret, "n2", 400, "key is empty"},
		{"too large", "POST", `{"key":"` + strings.Repeat("a", internalSmallBody) + `"}`, testSecret, "n2", 413, "body larger than"},
		{"wrong method", "GET", ``, testSecret, "n2", 405, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/internal/test/put", strings.NewReader(tc.body))
			if tc.secret != "" {
				req.Header.Set(HeaderSecret, tc.secret)
			}
			if tc.from != "" {
				req.Header.Set(HeaderFrom, tc.from)
			}
			rec := httptest.NewRecorder()
			n.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
}

// silentCore never answers a client operation: the shell's wait must end with the request.
type silentCore struct{ testCore }

func (*silentCore) Write(string, WriteOp, Quorums, func(error))       {}
func (*silentCore) Read(string, string, Quorums, func(Record, error)) {}

func TestShellWaitEndsWithTheRequestAndSaysTheOutcomeIsUnknown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Peers = "n1", t.TempDir(), map[string]string{"n1": "127.0.0.1:1"}
	cfg.Fsync = "never"
	mode := &coreMode{build: func(cfg Config, env Env, _ *Stats, _ zerolog.Logger) (Core, error) {
		return &silentCore{testCore{t: t, id: cfg.ID, env: env}}, nil
	}}
	n, err := newNode(cfg, zerolog.New(zerolog.NewTestWriter(t)), mode)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client went away
	var oe *OpError
	if err := n.sh.Write(ctx, "k", WriteOp{Kind: KindRegister, Value: "v"}, Quorums{W: 1, R: 1}); !errors.As(err, &oe) ||
		oe.Status != http.StatusServiceUnavailable || oe.Outcome != client.OutcomeIndeterminate {
		t.Errorf("a write whose request ended: got %v, want a 503 with outcome indeterminate", err)
	}
	if _, err := n.sh.Read(ctx, "k", KindRegister, Quorums{W: 1, R: 1}); !errors.As(err, &oe) ||
		oe.Status != http.StatusServiceUnavailable || oe.Outcome != client.OutcomeFailed {
		t.Errorf("a read whose request ended: got %v, want a 503 with outcome failed", err)
	}
}
