package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// testSecret is the cluster secret of the test clusters (cluster_test.go, internal_input_test.go).
const testSecret = "test-cluster-secret-0123456789"

// outsider sends internal requests the way curl would: any header it likes, from outside the
// cluster.
type outsider struct {
	t  *testing.T
	hc *http.Client
}

func newOutsider(t *testing.T) *outsider {
	return &outsider{t: t, hc: &http.Client{Timeout: 10 * time.Second}}
}

// post POSTs body to addr+path as peer n2 with the given secret ("" = no secret header) and
// returns the status and the answer.
func (o *outsider) post(addr, path, body, secret string) (int, string) {
	o.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set(HeaderFrom, "n2")
	if secret != "" {
		req.Header.Set("X-Faultline-Secret", secret)
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		o.t.Fatalf("POST %s%s: %v", addr, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wrongSecrets are what an outsider may send: nothing, a guess, the secret with a byte
// changed, a prefix of it, and the right secret under another header.
var wrongSecrets = []struct{ name, secret string }{
	{"no secret", ""},
	{"a guess", "guess-guess-guess-guess"},
	{"one byte off", testSecret[:len(testSecret)-1] + "X"},
	{"a prefix", testSecret[:8]},
}

// refused asserts an outsider's request was refused with a 401 naming the header, without
// echoing the secret.
func refused(t *testing.T, what string, status int, body string) {
	t.Helper()
	if status != http.StatusUnauthorized || !strings.Contains(body, "X-Faultline-Secret") {
		t.Errorf("%s: got %d %s, want 401 naming X-Faultline-Secret", what, status, body)
	}
	if strings.Contains(body, testSecret) || strings.Contains(body, testSecret[:8]) {
		t.Errorf("%s: the answer echoes the secret: %s", what, body)
	}
}

// TestInternalAuthRegisterFromTheFuture: a register record with timestamp MaxInt64 sent to
// every replica would beat every later acknowledged write; without the secret it is refused
// and changes nothing, and a later w=3 write wins.
func TestInternalAuthRegisterFromTheFuture(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.AntiEntropy = 50 * time.Millisecond })
	ctx := context.Background()
	if err := c.client("n1").Put(ctx, "k", "v1", 3, ""); err != nil {
		t.Fatal(err)
	}
	o := newOutsider(t)
	evil := `{"key":"k","record":{"k":"register","r":[{"v":"evil","t":9223372036854775807,"n":"n2","s":1}]}}`
	for _, id := range c.ids {
		for _, ws := range wrongSecrets {
			st, body := o.post(c.peers[id], "/internal/write", evil, ws.secret)
			refused(t, id+", "+ws.name, st, body)
		}
	}
	for _, id := range c.ids {
		if got, want := c.stat(id, "internal_unauthorized"), int64(len(wrongSecrets)); got != want {
			t.Errorf("%s: internal_unauthorized %d, want %d", id, got, want)
		}
	}
	if err := c.client("n2").Put(ctx, "k", "v2", 3, ""); err != nil {
		t.Fatal(err)
	}
	if got := values(t, c.client("n3"), "k", 3); !slices.Equal(got, []string{"v2"}) {
		t.Errorf("read after a later w=3 write: got %v, want [v2]", got)
	}
	for _, id := range c.ids {
		if d := c.dump(id); !slices.Equal(d.Keys["k"].Values, []string{"v2"}) {
			t.Errorf("%s holds %v, want [v2]", id, d.Keys["k"].Values)
		}
	}
}

// TestInternalAuthNoReadThroughSync: /internal/ae/sync hands out the records of the leaves it
// is asked for; without the secret it hands out nothing.
func TestInternalAuthNoReadThroughSync(t *testing.T) {
	c := newCluster(t, 3, nil)
	if err := c.client("n1").Put(context.Background(), "k", "private-value", 3, ""); err != nil {
		t.Fatal(err)
	}
	leaves := make([]string, MerkleLeaves)
	for i := range leaves {
		leaves[i] = fmt.Sprint(i)
	}
	body := `{"leaves":[` + strings.Join(leaves, ",") + `]}`
	o := newOutsider(t)
	for _, ws := range wrongSecrets {
		st, answer := o.post(c.peers["n1"], "/internal/ae/sync", body, ws.secret)
		refused(t, ws.name, st, answer)
		if strings.Contains(answer, "private-value") {
			t.Errorf("%s: the answer holds a record: %s", ws.name, answer)
		}
	}
	// The secret opens it (the test's request is a well-formed one).
	if st, answer := o.post(c.peers["n1"], "/internal/ae/sync", body, testSecret); st != http.StatusOK || !strings.Contains(answer, "private-value") {
		t.Errorf("with the secret: got %d %s, want 200 with the record", st, answer)
	}
}

// TestInternalAuthCounterAndSet: counters and sets cannot be set to any value from outside.
func TestInternalAuthCounterAndSet(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := context.Background()
	if err := c.client("n1").Incr(ctx, "c", 5, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.client("n1").SetAdd(ctx, "s", "a", 3); err != nil {
		t.Fatal(err)
	}
	o := newOutsider(t)
	for _, id := range c.ids {
		for _, ws := range wrongSecrets {
			st, body := o.post(c.peers[id], "/internal/write", `{"key":"c","record":{"k":"counter","p":{"n2":1000000000}}}`, ws.secret)
			refused(t, id+" counter, "+ws.name, st, body)
			st, body = o.post(c.peers[id], "/internal/write", `{"key":"s","record":{"k":"set","e":["evil"]}}`, ws.secret)
			refused(t, id+" set, "+ws.name, st, body)
		}
	}
	for _, id := range c.ids {
		if got, err := c.client(id).Counter(ctx, "c", 3); err != nil || got != 5 {
			t.Errorf("counter read on %s: got %d %v, want 5", id, got, err)
		}
		if got, err := c.client(id).SetRead(ctx, "s", 3); err != nil || !slices.Equal(got, []string{"a"}) {
			t.Errorf("set read on %s: got %v %v, want [a]", id, got, err)
		}
	}
}

// TestInternalAuthMultileaderSequence: one ml/apply with sequence number 9e18 would make n1
// drop every later real write of n2 as a duplicate; without the secret it is refused, and
// n2's writes still reach n1.
func TestInternalAuthMultileaderSequence(t *testing.T) {
	c := newCluster(t, 3, multileader(ConflictLWW, TopologyAll))
	ctx := context.Background()
	evil := `{"entries":[{"o":"n2","s":9000000000000000000,"k":"x","r":{"k":"register","r":[{"v":"evil","t":1,"n":"n2","s":9000000000000000000}]}}]}`
	o := newOutsider(t)
	for _, id := range []string{"n1", "n3"} {
		for _, ws := range wrongSecrets {
			st, body := o.post(c.peers[id], "/internal/ml/apply", evil, ws.secret)
			refused(t, id+", "+ws.name, st, body)
		}
	}
	if err := c.client("n2").Put(ctx, "y", "real", 1, ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n1", "n3"} {
		eventually(t, "n2's write reaches "+id, func() bool {
			v, err := c.client(id).Get(ctx, "y", 1)
			return err == nil && slices.Equal(v.Values, []string{"real"})
		})
		if v, err := c.client(id).Get(ctx, "x", 1); err != nil || len(v.Values) != 0 {
			t.Errorf("%s: x is %v %v, want absent", id, v.Values, err)
		}
		if d := c.stat(id, "ml_duplicate"); d != 0 {
			t.Errorf("%s: ml_duplicate %d, want 0", id, d)
		}
	}
}

// TestSlowBodyIsCut: a body trickled far slower than BodyReadTimeout is cut with 408 and not
// applied. The bound is 100ms and a byte comes every second, so the body (30 bytes) could only
// complete if the node waited 30 times its bound: the outcome does not depend on speed.
func TestSlowBodyIsCut(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) {
		cfg.RequestTimeout, cfg.BodyReadTimeout = 100*time.Millisecond, 100*time.Millisecond
	})
	for _, tc := range []struct {
		name, path string
		header     string
	}{
		{"client write", "/kv/k", "PUT /kv/k HTTP/1.1\r\n"},
		{"internal write", "/internal/write", "POST /internal/write HTTP/1.1\r\nX-Faultline-From: n1\r\nX-Faultline-Secret: " + testSecret + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"value":"trickled-value-xx"}`
			if tc.path == "/internal/write" {
				body = `{"key":"k","record":{"k":"register","r":[{"v":"trickled","t":1,"n":"n1","s":1}]}}`
			}
			conn, err := net.Dial("tcp", c.peers["n1"])
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			head := tc.header + "Host: x\r\nContent-Type: application/json\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // the trickle: one byte a second until the answer comes
				defer close(done)
				tk := time.NewTicker(time.Second)
				defer tk.Stop()
				for i := 0; i < len(body); i++ {
					if _, err := conn.Write([]byte{body[i]}); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-tk.C:
					}
				}
			}()
			// A liveness bound only: without the cut the answer would come after 30s.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			close(stop)
			<-done
			if err != nil {
				t.Fatalf("no answer: %v (the slow body was not cut)", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "body") {
				t.Errorf("got %d %s, want 408 naming the body", resp.StatusCode, b)
			}
			if d := c.dump("n1"); len(d.Keys) != 0 {
				t.Errorf("the cut request wrote: %v", d.Keys)
			}
		})
	}
}

// Validate: a cluster of more than one node needs a secret or an explicit InsecureInternal.
func TestConfigClusterSecret(t *testing.T) {
	base := DefaultConfig()
	base.ID, base.DataDir = "n1", "d"
	two := map[string]string{"n1": "a:1", "n2": "b:1"}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // error substring, "" = valid
	}{
		{"two nodes, no secret", func(c *Config) { c.Peers = two }, "ClusterSecret is empty"},
		{"two nodes, secret", func(c *Config) { c.Peers, c.ClusterSecret = two, testSecret }, ""},
		{"two nodes, insecure", func(c *Config) { c.Peers, c.InsecureInternal = two, true }, ""},
		{"both", func(c *Config) { c.Peers, c.ClusterSecret, c.InsecureInternal = two, testSecret, true }, "both set"},
		{"one node, no secret", func(c *Config) { c.Peers = map[string]string{"n1": "a:1"} }, ""},
		{"short secret", func(c *Config) { c.Peers, c.ClusterSecret = two, "short-secret" }, "is 12 characters: want 16..1024"},
		{"secret with a space", func(c *Config) { c.Peers, c.ClusterSecret = two, "0123456789 abcdef" }, "not visible ASCII at position 10"},
		{"secret with a newline", func(c *Config) { c.Peers, c.ClusterSecret = two, "0123456789abcdef\n" }, "not visible ASCII"},
		{"body read timeout below the request timeout", func(c *Config) {
			c.Peers, c.ClusterSecret, c.BodyReadTimeout = two, testSecret, 500*time.Millisecond
		}, "BodyReadTimeout (500ms) must be >= RequestTimeout (1s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), testSecret):
				t.Errorf("the error names the secret: %v", err)
			}
		})
	}
}

// A lone node without a secret keeps its internal API closed.
func TestLoneNodeWithoutSecretRefusesInternal(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.ClusterSecret = "" })
	o := newOutsider(t)
	st, body := o.post(c.peers["n1"], "/internal/write", `{"key":"k","record":{"k":"register","r":[{"v":"x","t":1,"n":"n1","s":1}]}}`, "anything-anything")
	if st != 401 || !strings.Contains(body, "no cluster secret") {
		t.Errorf("got %d %s, want 401: no cluster secret", st, body)
	}
	if d := c.dump("n1"); len(d.Keys) != 0 {
		t.Errorf("the refused write applied: %v", d.Keys)
	}
}

// No log line holds the secret, at debug level, whether requests carry it, miss it or get it
// wrong.
func TestSecretNeverLogged(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	w := zerolog.SyncWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}))
	peers := map[string]string{}
	lns := map[string]net.Listener{}
	for _, id := range []string{"n1", "n2"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[id], lns[id] = ln.Addr().String(), ln
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for id, ln := range lns {
		cfg := DefaultConfig()
		cfg.ID, cfg.Peers, cfg.DataDir = id, peers, t.TempDir()
		cfg.ClusterSecret, cfg.Fsync, cfg.AntiEntropy = testSecret, "never", 20*time.Millisecond
		n, err := New(cfg, zerolog.New(w).Level(zerolog.DebugLevel))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.Serve(ctx, ln) }()
	}
	c := client.New(peers["n1"], client.WithTimeout(5*time.Second))
	if err := c.Put(ctx, "k", "v", 2, ""); err != nil {
		t.Fatal(err)
	}
	o := newOutsider(t)
	for _, ws := range wrongSecrets {
		o.post(peers["n1"], "/internal/ping", "{}", ws.secret)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("no logs at all: the check would prove nothing")
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("the logs hold the secret:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// With the secret, the sender header is still checked: missing or not a cluster node is a 400.
func TestInternalSenderStillChecked(t *testing.T) {
	in := newInputNode(t, 3, nil)
	for _, tc := range []struct{ name, from, want string }{
		{"no sender", "", `X-Faultline-From header \"\" is not a cluster node`},
		{"unknown sender", "n9", `X-Faultline-From header \"n9\" is not a cluster node`},
	} {
		if rec := in.do("POST", "/internal/write", `{}`, tc.from); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: got %d %s, want 400 with %q", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}
