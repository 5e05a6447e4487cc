package store

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// inputNode is a node built with New and driven through its Handler (nothing runs in the
// background: no hint delivery, no anti-entropy), for input validation tests.
type inputNode struct {
	t    *testing.T
	node *Node
	ring *Ring
	n    int
}

func newInputNode(t *testing.T, size int, mod func(*Config)) *inputNode {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Peers = "n1", t.TempDir(), map[string]string{}
	for i := 1; i <= size; i++ {
		cfg.Peers[fmt.Sprintf("n%d", i)] = fmt.Sprintf("127.0.0.1:%d", i) // never dialled
	}
	cfg.AdminToken = testToken
	cfg.ClusterSecret = testSecret
	cfg.Fsync = "never"
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close() })
	return &inputNode{t: t, node: n, ring: NewRing(cfg.NodeIDs(), cfg.VNodes), n: cfg.EffectiveN()}
}

// do sends a request; from is the X-Faultline-From header ("" = none).
func (in *inputNode) do(method, path, body, from string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if from != "" {
		req.Header.Set(HeaderFrom, from)
	}
	if strings.HasPrefix(path, "/internal/") {
		req.Header.Set(HeaderSecret, testSecret)
	}
	if strings.HasPrefix(path, "/admin/") {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	rec := httptest.NewRecorder()
	in.node.Handler().ServeHTTP(rec, req)
	return rec
}

func (in *inputNode) dump() string {
	in.t.Helper()
	rec := in.do("GET", "/admin/dump", "", "")
	if rec.Code != 200 {
		in.t.Fatalf("dump: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func (in *inputNode) hints() int {
	in.t.Helper()
	h, err := storedHints(in.t, in.node), error(nil)
	if err != nil {
		in.t.Fatal(err)
	}
	return len(h)
}

// key returns the first key "k0", "k1", ... whose preference list satisfies ok.
func (in *inputNode) key(ok func(pref []string) bool) string {
	in.t.Helper()
	for i := 0; i < 100000; i++ {
		k := fmt.Sprintf("k%d", i)
		if ok(in.ring.PrefList(k, in.n)) {
			return k
		}
	}
	in.t.Fatal("no key with the wanted preference list")
	return ""
}

func has(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

type inputCase struct {
	name, method, path, body string
	status                   int
	errHas                   string
	allow                    string // wanted Allow header, if any
}

// run sends every case from n2 and checks status, error text and JSON error body; then that
// nothing stored (data or hints) changed.
func (in *inputNode) run(tests []inputCase) {
	t := in.t
	before, hintsBefore := in.dump(), in.hints()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := in.do(tt.method, tt.path, tt.body, "n2")
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.errHas) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tt.status, tt.errHas)
			}
			if !strings.HasPrefix(rec.Body.String(), `{"error":`) {
				t.Errorf("body %s: want a JSON error", rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	if after := in.dump(); after != before {
		t.Errorf("rejected requests changed the data:\nbefore %s\nafter  %s", before, after)
	}
	if h := in.hints(); h != hintsBefore {
		t.Errorf("rejected requests stored hints: %d before, %d after", hintsBefore, h)
	}
}

const goodReg = `{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":1}]}`

// The internal (node-to-node) API of the leaderless mode is as strict as the client API: bad
// input is a 400 (413 for an oversize body) naming the problem, and changes nothing.
func TestInternalBadInput(t *testing.T) {
	in := newInputNode(t, 5, func(c *Config) { c.MaxBodyBytes = 16 << 10 })
	own := in.key(func(p []string) bool { return has(p, "n1") && has(p, "n3") })
	far := in.key(func(p []string) bool { return !has(p, "n1") && !has(p, "n4") })
	notN3 := in.key(func(p []string) bool { return has(p, "n1") && !has(p, "n3") })
	w := func(key, rec, extra string) string {
		return fmt.Sprintf(`{"key":%q,"record":%s%s}`, key, rec, extra)
	}
	if rec := in.do("POST", "/internal/write", w(own, goodReg, ""), "n2"); rec.Code != 200 {
		t.Fatalf("setup write: %d %s", rec.Code, rec.Body)
	}
	wr := func(rec string) string { return w(own, rec, "") }
	tests := []inputCase{
		{"unknown kind", "POST", "/internal/write", wr(`{"k":"blah","r":[{"v":"x","t":5,"n":"n2","s":1}]}`), 400, `kind \"blah\" is not register, counter or set`, ""},
		{"missing kind", "POST", "/internal/write", wr(`{"r":[{"v":"x","t":5,"n":"n2","s":1}]}`), 400, "kind is missing", ""},
		{"empty record", "POST", "/internal/write", w(own, `{}`, ""), 400, "kind is missing", ""},
		{"no record", "POST", "/internal/write", fmt.Sprintf(`{"key":%q}`, own), 400, "kind is missing", ""},
		{"hint for unknown node", "POST", "/internal/write", w(own, goodReg, `,"hint_for":"n7"`), 400, `hint_for \"n7\" is not a cluster node`, ""},
		{"hint for self", "POST", "/internal/write", w(own, goodReg, `,"hint_for":"n1"`), 400, "is this node", ""},
		{"hint for a non-replica", "POST", "/internal/write", w(notN3, goodReg, `,"hint_for":"n3"`), 400, `hint_for \"n3\" does not replicate key`, ""},
		{"empty key", "POST", "/internal/write", w("", goodReg, ""), 400, "key is empty", ""},
		{"empty key hint", "POST", "/internal/write", w("", goodReg, `,"hint_for":"n3"`), 400, "key is empty", ""},
		{"control char in key", "POST", "/internal/write", `{"key":"a\u0001b","record":` + goodReg + `}`, 400, "control character", ""},
		{"key too long", "POST", "/internal/write", w(strings.Repeat("k", 1025), goodReg, ""), 400, "longer than 1024", ""},
		{"unknown field", "POST", "/internal/write", w(own, goodReg, `,"bogus":1`), 400, `unknown field \"bogus\"`, ""},
		{"unknown record field", "POST", "/internal/write", wr(`{"k":"register","zz":1}`), 400, `unknown field \"zz\"`, ""},
		{"two values", "POST", "/internal/write", wr(goodReg) + wr(goodReg), 400, "more than one", ""},
		{"empty body", "POST", "/internal/write", ``, 400, "empty", ""},
		{"malformed", "POST", "/internal/write", `{"key":`, 400, "bad JSON", ""},
		{"oversize body", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"` + strings.Repeat("x", 2<<20) + `","t":5,"n":"n2","s":1}]}`), 413, "larger than", ""},
		{"negative increments", "POST", "/internal/write", wr(`{"k":"counter","p":{"n2":-5}}`), 400, `counter entry p[\"n2\"] is -5, negative`, ""},
		{"negative decrements", "POST", "/internal/write", wr(`{"k":"counter","p":{"n2":1},"m":{"n2":-1}}`), 400, `counter entry m[\"n2\"] is -1, negative`, ""},
		{"counter entry of unknown node", "POST", "/internal/write", wr(`{"k":"counter","p":{"n9":1}}`), 400, `p[\"n9\"]: not a cluster node`, ""},
		{"counter with siblings", "POST", "/internal/write", wr(`{"k":"counter","p":{"n2":1},"r":[{"v":"x","n":"n2","s":1}]}`), 400, "a counter has register siblings", ""},
		{"counter with elements", "POST", "/internal/write", wr(`{"k":"counter","e":["a"]}`), 400, "a counter has set elements", ""},
		{"register with elements", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":1}],"e":["a"]}`), 400, "a register has set elements", ""},
		{"register with counter entries", "POST", "/internal/write", wr(`{"k":"register","m":{"n2":1}}`), 400, "a register has counter entries", ""},
		{"set with counter entries", "POST", "/internal/write", wr(`{"k":"set","e":["a"],"p":{"n2":1}}`), 400, "a set has counter entries", ""},
		{"sibling of unknown node", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"x","t":5,"n":"n9","s":1}]}`), 400, `node \"n9\" is not a cluster node`, ""},
		{"sibling without node", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"x","t":5,"s":1}]}`), 400, `node \"\" is not a cluster node`, ""},
		{"sibling seq 0", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":0}]}`), 400, "seq is 0", ""},
		{"sibling context with empty node", "POST", "/internal/write", wr(`{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":1,"c":{"":3}}]}`), 400, "empty node id", ""},
		{"not a replica", "POST", "/internal/write", w(far, goodReg, ""), 400, `this node (n1) does not replicate key`, ""},
		{"kind conflict", "POST", "/internal/write", w(own, `{"k":"set","e":["a"]}`, ""), 409, "holds a register", ""},

		{"read: empty key", "POST", "/internal/read", `{"key":""}`, 400, "key is empty", ""},
		{"read: unknown field", "POST", "/internal/read", `{"key":"k","kind":"x"}`, 400, `unknown field \"kind\"`, ""},
		{"read: oversize", "POST", "/internal/read", `{"key":"` + strings.Repeat("k", 2<<20) + `"}`, 413, "larger than", ""},

		{"coordinate: empty key", "POST", "/internal/coordinate", `{"key":"","value":"v","w":1}`, 400, "key is empty", ""},
		{"coordinate: w out of range", "POST", "/internal/coordinate", fmt.Sprintf(`{"key":%q,"value":"v","w":9}`, own), 400, "w 9 out of range 1..3", ""},
		{"coordinate: not vclock", "POST", "/internal/coordinate", fmt.Sprintf(`{"key":%q,"value":"v","w":1}`, own), 400, "not vclock", ""},
		{"coordinate: oversize", "POST", "/internal/coordinate", `{"key":"k","value":"` + strings.Repeat("v", 2<<20) + `","w":1}`, 413, "larger than", ""},

		{"tree: inner out of range", "POST", "/internal/ae/tree", `{"inner":[3,32]}`, 400, "inner node 32 out of range 0..31", ""},
		{"tree: unknown field", "POST", "/internal/ae/tree", `{"leaves":[1]}`, 400, `unknown field \"leaves\"`, ""},
		{"sync: a bad record among good ones", "POST", "/internal/ae/sync",
			fmt.Sprintf(`{"leaves":[1],"records":{%q:%s,"fresh":{"k":"blah"}}}`, own, goodReg), 400, `records[\"fresh\"]: kind \"blah\"`, ""},
		{"sync: negative counter", "POST", "/internal/ae/sync",
			fmt.Sprintf(`{"leaves":[1],"records":{%q:{"k":"counter","p":{"n2":-1}}}}`, own), 400, "negative", ""},
		{"sync: empty key", "POST", "/internal/ae/sync", `{"leaves":[1],"records":{"":` + goodReg + `}}`, 400, "key is empty", ""},
		{"sync: leaf out of range", "POST", "/internal/ae/sync", `{"leaves":[1024],"records":{}}`, 400, "leaf 1024 out of range", ""},

		{"internal wrong method", "GET", "/internal/write", ``, 405, "method GET not allowed on /internal/write", "POST"},
		{"internal unknown endpoint", "POST", "/internal/nope", `{}`, 404, "no endpoint", ""},
	}
	in.run(tests)

	// The same requests, well-formed, are taken: writes, a hint for a replica, a sync.
	for _, ok := range []struct{ path, body string }{
		{"/internal/write", w(own, `{"k":"register","r":[{"v":"z","t":7,"n":"n3","s":9}]}`, "")},
		{"/internal/write", w(own, `{"k":"register","r":[{"v":"y","t":6,"n":"n2","s":2}]}`, `,"hint_for":"n3"`)},
		{"/internal/write", w(notN3, `{"k":"counter","p":{"n2":3},"m":{"n2":0}}`, "")},
		{"/internal/ae/sync", fmt.Sprintf(`{"leaves":[%d],"records":{%q:%s}}`, LeafOf(own), own, goodReg)},
		{"/internal/read", fmt.Sprintf(`{"key":%q}`, own)},
		{"/internal/ae/tree", `{"inner":[0,31]}`},
	} {
		if rec := in.do("POST", ok.path, ok.body, "n2"); rec.Code != 200 {
			t.Errorf("%s %s: got %d %s, want 200", ok.path, ok.body, rec.Code, rec.Body)
		}
	}
	if h := in.hints(); h != 1 {
		t.Errorf("%d hints stored, want 1", h)
	}
	if d := in.dump(); !strings.Contains(d, `"values":["z"]`) {
		t.Errorf("the good write is not in the dump: %s", d)
	}
}

// With a sloppy quorum, read repair writes to fallbacks that do not replicate the key: a
// direct write to a non-replica is legitimate then.
func TestInternalWriteToFallbackUnderSloppyQuorum(t *testing.T) {
	in := newInputNode(t, 5, func(c *Config) { c.SloppyQuorum = true })
	far := in.key(func(p []string) bool { return !has(p, "n1") })
	if rec := in.do("POST", "/internal/write", fmt.Sprintf(`{"key":%q,"record":%s}`, far, goodReg), "n2"); rec.Code != 200 {
		t.Fatalf("got %d %s, want 200", rec.Code, rec.Body)
	}
}

// Client API details: empty and repeated quorum parameters, wrong methods on existing paths.
func TestClientBadQueryAndMethod(t *testing.T) {
	in := newInputNode(t, 1, nil)
	if rec := in.do("PUT", "/kv/k", `{"value":"orig"}`, ""); rec.Code != 200 {
		t.Fatalf("setup put: %d %s", rec.Code, rec.Body)
	}
	in.run([]inputCase{
		{"empty w", "PUT", "/kv/k?w=", `{"value":"x"}`, 400, "w is empty", ""},
		{"empty r", "GET", "/kv/k?r=", ``, 400, "r is empty", ""},
		{"empty w on a read", "GET", "/counter/c?w=", ``, 400, "w is empty", ""},
		{"repeated w", "PUT", "/kv/k?w=1&w=5", `{"value":"x"}`, 400, `w given 2 times (w=1\u0026w=5)`, ""},
		{"repeated equal r", "GET", "/kv/k?r=1&r=1", ``, 400, "r given 2 times", ""},
		{"semicolon", "PUT", "/kv/k?w=1;r=1", `{"value":"x"}`, 400, "bad query string", ""},
		{"bad escape", "PUT", "/kv/k?w=%zz", `{"value":"x"}`, 400, "bad query string", ""},
		{"POST a register", "POST", "/kv/k", `{"value":"x"}`, 405, "method POST not allowed on /kv/k (allowed: GET, HEAD, PUT)", "GET, HEAD, PUT"},
		{"DELETE a register", "DELETE", "/kv/k", ``, 405, "method DELETE not allowed", "GET, HEAD, PUT"},
		{"PUT a counter", "PUT", "/counter/c", `{"delta":1}`, 405, "not allowed", "GET, HEAD, POST"},
		{"DELETE a set", "DELETE", "/set/s", ``, 405, "not allowed", "GET, HEAD, POST"},
		{"POST health", "POST", "/health", ``, 405, "not allowed", "GET, HEAD"},
		{"POST dump", "POST", "/admin/dump", ``, 405, "not allowed", "GET, HEAD"},
		{"unknown endpoint", "GET", "/nope", ``, 404, "no endpoint", ""},
		{"no key", "GET", "/kv/", ``, 404, "no endpoint", ""},
	})
}

// The multi-leader endpoint /internal/ml/apply validates every entry before applying any.
func TestMultileaderApplyBadInput(t *testing.T) {
	for _, conflict := range []string{ConflictLWW, ConflictCRDT, ConflictSiblings} {
		t.Run(conflict, func(t *testing.T) {
			in := newInputNode(t, 3, func(c *Config) { c.Mode, c.Conflict = "multileader", conflict })
			if rec := in.do("POST", "/counter/c", `{"delta":2}`, ""); rec.Code != 200 {
				t.Fatalf("setup incr: %d %s", rec.Code, rec.Body)
			}
			stamp := `,"r":[{"t":5,"n":"n2","s":1}]`
			if conflict != ConflictLWW {
				stamp = ""
			}
			reg := `{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":1}]}`
			if conflict == ConflictSiblings {
				reg = `{"k":"register","r":[{"v":"x","n":"n2","s":1,"c":{"n1":1}}]}`
			}
			ctr := `{"k":"counter","p":{"n2":3}` + stamp + `}`
			entry := func(origin string, seq int, key, rec string) string {
				return fmt.Sprintf(`{"o":%q,"s":%d,"k":%q,"r":%s}`, origin, seq, key, rec)
			}
			batch := func(es ...string) string { return `{"entries":[` + strings.Join(es, ",") + `]}` }
			good := entry("n2", 1, "c", ctr)
			tests := []inputCase{
				{"unknown kind", "POST", "/internal/ml/apply", batch(entry("n2", 1, "fresh", `{"k":"blah"}`)), 400, `kind \"blah\"`, ""},
				{"empty record", "POST", "/internal/ml/apply", batch(`{"o":"n2","s":1,"k":"fresh"}`), 400, "kind is missing", ""},
				{"bad entry after a good one", "POST", "/internal/ml/apply", batch(good, entry("n2", 2, "fresh", `{"k":"blah"}`)), 400, `entries[1] (origin \"n2\", seq 2)`, ""},
				{"unknown origin", "POST", "/internal/ml/apply", batch(entry("n7", 1, "c", ctr)), 400, `origin \"n7\" is not a cluster node`, ""},
				{"seq 0", "POST", "/internal/ml/apply", batch(entry("n2", 0, "c", ctr)), 400, "seq is 0", ""},
				{"empty key", "POST", "/internal/ml/apply", batch(entry("n2", 1, "", ctr)), 400, "key is empty", ""},
				{"negative counter", "POST", "/internal/ml/apply", batch(entry("n2", 1, "c", `{"k":"counter","m":{"n2":-4}`+stamp+`}`)), 400, "negative", ""},
				{"register without sibling", "POST", "/internal/ml/apply", batch(entry("n2", 1, "r", `{"k":"register"}`)), 400, "0 siblings, not 1", ""},
				{"register with two siblings", "POST", "/internal/ml/apply", batch(entry("n2", 1, "r", `{"k":"register","r":[{"v":"x","t":5,"n":"n2","s":1},{"v":"y","t":6,"n":"n2","s":2}]}`)), 400, "2 siblings, not 1", ""},
				{"deps of unknown node", "POST", "/internal/ml/apply", batch(`{"o":"n2","s":1,"k":"c","r":` + ctr + `,"d":{"n8":1}}`), 400, `deps name \"n8\"`, ""},
				{"unknown entry field", "POST", "/internal/ml/apply", batch(`{"o":"n2","s":1,"k":"c","r":` + ctr + `,"x":1}`), 400, `unknown field \"x\"`, ""},
				{"unknown field", "POST", "/internal/ml/apply", `{"entries":[],"more":true}`, 400, `unknown field \"more\"`, ""},
				{"wrong method", "GET", "/internal/ml/apply", ``, 405, "not allowed", "POST"},
			}
			if conflict == ConflictLWW {
				tests = append(tests,
					inputCase{"counter without stamp", "POST", "/internal/ml/apply", batch(entry("n2", 1, "c", `{"k":"counter","p":{"n2":3}}`)), 400, "0 stamps (r), not 1", ""},
					inputCase{"set without stamp", "POST", "/internal/ml/apply", batch(entry("n2", 1, "s", `{"k":"set","e":["a"]}`)), 400, "0 stamps (r), not 1", ""})
			} else {
				tests = append(tests,
					inputCase{"counter with a stamp", "POST", "/internal/ml/apply", batch(entry("n2", 1, "c", `{"k":"counter","p":{"n2":3},"r":[{"t":5,"n":"n2","s":1}]}`)), 400, "a counter has register siblings", ""})
			}
			in.run(tests)

			// Nothing of the rejected batches was applied, not even their good entries: the
			// good entry alone is new.
			rec := in.do("POST", "/internal/ml/apply", batch(good, entry("n2", 2, "r", reg)), "n2")
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"applied":2`) {
				t.Errorf("good batch: got %d %s, want 200 with 2 applied", rec.Code, rec.Body)
			}
		})
	}
}
