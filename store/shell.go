package store

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// shell runs one Core for a real node (`faultline node`): it is the core's Env over HTTP (the
// transport, with the fault filter and the cluster secret), the storage engine (shellStorage's
// pipelined group commit), the node's skewable clock and time.AfterFunc, and the event loop that
// serializes everything into the core.
//
// One goroutine (Run) runs the core. Every entry (a client request, an internal request, a
// Call's answer, a timer, a Persist's completion) is posted to it as a function and run there,
// one at a time; no Env method calls back into the core inline. Run ends, once its context
// does, after the work in flight has drained: timers are dropped, Calls still out end (their
// context is cancelled) and every Persist reaches the engine, each with its done run.
type shell struct {
	cfg   Config
	log   zerolog.Logger
	clock *Clock
	stats *Stats
	tr    *transport
	db    *shellStorage
	core  Core
	start time.Time
	rnd   *rand.Rand
	mb    mailbox

	// The loop's own.
	stopping bool
	inflight int // Calls and Persists whose done has not run yet
	timers   map[*shellTimer]struct{}

	callCtx     context.Context // parent of every Call's context; cancelled when the loop stops
	cancelCalls context.CancelFunc
	calls       sync.WaitGroup // Call goroutines
	exited      chan struct{}  // closed when Run returns
}

var _ Env = (*shell)(nil)

// errStopping refuses the Calls a core makes while its loop is stopping: they are not sent.
var errStopping = errors.New("node is stopping: not sent")

// newShell opens the node's storage and builds the core with mk, on the shell as its Env. Run
// runs it; close releases the storage after Run returned.
func newShell(cfg Config, clock *Clock, stats *Stats, tr *transport, log zerolog.Logger, mk func(Env) (Core, error)) (*shell, error) {
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("store: seeding the node's randomness: %w", err)
	}
	s := &shell{
		cfg: cfg, log: log, clock: clock, stats: stats, tr: tr, start: time.Now(),
		rnd:    rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))),
		timers: map[*shellTimer]struct{}{}, exited: make(chan struct{}),
	}
	s.mb.init()
	s.callCtx, s.cancelCalls = context.WithCancel(context.Background())
	db, err := openShellStorage(cfg, s.post, log)
	if err != nil {
		s.cancelCalls()
		return nil, err
	}
	s.db = db
	if s.core, err = mk(s); err != nil {
		s.cancelCalls()
		db.close()
		return nil, err
	}
	return s, nil
}

// close closes the storage (after Run has returned, or when Run never ran).
func (s *shell) close() error {
	s.cancelCalls()
	return s.db.close()
}

// ---- the event loop ----

// mailbox is the loop's queue of functions: unbounded, so that posting never blocks (the
// committer and the Call goroutines post while the loop may be busy).
type mailbox struct {
	mu     sync.Mutex
	q      []func()
	spare  []func()
	closed bool
	wake   chan struct{} // cap 1
}

func (m *mailbox) init() { m.wake = make(chan struct{}, 1) }

// put queues f; after close it drops it.
func (m *mailbox) put(f func()) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.q = append(m.q, f)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// take returns everything queued (the slice is the caller's until the next take).
func (m *mailbox) take() []func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q
	m.q, m.spare = m.spare[:0], q
	return q
}

func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.q = nil
	m.mu.Unlock()
}

// post runs f on the loop, later.
func (s *shell) post(f func()) { s.mb.put(f) }

// Run starts the core and runs the loop until ctx ends, then drains the work in flight (see
// shell) and returns. A shell runs once.
func (s *shell) Run(ctx context.Context) {
	defer close(s.exited)
	s.core.Start()
	for {
		s.runQueued()
		select {
		case <-s.mb.wake:
		case <-ctx.Done():
			s.drain()
			return
		}
	}
}

// runQueued runs what is queued, and what that queues, until the queue is empty.
func (s *shell) runQueued() {
	for {
		q := s.mb.take()
		if len(q) == 0 {
			return
		}
		for i, f := range q {
			q[i] = nil
			f()
		}
	}
}

// drain stops the timers and the Calls in flight and runs the loop until every Call and Persist
// has had its done run; later posts are dropped.
func (s *shell) drain() {
	s.stopping = true
	for t := range s.timers {
		t.cancelled = true
		t.t.Stop()
	}
	clear(s.timers)
	s.cancelCalls()
	for {
		s.runQueued()
		if s.inflight == 0 {
			break
		}
		<-s.mb.wake
	}
	s.mb.close()
	s.calls.Wait()
}

// await runs start on the loop and waits for the answer it hands to its callback, or for ctx to
// end (then it returns ctx's error; the answer, when it comes, is dropped).
func await[T any](ctx context.Context, s *shell, start func(reply func(T))) (T, error) {
	ch := make(chan T, 1)
	s.post(func() { start(func(v T) { ch <- v }) })
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

type recordOrError struct {
	rec Record
	err error
}

type answerOrError struct {
	ans any
	err error
}

// Read runs the core's Read on the loop and waits for it (bounded by ctx).
func (s *shell) Read(ctx context.Context, key, kind string, q Quorums) (Record, error) {
	r, err := await(ctx, s, func(reply func(recordOrError)) {
		s.core.Read(key, kind, q, func(rec Record, err error) { reply(recordOrError{rec, err}) })
	})
	if err != nil {
		// A read changes no value a client wrote; the repairs it may have started only merge.
		return Record{}, &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
			Msg: "the read ended before the node had its answer: " + err.Error()}
	}
	return r.rec, r.err
}

// Write runs the core's Write on the loop and waits for it (bounded by ctx).
func (s *shell) Write(ctx context.Context, key string, op WriteOp, q Quorums) error {
	werr, err := await(ctx, s, func(reply func(error)) { s.core.Write(key, op, q, reply) })
	if err != nil {
		return &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeIndeterminate,
			Msg: "the write ended before the node knew its outcome (it may or may not be applied): " + err.Error()}
	}
	return werr
}

// Handle runs the core's Handle on the loop and waits for it (bounded by ctx).
func (s *shell) Handle(ctx context.Context, from string, req Request) (any, error) {
	r, err := await(ctx, s, func(reply func(answerOrError)) {
		s.core.Handle(from, req, func(ans any, err error) { reply(answerOrError{ans, err}) })
	})
	if err != nil {
		return nil, &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeIndeterminate,
			Msg: "the request ended before the node had its answer: " + err.Error()}
	}
	return r.ans, r.err
}

// CoreStats returns the core's Stats, read on the loop (nil if ctx ends first).
func (s *shell) CoreStats(ctx context.Context) map[string]any {
	m, _ := await(ctx, s, func(reply func(map[string]any)) { reply(s.core.Stats()) })
	return m
}

// ---- Env ----

// Now implements Env: the node's clock, with its offset and drift.
func (s *shell) Now() time.Time { return s.clock.Now() }

// Mono implements Env: time since the shell was built.
func (s *shell) Mono() time.Duration { return time.Since(s.start) }

// Rand implements Env: crypto-seeded, used on the loop only.
func (s *shell) Rand() *rand.Rand { return s.rnd }

// Call implements Env: the request is encoded on the loop (the core keeps its values), sent from
// a goroutine through the transport (fault filter, cluster secret, no redirects), and its answer
// or error is posted back to the loop.
func (s *shell) Call(peer string, req Request, timeout time.Duration, done func(answer any, err error)) {
	s.inflight++
	finish := func(ans any, err error) {
		s.post(func() {
			s.inflight--
			done(ans, err)
		})
	}
	var body []byte
	var err error
	switch {
	case peer == s.cfg.ID:
		err = &replicaError{peer: peer, refused: true, err: errors.New("a node does not call itself (a bug in the core)")}
	case s.stopping:
		err = &replicaError{peer: peer, refused: true, err: errStopping}
	default:
		if body, err = json.Marshal(req); err != nil {
			err = &replicaError{peer: peer, refused: true, err: fmt.Errorf("encoding %s: %w", req.route(), err)}
		}
	}
	if err != nil {
		finish(nil, err)
		return
	}
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		ctx, cancel := context.WithTimeout(s.callCtx, timeout)
		defer cancel()
		ans := req.answer()
		if err := s.tr.callBody(ctx, peer, req.route(), body, ans); err != nil {
			finish(nil, err)
			return
		}
		finish(ans, nil)
	}()
}

// shellTimer is one After: cancelled (on the loop) keeps a timer that fired but whose function
// is still queued from running.
type shellTimer struct {
	t         *time.Timer
	cancelled bool
}

// After implements Env with time.AfterFunc, posting f to the loop.
func (s *shell) After(d time.Duration, f func()) (cancel func()) {
	if s.stopping {
		return func() {}
	}
	st := &shellTimer{}
	s.timers[st] = struct{}{}
	st.t = time.AfterFunc(d, func() {
		s.post(func() {
			if st.cancelled {
				return
			}
			st.cancelled = true
			delete(s.timers, st)
			f()
		})
	})
	return func() {
		if !st.cancelled {
			st.cancelled = true
			st.t.Stop()
			delete(s.timers, st)
		}
	}
}

// Persist implements Env: see shellStorage.
func (s *shell) Persist(b *Batch, done func(error)) {
	s.inflight++
	s.db.Persist(b, func(err error) {
		s.inflight--
		done(err)
	})
}

// Sync implements Syncer: see shellStorage.Sync. The multi-leader core uses it under fsync
// never, so that what a node sends or acknowledges to a peer survives its crash.
func (s *shell) Sync(done func(error)) {
	s.inflight++
	s.db.Sync(func(err error) {
		s.inflight--
		done(err)
	})
}

var _ Syncer = (*shell)(nil)

// Get implements Env.
func (s *shell) Get(bucket string, key []byte) ([]byte, error) { return s.db.Get(bucket, key) }

// Scan implements Env.
func (s *shell) Scan(bucket string, from []byte, fn func(key, value []byte) bool) error {
	return s.db.Scan(bucket, from, fn)
}

// Event implements Env: a debug log line, and a count per kind in /admin/stats.
func (s *shell) Event(e Event) {
	e.Node, e.Time = s.cfg.ID, s.Mono()
	s.stats.Inc("event_" + e.Kind)
	if ev := s.log.Debug(); ev.Enabled() {
		ev.Str("kind", e.Kind).Str("key", e.Key).Str("peer", e.Peer).Str("kept", e.Kept).Str("lost", e.Lost).
			Str("why", e.Why).Dur("t", e.Time).Msg("core event")
	}
}

// ---- the internal API ----

// serveInternal registers one handler per internal route on mux: decode strictly into
// request(route) (size limit, known fields, validation; 400, 413 or 408 naming the problem),
// run the core's Handle on the loop, and answer its answer as JSON ({"ok":true} when it has
// none) or its *OpError's status and body.
func (s *shell) serveInternal(mux *http.ServeMux, routes []string, request func(route string) Request) {
	for _, route := range routes {
		if _, ok := request(route).(internalBody); !ok {
			panic("store: internal route " + route + " has no request type with a size limit and checks")
		}
		mux.HandleFunc("POST "+route, func(w http.ResponseWriter, r *http.Request) {
			req := request(route)
			if !decodeInternal(w, r, req.(internalBody)) {
				return
			}
			ans, err := s.Handle(r.Context(), r.Header.Get(HeaderFrom), req)
			if err != nil {
				var oe *OpError
				if errors.As(err, &oe) {
					writeError(w, oe.Status, oe.Outcome, oe.Msg)
					return
				}
				writeError(w, http.StatusInternalServerError, "", err.Error())
				return
			}
			if ans == nil {
				writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
				return
			}
			writeJSON(w, http.StatusOK, ans)
		})
	}
}
