package store

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// MaxKeyBytes is the longest key accepted.
const MaxKeyBytes = 1024

// Node is one store node: storage, clock, fault filter, a replication mode and the HTTP API.
type Node struct {
	cfg    Config
	log    zerolog.Logger
	clock  *Clock
	stats  *Stats
	faults *Faults
	tr     *transport
	sh     *shell // the event loop running the mode's core, its Env

	loopStop context.CancelFunc // ends sh's loop
	loopDone chan struct{}      // closed when sh's loop has returned
	release  sync.Once

	stopOnce sync.Once
	kill     chan struct{} // closed by Kill: stop abruptly
	handler  http.Handler
	gate     gate // requests in flight; closed before the background work stops
}

// gate counts handlers in flight and, once closed, turns new ones away, so that nothing starts
// replica work after the node began to stop (http.Server.Close does not wait for handlers).
type gate struct {
	mu     sync.Mutex
	closed bool
	n      int
	zero   chan struct{}
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

func (g *gate) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	zero := make(chan struct{})
	g.zero = zero
	g.mu.Unlock()
	<-zero
}

// New opens the node's storage, builds its replication core (Config.Mode) and starts the loop
// that runs it, so the handler answers at once; Serve serves the node and, when it ends, stops
// the loop and closes the storage. A node is built to be served.
func New(cfg Config, log zerolog.Logger) (*Node, error) {
	return newNode(cfg, log, coreModeOf(cfg))
}

// coreMode is a replication mode as a Core: how to build it on an Env, and the internal
// requests it serves: their routes, and a new request (a pointer, ready to decode into) per
// route.
type coreMode struct {
	build   func(cfg Config, env Env, stats *Stats, log zerolog.Logger) (Core, error)
	routes  []string
	request func(route string) Request
}

// coreModeOf is cfg.Mode's core.
func coreModeOf(cfg Config) *coreMode {
	if cfg.Mode == "multileader" {
		return &coreMode{build: newCore, routes: []string{"/internal/ml/apply", "/internal/ping"}, request: multileaderRequest}
	}
	return &coreMode{build: newCore, request: leaderlessRequest, routes: []string{
		"/internal/read", "/internal/write", "/internal/coordinate", "/internal/ae/tree", "/internal/ae/sync", "/internal/ping"}}
}

// newNode builds a node running mode's core in a shell. The loop starts at once (the handler
// answers before Serve); Serve's end, or close, stops it.
func newNode(cfg Config, log zerolog.Logger, mode *coreMode) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With().Str("node", cfg.ID).Logger()
	n := &Node{cfg: cfg, log: log, clock: NewClock(cfg.Now), stats: newStats(), faults: newFaults(cfg.Seed), kill: make(chan struct{})}
	for _, s := range statNames {
		n.stats.counter(s)
	}
	n.tr = newTransport(cfg, n.faults, n.stats)
	sh, err := newShell(cfg, n.clock, n.stats, n.tr, log, func(env Env) (Core, error) {
		return mode.build(cfg, env, n.stats, log)
	})
	if err != nil {
		return nil, err
	}
	n.sh = sh
	ctx, cancel := context.WithCancel(context.Background())
	n.loopStop, n.loopDone = cancel, make(chan struct{})
	go func() {
		defer close(n.loopDone)
		sh.Run(ctx)
	}()
	routes := n.routes(mode)
	n.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !n.gate.enter() {
			writeError(w, http.StatusServiceUnavailable, client.OutcomeFailed, "node is stopping")
			return
		}
		defer n.gate.leave()
		routes.ServeHTTP(w, n.withBodyDeadline(w, r))
	})
	return n, nil
}

// Clock is the node's skewable clock.
func (n *Node) Clock() *Clock { return n.clock }

// Stats are the node's counters.
func (n *Node) Stats() *Stats { return n.stats }

// Handler is the node's whole HTTP API.
func (n *Node) Handler() http.Handler { return n.handler }

// Kill makes Serve stop abruptly: connections are cut, in-flight requests get no answer, nothing
// is flushed beyond what the fsync policy already wrote. Tests use it to simulate a crash.
func (n *Node) Kill() { n.stopOnce.Do(func() { close(n.kill) }) }

// Serve serves the API on ln until ctx ends (graceful: in-flight requests finish) or Kill is
// called (abrupt), then stops the background work and closes the storage. A Node serves once.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	// Connections accepted but not yet used (peers' transports dial ahead) would hold a graceful
	// Shutdown for 5s; they are tracked and closed at shutdown.
	var connMu sync.Mutex
	fresh := map[net.Conn]bool{}
	srv := &http.Server{
		ConnState: func(c net.Conn, s http.ConnState) {
			connMu.Lock()
			defer connMu.Unlock()
			if s == http.StateNew {
				fresh[c] = true
			} else {
				delete(fresh, c)
			}
		},
		Handler:           n.handler,
		ReadHeaderTimeout: 10 * time.Second, // bodies: withBodyDeadline (a ReadTimeout would cancel slow handlers)
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          nil,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	n.log.Info().Str("listen", ln.Addr().String()).Str("mode", n.cfg.Mode).Str("consistency", n.cfg.RegisterConsistency()).
		Int("n", n.cfg.EffectiveN()).Int("w", n.cfg.EffectiveW()).Int("r", n.cfg.EffectiveR()).Msg("node serving")

	var err error
	select {
	case <-ctx.Done():
		cancelBase() // release requests held by the fault filter
		sctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout+5*time.Second)
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(sctx) }()
		<-serveErr // the listener is closed: no new connections
		connMu.Lock()
		for c := range fresh {
			c.Close()
		}
		connMu.Unlock()
		err = <-shut
		cancel()
	case <-n.kill:
		cancelBase()
		err = srv.Close()
		<-serveErr
	case e := <-serveErr:
		err = e
	}
	n.gate.closeAndWait()
	if cerr := n.close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	n.log.Info().Msg("node stopped")
	if err != nil {
		return fmt.Errorf("store: serving: %w", err)
	}
	return nil
}

// close stops the node's loop (once the work in flight drained) and closes the transport and
// the storage. Serve calls it; so do tests of a node that never served.
func (n *Node) close() error {
	var err error
	n.release.Do(func() {
		n.loopStop()
		<-n.loopDone
		n.tr.close()
		err = n.sh.close()
	})
	return err
}

func (n *Node) routes(mode *coreMode) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, client.HealthResponse{ID: n.cfg.ID, Status: "ok"})
	})
	mux.HandleFunc("GET /kv/{key}", n.handleRead(KindRegister))
	mux.HandleFunc("PUT /kv/{key}", n.handleWrite(KindRegister))
	mux.HandleFunc("GET /counter/{key}", n.handleRead(KindCounter))
	mux.HandleFunc("POST /counter/{key}", n.handleWrite(KindCounter))
	mux.HandleFunc("GET /set/{key}", n.handleRead(KindSet))
	mux.HandleFunc("POST /set/{key}", n.handleWrite(KindSet))

	internal := http.NewServeMux()
	n.sh.serveInternal(internal, mode.routes, mode.request)
	internal.HandleFunc("/", fallback(internal))
	// The secret first: a request without it reaches neither the fault filter nor a handler.
	mux.Handle("/internal/", n.requireSecret(n.filterInbound(n.withInternalRules(internal))))

	mux.HandleFunc("GET /admin/clock", n.admin(n.getClock))
	mux.HandleFunc("PUT /admin/clock", n.admin(n.putClock))
	mux.HandleFunc("GET /admin/faults", n.admin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, n.faults.Wire())
	}))
	mux.HandleFunc("PUT /admin/faults", n.admin(n.putFaults))
	mux.HandleFunc("GET /admin/dump", n.admin(n.dump))
	mux.HandleFunc("POST /admin/replicas", n.admin(n.replicas))
	mux.HandleFunc("GET /admin/stats", n.admin(n.statsHandler))
	mux.HandleFunc("GET /admin/hints/dead", n.admin(n.deadHints))
	mux.HandleFunc("/", fallback(mux))
	return mux
}

// fallback answers what no other pattern of mux matches: 405 with an Allow header when the path
// exists under other methods, else 404. (With a catch-all "/" pattern ServeMux never answers
// 405 itself: "/" matches every method.)
func fallback(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.WithContext(r.Context()) // a shallow copy
			probe.Method = m
			if _, pat := mux.Handler(probe); pat != "" && pat != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, http.StatusNotFound, "", fmt.Sprintf("no endpoint %s %s (see docs/API.md)", r.Method, r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, strings.Join(allow, ", ")))
	}
}

// ---- helpers ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, outcome, msg string) {
	writeJSON(w, status, client.ErrorBody{Error: msg, Outcome: outcome})
}

func (n *Node) bad(w http.ResponseWriter, status int, msg string) {
	n.stats.Inc("client_bad_request")
	writeError(w, status, "", msg)
}

// checkKey rejects empty, oversize, non-UTF-8 keys and keys with control characters.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("key is empty")
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("key is %d bytes, longer than %d", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return errors.New("key is not valid UTF-8")
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("key contains control character %U", c)
		}
	}
	return nil
}

// quorumParam reads ?w= or ?r=: absent = node default, else 1..N, given once.
func (n *Node) quorumParam(r *http.Request, name string, def int) (int, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, fmt.Errorf("bad query string: %v", err)
	}
	for k := range query {
		if k != "w" && k != "r" {
			return 0, fmt.Errorf("unknown query parameter %q (want w or r)", k)
		}
	}
	vals, ok := query[name]
	if !ok {
		return def, nil
	}
	N := n.cfg.EffectiveN()
	if len(vals) > 1 {
		return 0, fmt.Errorf("%s given %d times (%s=%s): give it once", name, len(vals), name, strings.Join(vals, "&"+name+"="))
	}
	s := vals[0]
	if s == "" {
		return 0, fmt.Errorf("%s is empty: give %s=1..%d, or leave it out for the default %d", name, name, N, def)
	}
	q, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", name, s)
	}
	if q < 1 || q > N {
		return 0, fmt.Errorf("%s %d out of range 1..%d", name, q, N)
	}
	return q, nil
}

// decodeBody decodes a client JSON body strictly: size limit, known fields, one value, and
// every string valid UTF-8 (see checkJSONText).
func (n *Node) decodeBody(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, n.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", mbe.Limit)
		}
		if isReadTimeout(err) {
			return http.StatusRequestTimeout, errors.New("request body not received in time (the node's body read timeout)")
		}
		return http.StatusBadRequest, fmt.Errorf("reading the body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if status, err := decodeStrict(w, r, v, n.cfg.MaxBodyBytes); err != nil {
		return status, err
	}
	if err := checkJSONText(body); err != nil {
		return http.StatusBadRequest, err
	}
	return 0, nil
}

// checkJSONText refuses a JSON text (already decoded without error) that is not valid UTF-8 or
// whose strings hold a lone UTF-16 surrogate escape ("\ud800"). encoding/json turns both into
// U+FFFD without a word, and a store that stores values as sent must refuse them instead.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("body is not valid UTF-8 (byte 0x%02x at offset %d): values, elements and contexts are stored as sent, so they must be UTF-8", b[i], i)
	}
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+1 < len(b) && b[i+1] == 'u' {
				r := hex4(b, i+2)
				if r >= 0xd800 && r <= 0xdbff && i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo := hex4(b, i+8); lo >= 0xdc00 && lo <= 0xdfff {
						i += 11 // a surrogate pair: one valid character
						continue
					}
				}
				if r >= 0xd800 && r <= 0xdfff {
					return fmt.Errorf("body holds a lone UTF-16 surrogate \\u%04x at offset %d (not valid UTF-8 once decoded): values, elements and contexts are stored as sent, so they must be UTF-8", r, i)
				}
				i += 5
				continue
			}
			i++ // the escaped character
		}
	}
	return nil
}

// hex4 is the value of the 4 hex digits at b[i:] (-1 if they are not).
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// decodeStrict decodes a JSON body with a size limit (413 past it), known fields only and
// exactly one value (400 otherwise); it returns the status of the error.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any, limit int64) (int, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", mbe.Limit)
		}
		if isReadTimeout(err) {
			return http.StatusRequestTimeout, errors.New("request body not received in time (the node's body read timeout)")
		}
		if errors.Is(err, io.EOF) {
			return http.StatusBadRequest, errors.New("bad JSON body: empty")
		}
		return http.StatusBadRequest, fmt.Errorf("bad JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", mbe.Limit)
		}
		if isReadTimeout(err) {
			return http.StatusRequestTimeout, errors.New("request body not received in time (the node's body read timeout)")
		}
		return http.StatusBadRequest, errors.New("bad JSON body: more than one JSON value")
	}
	return 0, nil
}

func (n *Node) opError(w http.ResponseWriter, err error) {
	var oe *OpError
	if errors.As(err, &oe) {
		writeError(w, oe.Status, oe.Outcome, oe.Msg)
		return
	}
	writeError(w, http.StatusInternalServerError, client.OutcomeIndeterminate, err.Error())
}

// ---- client API ----

// dataRequest reads what every data request names: its key and both quorums (?w= and ?r=,
// node defaults where absent; abd uses both for reads and writes alike). On bad input it has
// answered 400 and returns false.
func (n *Node) dataRequest(w http.ResponseWriter, r *http.Request) (string, Quorums, bool) {
	key := r.PathValue("key")
	if err := checkKey(key); err != nil {
		n.bad(w, http.StatusBadRequest, err.Error())
		return "", Quorums{}, false
	}
	var q Quorums
	var err error
	if q.W, err = n.quorumParam(r, "w", n.cfg.EffectiveW()); err == nil {
		q.R, err = n.quorumParam(r, "r", n.cfg.EffectiveR())
	}
	if err != nil {
		n.bad(w, http.StatusBadRequest, err.Error())
		return "", Quorums{}, false
	}
	return key, q, true
}

func (n *Node) handleRead(kind string) http.HandlerFunc {
	stat := map[string]string{KindRegister: "client_get", KindCounter: "client_counter", KindSet: "client_set_read"}[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		n.stats.Inc(stat)
		key, q, ok := n.dataRequest(w, r)
		if !ok {
			return
		}
		rec, err := n.sh.Read(r.Context(), key, kind, q)
		if err != nil {
			n.opError(w, err)
			return
		}
		switch kind {
		case KindRegister:
			resp := client.GetResponse{Key: key, Values: rec.Values()}
			if resp.Values == nil {
				resp.Values = []string{}
			}
			if n.cfg.RegisterConsistency() == VClock {
				resp.Context = rec.Context().String()
			}
			writeJSON(w, http.StatusOK, resp)
		case KindCounter:
			v, err := rec.CounterValue()
			if err != nil {
				// Never a wrapped number. The read changed nothing.
				writeError(w, http.StatusInternalServerError, client.OutcomeFailed, fmt.Sprintf("counter %q: %v", key, err))
				return
			}
			writeJSON(w, http.StatusOK, client.CounterResponse{Key: key, Value: v})
		case KindSet:
			el := rec.Elems
			if el == nil {
				el = []string{}
			}
			writeJSON(w, http.StatusOK, client.SetResponse{Key: key, Elements: el})
		}
	}
}

func (n *Node) handleWrite(kind string) http.HandlerFunc {
	stat := map[string]string{KindRegister: "client_put", KindCounter: "client_incr", KindSet: "client_set_add"}[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		n.stats.Inc(stat)
		key, q, ok := n.dataRequest(w, r)
		if !ok {
			return
		}
		op := WriteOp{Kind: kind}
		switch kind {
		case KindRegister:
			var req struct { // client.PutRequest, with value required
				Value   *string `json:"value"`
				Context string  `json:"context"`
			}
			if status, err := n.decodeBody(w, r, &req); err != nil {
				n.bad(w, status, err.Error())
				return
			}
			if req.Value == nil {
				n.bad(w, http.StatusBadRequest, `value is missing (an empty value is "value":"")`)
				return
			}
			op.Value = *req.Value
			if n.cfg.RegisterConsistency() == VClock {
				vv, err := ParseContext(req.Context)
				if err != nil {
					n.bad(w, http.StatusBadRequest, err.Error())
					return
				}
				for node := range vv {
					if _, ok := n.cfg.Peers[node]; !ok {
						n.bad(w, http.StatusBadRequest, fmt.Sprintf("causal context %q names %q, not a cluster node (pass back the context a read returned)", req.Context, node))
						return
					}
				}
				op.Causal = vv
			}
		case KindCounter:
			var req client.IncrRequest
			if status, err := n.decodeBody(w, r, &req); err != nil {
				n.bad(w, status, err.Error())
				return
			}
			if req.Delta == 0 {
				n.bad(w, http.StatusBadRequest, "delta is 0 (or missing)")
				return
			}
			if req.Delta == math.MinInt64 {
				n.bad(w, http.StatusBadRequest, fmt.Sprintf("delta %d: overflow, its negation is not an int64 (the smallest delta is %d)", req.Delta, -math.MaxInt64))
				return
			}
			op.Delta = req.Delta
		case KindSet:
			var req struct { // client.SetAddRequest, with element required
				Element *string `json:"element"`
			}
			if status, err := n.decodeBody(w, r, &req); err != nil {
				n.bad(w, status, err.Error())
				return
			}
			if req.Element == nil {
				n.bad(w, http.StatusBadRequest, `element is missing (an empty element is "element":"")`)
				return
			}
			op.Elem = *req.Element
		}
		if err := n.sh.Write(r.Context(), key, op, q); err != nil {
			n.opError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, client.OKResponse{OK: true})
	}
}

// ---- internal API fault filter ----

// filterInbound applies the fault filter to requests from peers: a dropped or lost request is
// held, unapplied, until the sender gives up; a lost response is held likewise after applying;
// link delay and loss apply to the response (what this node sends), not to the request.
func (n *Node) filterInbound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := r.Header.Get(HeaderFrom)
		if _, ok := n.cfg.Peers[from]; !ok {
			writeError(w, http.StatusBadRequest, "", fmt.Sprintf("%s header %q is not a cluster node", HeaderFrom, from))
			return
		}
		if !n.faults.active(from) {
			next.ServeHTTP(w, r) // the common case: no buffering
			return
		}
		if err := n.tr.filter(r.Context(), from, "in"); err != nil {
			panic(http.ErrAbortHandler) // no answer at all
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if err := n.tr.filter(r.Context(), from, "out"); err != nil {
			panic(http.ErrAbortHandler)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body)
	})
}

// recorder buffers a response so the filter can delay or drop it.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

// ---- admin API ----

func (n *Node) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.cfg.AdminToken == "" {
			writeError(w, http.StatusNotFound, "", "admin API is off (the node has no admin token)")
			return
		}
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if auth == "" {
			writeError(w, http.StatusUnauthorized, "", "missing Authorization: Bearer <token>")
			return
		}
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(n.cfg.AdminToken)) != 1 {
			writeError(w, http.StatusUnauthorized, "", "wrong admin token")
			return
		}
		h(w, r)
	}
}

func (n *Node) getClock(w http.ResponseWriter, r *http.Request) {
	off, drift := n.clock.Get()
	writeJSON(w, http.StatusOK, client.ClockWire{OffsetMS: float64(off) / float64(time.Millisecond), DriftPPM: drift, NowUnixNS: n.clock.Now().UnixNano()})
}

func (n *Node) putClock(w http.ResponseWriter, r *http.Request) {
	var req client.ClockWire
	if status, err := n.decodeBody(w, r, &req); err != nil {
		n.bad(w, status, err.Error())
		return
	}
	const maxOffsetMS = 10 * 365 * 24 * 3600 * 1000.0
	if req.OffsetMS < -maxOffsetMS || req.OffsetMS > maxOffsetMS {
		n.bad(w, http.StatusBadRequest, fmt.Sprintf("offset_ms %v out of range ±%v", req.OffsetMS, maxOffsetMS))
		return
	}
	if req.DriftPPM <= -1e6 || req.DriftPPM > 1e6 {
		n.bad(w, http.StatusBadRequest, fmt.Sprintf("drift_ppm %v out of range (-1e6, 1e6]", req.DriftPPM))
		return
	}
	n.clock.Set(time.Duration(req.OffsetMS*float64(time.Millisecond)), req.DriftPPM)
	n.log.Info().Float64("offset_ms", req.OffsetMS).Float64("drift_ppm", req.DriftPPM).Msg("clock set")
	n.getClock(w, r)
}

func (n *Node) putFaults(w http.ResponseWriter, r *http.Request) {
	var req client.FaultsWire
	if status, err := n.decodeBody(w, r, &req); err != nil {
		n.bad(w, status, err.Error())
		return
	}
	if err := n.faults.Set(req, n.cfg.Peers, n.cfg.ID); err != nil {
		n.bad(w, http.StatusBadRequest, err.Error())
		return
	}
	n.log.Info().Strs("drop", req.Drop).Int("links", len(req.Links)).Msg("fault filter set")
	writeJSON(w, http.StatusOK, n.faults.Wire())
}

func (n *Node) dump(w http.ResponseWriter, r *http.Request) {
	d := client.Dump{Node: n.cfg.ID, Keys: map[string]client.DumpEntry{}}
	err := n.forEachRecord(func(key string, rec Record) error {
		e := client.DumpEntry{Kind: rec.Kind, Version: rec.Version(n.cfg.RegisterConsistency())}
		switch rec.Kind {
		case KindRegister:
			e.Values = rec.Values()
		case KindCounter:
			if v, err := rec.CounterValue(); err == nil {
				e.Counter = v
			} else {
				// Out of int64 range: the exact value, as a decimal string.
				e.Values = []string{rec.counterTotal().String()}
			}
		case KindSet:
			e.Elements = rec.Elems
		}
		d.Keys[key] = e
		return nil
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// deadHints lists the hints this node set aside because their target refused them as invalid.
func (n *Node) deadHints(w http.ResponseWriter, r *http.Request) {
	dead, err := n.deadHintList()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if dead == nil {
		dead = []deadHint{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": n.cfg.ID, "dead_hints": dead})
}

func (n *Node) statsHandler(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	for k, v := range n.stats.Snapshot() {
		out[k] = v
	}
	out["storage_commits"] = n.sh.db.commits.Load()
	out["storage_commit_writes"] = n.sh.db.committed.Load()
	out["node"] = n.cfg.ID
	out["mode"] = n.cfg.Mode
	// How registers are versioned (under multi-leader: lww, or vclock for siblings), plus the
	// multi-leader strategy and topology by name.
	out["consistency"] = n.cfg.RegisterConsistency()
	if n.cfg.Mode == "multileader" {
		out["conflict"], out["topology"] = n.cfg.Conflict, n.cfg.Topology
	}
	out["n"], out["w"], out["r"] = n.cfg.EffectiveN(), n.cfg.EffectiveW(), n.cfg.EffectiveR()
	for k, v := range n.sh.CoreStats(r.Context()) {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// forEachRecord calls fn for every record in the node's storage, in key order (safe from any
// goroutine).
func (n *Node) forEachRecord(fn func(key string, r Record) error) error {
	var err error
	serr := n.sh.db.Scan(string(bucketData), nil, func(k, v []byte) bool {
		var r Record
		if r, err = decodeRecord(v); err == nil {
			err = fn(string(k), r)
		}
		return err == nil
	})
	return errors.Join(serr, err)
}

// deadHintList lists the hints the node set aside (safe from any goroutine).
func (n *Node) deadHintList() ([]deadHint, error) {
	var out []deadHint
	var err error
	serr := n.sh.db.Scan(string(bucketDeadHints), nil, func(k, v []byte) bool {
		var d deadHint
		if err = json.Unmarshal(v, &d); err != nil {
			err = fmt.Errorf("store: corrupt dead hint %q: %w", k, err)
			return false
		}
		out = append(out, d)
		return true
	})
	return out, errors.Join(serr, err)
}
