package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// Conflict strategies of the multi-leader mode.
const (
	ConflictLWW      = "lww"      // last writer wins by the origin's clock, ties by node id; counters and sets replaced whole
	ConflictCRDT     = "crdt"     // PN-counters, add-wins sets, LWW registers
	ConflictSiblings = "siblings" // registers: version vectors, concurrent versions kept; counters, sets: CRDTs
)

// Topologies of the multi-leader mode.
const (
	TopologyAll  = "all"  // every leader sends its writes to every other
	TopologyRing = "ring" // each leader sends to the next one (sorted ids), which forwards
	TopologyStar = "star" // leaders send to the hub (first id), which forwards to the others
)

const (
	mlBatch   = 256                    // entries per delivery request
	mlIdle    = 250 * time.Millisecond // an empty queue is re-checked this often (besides wake-ups)
	mlBackoff = 20 * time.Millisecond  // first retry delay; doubles up to mlMaxBack
	mlMaxBack = time.Second
	mlLags    = 4096 // delivery lags kept per peer, and end-to-end lags per origin, for percentiles
	mlRecent  = 32   // recent conflicts kept for /admin/stats
)

// Multileader is the multi-leader replication mode: every node accepts writes, applies them
// durably, acknowledges them, and replicates them through a persistent outbound queue per peer.
// Receivers apply each write once (origin, sequence number) and, in the ring and star
// topologies, forward the writes they did not originate.
type Multileader struct {
	cfg   Config
	cons  string // how register versions merge: LWW or VClock (siblings)
	db    *storage
	tr    *transport
	clock *Clock
	stats *Stats
	log   zerolog.Logger
	now   func() time.Time // real time, for queue ages and lags
	ids   []string
	peers map[string]*mlPeer // the peers this node sends to

	confMu sync.Mutex
	recent []MLConflict

	ackMu sync.Mutex
	ackCh chan struct{} // closed (and replaced) whenever a peer acknowledges a batch

	e2eMu sync.Mutex
	e2e   map[string]*mlE2E // origin -> end-to-end lags of its writes applied here
}

var _ Replicator = (*Multileader)(nil)

// mlPeer is the delivery state of one outbound queue.
type mlPeer struct {
	id        string
	wake      chan struct{}
	queued    atomic.Int64
	delivered atomic.Int64
	failures  atomic.Int64
	lastLag   atomic.Int64  // ns, of the last entry delivered
	acked     atomic.Uint64 // outbox place of the last entry acknowledged since start

	lagMu sync.Mutex
	lags  lagWindow
}

// mlE2E are the end-to-end lags of one origin's writes on this node: from the origin applying
// a write to this node applying it, over every hop of the topology. Guarded by e2eMu.
type mlE2E struct {
	lags    lagWindow
	last    time.Duration
	samples int64 // lags recorded since the node started
}

// lagWindow keeps the last mlLags durations (a ring) for percentiles.
type lagWindow struct {
	buf  []time.Duration
	next int
}

func (w *lagWindow) add(d time.Duration) {
	if len(w.buf) < mlLags {
		w.buf = append(w.buf, d)
		return
	}
	w.buf[w.next] = d
	w.next = (w.next + 1) % mlLags
}

// percentiles returns the window's p50 and p99 (0, 0 when empty).
func (w *lagWindow) percentiles() (p50, p99 time.Duration) {
	if len(w.buf) == 0 {
		return 0, 0
	}
	s := slices.Clone(w.buf)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// MLConflict is one conflict a multi-leader node saw: a write that arrived concurrent with what
// the node held for the key (neither had seen the other), and how it was resolved.
type MLConflict struct {
	Key        string    `json:"key"`
	Origin     string    `json:"origin"` // node the incoming write came from
	Seq        uint64    `json:"seq"`
	Resolution string    `json:"resolution"` // lww-local-won, lww-incoming-won, siblings-kept, merged
	Kept       []string  `json:"kept,omitempty"`
	Lost       []string  `json:"lost,omitempty"` // register values that lost (lww): gone for good
	At         time.Time `json:"at"`
}

// Internal wire types of the mode.
type (
	mlApplyReq struct {
		Entries []mlEntry `json:"entries"`
	}
	mlApplyResp struct {
		Applied    int `json:"applied"`
		Duplicates int `json:"duplicates"`
	}
)

func newMultileader(cfg Config, db *storage, tr *transport, clock *Clock, stats *Stats, log zerolog.Logger) (*Multileader, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	l := &Multileader{
		cfg: cfg, cons: cfg.RegisterConsistency(), db: db, tr: tr, clock: clock, stats: stats,
		log: log, now: now, ids: cfg.NodeIDs(), peers: map[string]*mlPeer{}, ackCh: make(chan struct{}),
		e2e: map[string]*mlE2E{},
	}
	for _, id := range l.ids {
		if id != cfg.ID {
			l.e2e[id] = &mlE2E{}
		}
	}
	out := MLOutPeers(cfg.Topology, l.ids, cfg.ID)
	err := db.update(func(tx *txn) error { return createMLBuckets(tx, out) })
	if err != nil {
		return nil, fmt.Errorf("store: creating multi-leader buckets: %w", err)
	}
	for _, p := range out {
		mp := &mlPeer{id: p, wake: make(chan struct{}, 1)}
		n, err := db.outboxLen(p)
		if err != nil {
			return nil, err
		}
		mp.queued.Store(int64(n))
		l.peers[p] = mp
	}
	for _, s := range []string{"ml_write", "ml_applied", "ml_duplicate", "ml_forwarded", "ml_sent",
		"ml_send_failed", "ml_batches", "ml_conflict", "ml_conflict_lww_local_won",
		"ml_conflict_lww_incoming_won", "ml_conflict_siblings_kept", "ml_conflict_merged",
		"ml_siblings_resolved", "ml_kind_conflict", "ml_w_timeout"} {
		stats.counter(s)
	}
	return l, nil
}

// MLTargets are the peers node self sends a write from origin to, in topology over ids (sorted):
// all-to-all sends only its own writes, to everyone; a ring sends to the next node unless that
// is the origin; a star's hub (ids[0]) sends to every leaf but the origin, a leaf only its own
// writes to the hub. Following them from any origin reaches every node exactly once.
func MLTargets(topology string, ids []string, self, origin string) []string {
	var out []string
	switch topology {
	case TopologyRing:
		i := slices.Index(ids, self)
		if i < 0 || len(ids) < 2 {
			return nil
		}
		if next := ids[(i+1)%len(ids)]; next != origin {
			out = append(out, next)
		}
	case TopologyStar:
		if len(ids) < 2 {
			return nil
		}
		hub := ids[0]
		if self == hub {
			for _, p := range ids[1:] {
				if p != origin {
					out = append(out, p)
				}
			}
		} else if origin == self {
			out = append(out, hub)
		}
	default: // all
		if origin == self {
			for _, p := range ids {
				if p != self {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// MLOutPeers are every peer self may send to in topology: the union of MLTargets over origins.
func MLOutPeers(topology string, ids []string, self string) []string {
	set := map[string]bool{}
	for _, o := range ids {
		for _, p := range MLTargets(topology, ids, self, o) {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (l *Multileader) wake(peers []string) {
	for _, p := range peers {
		if mp := l.peers[p]; mp != nil {
			mp.queued.Add(1)
			select {
			case mp.wake <- struct{}{}:
			default:
			}
		}
	}
}

// ---- writes ----

// Write implements Replicator: apply op locally and durably, queue it for the peers, acknowledge.
func (l *Multileader) Write(ctx context.Context, key string, op WriteOp, w int) error {
	targets := MLTargets(l.cfg.Topology, l.ids, l.cfg.ID, l.cfg.ID)
	if w > 1+len(targets) {
		l.stats.Inc("outcome_failed")
		return &OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(
			"w=%d: this leader sends its writes directly to %d leaders (topology %s), so w can be at most %d",
			w, len(targets), l.cfg.Topology, 1+len(targets))}
	}
	var conf *MLConflict
	places := map[string]uint64{}
	err := l.db.update(func(tx *txn) error {
		conf = nil
		data := tx.Bucket(bucketData)
		cur, err := decodeRecord(data.Get([]byte(key)))
		if err != nil {
			return err
		}
		if !cur.Empty() && cur.Kind != op.Kind {
			return kindError{have: cur.Kind, got: op.Kind}
		}
		vvb := tx.Bucket(bucketMLVV)
		deps, err := getVV(vvb, key)
		if err != nil {
			return err
		}
		own := tx.Bucket(bucketOwn)
		var contrib [2]int64
		whole := l.lwwWhole(op.Kind)
		if op.Kind == KindCounter && !whole {
			if v := own.Get([]byte(key)); v != nil {
				if err := json.Unmarshal(v, &contrib); err != nil {
					return fmt.Errorf("store: corrupt counter contribution: %w", err)
				}
			}
			if err := addContribution(&contrib, op.Delta); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMLMeta)
		seq := u64val(meta.Get([]byte("seq"))) + 1
		var rec Record
		stamp := Sibling{TS: l.clock.Now().UnixNano(), Node: l.cfg.ID, Seq: seq}
		switch {
		case whole && op.Kind == KindCounter:
			rec = Record{Kind: KindCounter, Sibs: []Sibling{stamp}}
			v, err := cur.counterAfter(op.Delta)
			if err == nil && v == math.MinInt64 {
				err = fmt.Errorf("%w: the value would be %d, and one entry holds at most %d", ErrCounterOverflow, v, int64(math.MaxInt64))
			}
			if err != nil {
				return err
			}
			switch {
			case v > 0:
				rec.P = map[string]int64{l.cfg.ID: v}
			case v < 0:
				rec.N = map[string]int64{l.cfg.ID: -v}
			}
		case whole && op.Kind == KindSet:
			rec = Record{Kind: KindSet, Elems: sortedUnique(append(append([]string{}, cur.Elems...), op.Elem)), Sibs: []Sibling{stamp}}
		case op.Kind == KindRegister:
			sib := Sibling{Value: op.Value, Node: l.cfg.ID, Seq: seq}
			if l.cons == VClock {
				sib.Ctx = op.Causal
			} else {
				sib.TS = stamp.TS
			}
			rec = Record{Kind: KindRegister, Sibs: []Sibling{sib}}
		case op.Kind == KindCounter:
			// No zero entries: Merge drops them on one side only, and digests would differ.
			rec = Record{Kind: KindCounter}
			if contrib[0] != 0 {
				rec.P = map[string]int64{l.cfg.ID: contrib[0]}
			}
			if contrib[1] != 0 {
				rec.N = map[string]int64{l.cfg.ID: contrib[1]}
			}
		case op.Kind == KindSet:
			rec = Record{Kind: KindSet, Elems: []string{op.Elem}}
		default:
			return fmt.Errorf("unknown kind %q", op.Kind)
		}
		merged, err := l.resolver().merge(cur, rec)
		if err != nil {
			return err
		}
		if op.Kind == KindCounter {
			// Reads are local: the value this leader answers must stay in int64 range.
			if _, err := merged.CounterValue(); err != nil {
				return fmt.Errorf("delta %d: %w", op.Delta, err)
			}
		}
		enc, err := json.Marshal(merged)
		if err != nil {
			return err
		}
		vv := deps.Join(VV{l.cfg.ID: seq})
		venc, _ := json.Marshal(vv)
		// Everything checked: now change.
		if err := meta.Put([]byte("seq"), u64key(seq)); err != nil {
			return err
		}
		if err := data.Put([]byte(key), enc); err != nil {
			return err
		}
		if err := vvb.Put([]byte(key), venc); err != nil {
			return err
		}
		if op.Kind == KindCounter && !whole {
			cenc, _ := json.Marshal(contrib)
			if err := own.Put([]byte(key), cenc); err != nil {
				return err
			}
		}
		now := l.now().UnixNano()
		e := mlEntry{Origin: l.cfg.ID, Seq: seq, Key: key, Rec: rec, Deps: deps, At: now}
		for _, p := range targets {
			id, err := enqueue(tx, p, e, now)
			if err != nil {
				return err
			}
			places[p] = id
		}
		c, lost, resolved := l.resolver().detectLocal(key, l.cfg.ID, seq, cur, rec, merged)
		if lost {
			conf = &c
		}
		if resolved {
			l.stats.Inc("ml_siblings_resolved")
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrCounterOverflow) {
			l.stats.Inc("outcome_failed")
			return &OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("counter %q: %v; nothing changed", key, err)}
		}
		var ke kindError
		if errors.As(err, &ke) {
			l.stats.Inc("ml_kind_conflict")
			l.stats.Inc("outcome_failed")
			return &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q: %v", key, ke)}
		}
		l.stats.Inc("outcome_failed")
		// A failed commit rolls back: the write was not applied.
		return &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
			Msg: fmt.Sprintf("write %q failed: %v", key, err)}
	}
	l.stats.Inc("ml_write")
	l.stats.Inc("outcome_ok")
	if conf != nil {
		l.noteConflict(*conf)
	}
	l.wake(targets)
	if w > 1 {
		return l.waitAcks(ctx, key, places, w-1)
	}
	return nil
}

// waitAcks waits until need of the peers in places acknowledged the write queued at those
// places, or the request deadline passes (then the write, applied here, is indeterminate).
func (l *Multileader) waitAcks(ctx context.Context, key string, places map[string]uint64, need int) error {
	deadline := time.NewTimer(l.cfg.RequestTimeout)
	defer deadline.Stop()
	for {
		l.ackMu.Lock()
		ch := l.ackCh
		l.ackMu.Unlock()
		got := 0
		for p, id := range places {
			if l.peers[p].acked.Load() >= id {
				got++
			}
		}
		if got >= need {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			l.stats.Inc("ml_w_timeout")
			return &OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate, Msg: fmt.Sprintf(
				"write %q applied on this leader but acknowledged by %d of the %d other leaders w needs within %s; it will still replicate",
				key, got, need, l.cfg.RequestTimeout)}
		case <-ctx.Done():
			return &OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate,
				Msg: fmt.Sprintf("write %q applied on this leader; the request ended before w was reached", key)}
		}
	}
}

// ---- reads ----

// Read implements Replicator: reads are local to this leader; r is accepted and ignored.
func (l *Multileader) Read(ctx context.Context, key, kind string, r int) (Record, error) {
	rec, err := l.db.get(key)
	if err != nil {
		l.stats.Inc("outcome_failed")
		return Record{}, &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()}
	}
	if !rec.Empty() && rec.Kind != kind {
		l.stats.Inc("outcome_failed")
		return Record{}, &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q holds a %s, not a %s", key, rec.Kind, kind)}
	}
	l.stats.Inc("outcome_ok")
	if len(rec.Sibs) > 1 {
		l.stats.Inc("siblings_returned")
	}
	return rec, nil
}

// ---- applying writes from peers ----

// apply applies a batch from peer from, in order, each entry at most once, and queues the
// entries this node forwards. It returns what it did.
func (l *Multileader) apply(from string, entries []mlEntry) (mlApplyResp, error) {
	var resp mlApplyResp
	var confs []MLConflict
	var lags []mlLag
	fwd := map[string]int{}
	kindConflicts := 0
	err := l.db.update(func(tx *txn) error {
		resp, confs, lags, kindConflicts = mlApplyResp{}, nil, lags[:0], 0
		clear(fwd)
		applied := tx.Bucket(bucketMLApplied)
		data := tx.Bucket(bucketData)
		vvb := tx.Bucket(bucketMLVV)
		now := l.now().UnixNano()
		// Only storage errors are returned (they fail the whole batch); a corrupt record is skipped.
		for _, e := range entries {
			if mlDuplicate(l.cfg.ID, e, u64val(applied.Get([]byte(e.Origin)))) {
				resp.Duplicates++
				continue
			}
			if err := applied.Put([]byte(e.Origin), u64key(e.Seq)); err != nil {
				return err
			}
			resp.Applied++
			if e.At != 0 {
				// End to end: the origin's apply to this one, both at the start of the applying
				// transaction (the origin's commit and every hop are in; this node's commit is not).
				lags = append(lags, mlLag{e.Origin, time.Duration(max(0, now-e.At))})
			}
			for _, p := range MLTargets(l.cfg.Topology, l.ids, l.cfg.ID, e.Origin) {
				if p == from {
					continue
				}
				if _, err := enqueue(tx, p, e, now); err != nil {
					return err
				}
				fwd[p]++
			}
			cur, err := decodeRecord(data.Get([]byte(e.Key)))
			if err != nil {
				l.log.Error().Err(err).Str("key", e.Key).Msg("skipping a replicated write")
				continue
			}
			if kindConflict(cur, e.Rec) {
				kindConflicts++
				continue
			}
			vv, err := getVV(vvb, e.Key)
			if err != nil {
				l.log.Error().Err(err).Str("key", e.Key).Msg("skipping a replicated write")
				continue
			}
			merged, err := l.resolver().merge(cur, e.Rec)
			if err != nil {
				continue
			}
			enc, err := json.Marshal(merged)
			if err != nil {
				return err
			}
			if err := data.Put([]byte(e.Key), enc); err != nil {
				return err
			}
			if c, ok := l.resolver().detect(e, cur, merged, vv); ok {
				c.At = l.now()
				confs = append(confs, c)
			}
			nvv := appliedVV(vv, e)
			venc, _ := json.Marshal(nvv)
			if err := vvb.Put([]byte(e.Key), venc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return resp, err
	}
	l.noteE2E(lags)
	l.stats.Add("ml_applied", int64(resp.Applied))
	l.stats.Add("ml_duplicate", int64(resp.Duplicates))
	l.stats.Add("ml_kind_conflict", int64(kindConflicts))
	for _, c := range confs {
		l.noteConflict(c)
	}
	for p, n := range fwd {
		l.stats.Add("ml_forwarded", int64(n))
		if mp := l.peers[p]; mp != nil {
			mp.queued.Add(int64(n) - 1)
		}
		l.wake([]string{p})
	}
	return resp, nil
}

// mlLag is one end-to-end lag sample of a write from origin.
type mlLag struct {
	origin string
	lag    time.Duration
}

// noteE2E records a batch's end-to-end lags, under one lock.
func (l *Multileader) noteE2E(lags []mlLag) {
	if len(lags) == 0 {
		return
	}
	l.e2eMu.Lock()
	defer l.e2eMu.Unlock()
	for _, s := range lags {
		o := l.e2e[s.origin]
		if o == nil { // an origin outside the configured ids: still report it
			o = &mlE2E{}
			l.e2e[s.origin] = o
		}
		o.lags.add(s.lag)
		o.last = s.lag
		o.samples++
	}
}

// resolver is the node's conflict rule (decide_ml.go).
func (l *Multileader) resolver() mlResolver {
	return mlResolver{conflict: l.cfg.Conflict, cons: l.cons}
}

// lwwWhole: see mlResolver.lwwWhole.
func (l *Multileader) lwwWhole(kind string) bool { return l.resolver().lwwWhole(kind) }

func sameDot(a, b Sibling) bool { return a.Node == b.Node && a.Seq == b.Seq }

// describe is a record's value for conflict reports.
func describe(r Record) []string {
	switch r.Kind {
	case KindCounter:
		return []string{r.counterTotal().String()}
	case KindSet:
		return []string{"[" + strings.Join(r.Elems, " ") + "]"}
	}
	return r.Values()
}

func (l *Multileader) noteConflict(c MLConflict) {
	l.stats.Inc("ml_conflict")
	switch c.Resolution {
	case "lww-local-won":
		l.stats.Inc("ml_conflict_lww_local_won")
	case "lww-incoming-won":
		l.stats.Inc("ml_conflict_lww_incoming_won")
	case "siblings-kept":
		l.stats.Inc("ml_conflict_siblings_kept")
	default:
		l.stats.Inc("ml_conflict_merged")
	}
	if c.At.IsZero() {
		c.At = l.now()
	}
	l.log.Debug().Str("key", c.Key).Str("origin", c.Origin).Str("resolution", c.Resolution).
		Strs("kept", c.Kept).Strs("lost", c.Lost).Msg("conflict")
	l.confMu.Lock()
	defer l.confMu.Unlock()
	l.recent = append(l.recent, c)
	if len(l.recent) > mlRecent {
		l.recent = append([]MLConflict{}, l.recent[len(l.recent)-mlRecent:]...)
	}
}

// Internal implements Replicator.
func (l *Multileader) Internal(mux *http.ServeMux) {
	mux.HandleFunc("POST /internal/ml/apply", func(w http.ResponseWriter, r *http.Request) {
		var req mlApplyReq
		if !decodeInternal(w, r, &req) {
			return
		}
		resp, err := l.apply(r.Header.Get(HeaderFrom), req.Entries)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("POST /internal/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// ---- delivery ----

// Run implements Replicator: one delivery loop per outbound queue, until ctx ends.
func (l *Multileader) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range l.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.deliver(ctx, p)
		}()
	}
	wg.Wait()
}

// deliver sends p's queue in order, in batches, retrying with backoff until each batch is
// acknowledged; acknowledged entries leave the queue.
func (l *Multileader) deliver(ctx context.Context, p *mlPeer) {
	retry := backoff{first: mlBackoff, max: mlMaxBack}
	failures := 0 // consecutive failed deliveries
	for ctx.Err() == nil {
		batch, err := l.db.peekOutbox(p.id, mlBatch)
		if err != nil {
			l.log.Error().Err(err).Str("peer", p.id).Msg("reading outbox")
			_ = sleepCtx(ctx, mlMaxBack)
			continue
		}
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			case <-time.After(mlIdle):
			}
			continue
		}
		batch = fitEntries(batch, recordBudget(l.cfg.MaxBodyBytes)) // within the peer's body limit
		req := mlApplyReq{Entries: make([]mlEntry, len(batch))}
		for i, q := range batch {
			req.Entries[i] = q.out.E
		}
		cctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
		var resp mlApplyResp
		err = l.tr.call(cctx, p.id, "/internal/ml/apply", req, &resp)
		cancel()
		l.stats.Inc("ml_batches")
		if err != nil {
			p.failures.Add(1)
			l.stats.Inc("ml_send_failed")
			failures++
			_ = sleepCtx(ctx, retry.delay(failures, nil))
			continue
		}
		failures = 0
		if err := l.db.ackOutbox(p.id, batch); err != nil {
			if !errors.Is(err, errClosed) {
				l.log.Error().Err(err).Str("peer", p.id).Msg("removing delivered entries")
			}
			continue
		}
		p.acked.Store(u64val(batch[len(batch)-1].id))
		l.ackMu.Lock()
		close(l.ackCh)
		l.ackCh = make(chan struct{})
		l.ackMu.Unlock()
		now := l.now().UnixNano()
		p.queued.Add(-int64(len(batch)))
		p.delivered.Add(int64(len(batch)))
		l.stats.Add("ml_sent", int64(len(batch)))
		p.lagMu.Lock()
		for _, q := range batch {
			lag := time.Duration(now - q.out.Enq)
			p.lags.add(lag)
			p.lastLag.Store(int64(lag))
		}
		p.lagMu.Unlock()
	}
}

// MLPeerStats is the state of one outbound queue in /admin/stats ("ml_peers").
type MLPeerStats struct {
	Queue        int64   `json:"queue"`         // entries not yet acknowledged by the peer
	OldestAgeMS  float64 `json:"oldest_age_ms"` // age of the oldest undelivered entry (0 = empty)
	LastLagMS    float64 `json:"last_lag_ms"`   // queue-to-ack time of the last delivered entry
	LagP50MS     float64 `json:"lag_p50_ms"`    // over the last 4096 delivered entries
	LagP99MS     float64 `json:"lag_p99_ms"`    // over the last 4096 delivered entries
	Delivered    int64   `json:"delivered"`     // entries delivered since the node started
	SendFailures int64   `json:"send_failures"` // delivery attempts that failed (then retried)
}

// MLE2EStats are the end-to-end lags of one origin's writes on this node in /admin/stats
// ("ml_e2e", by origin): from the origin applying a write to this node applying it, through
// every hop of the topology (the origin's and this node's real clocks are compared).
type MLE2EStats struct {
	LastMS  float64 `json:"last_ms"` // of the last write from the origin applied here
	P50MS   float64 `json:"p50_ms"`  // over the last 4096 writes from the origin applied here
	P99MS   float64 `json:"p99_ms"`  // over the last 4096 writes from the origin applied here
	Samples int64   `json:"samples"` // writes from the origin applied here with a lag, since start
}

func mlMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// extraStats are the mode's structured stats: per-peer queues and one-hop lags, per-origin
// end-to-end lags, recent conflicts.
func (l *Multileader) extraStats() map[string]any {
	peers := map[string]MLPeerStats{}
	var total int64
	var worst float64
	now := l.now().UnixNano()
	for id, p := range l.peers {
		s := MLPeerStats{Queue: p.queued.Load(), LastLagMS: mlMS(time.Duration(p.lastLag.Load())),
			Delivered: p.delivered.Load(), SendFailures: p.failures.Load()}
		if old, err := l.db.outboxOldest(id); err == nil && old != 0 {
			s.OldestAgeMS = mlMS(time.Duration(now - old))
		}
		p.lagMu.Lock()
		w := lagWindow{buf: slices.Clone(p.lags.buf)}
		p.lagMu.Unlock()
		p50, p99 := w.percentiles()
		s.LagP50MS, s.LagP99MS = mlMS(p50), mlMS(p99)
		total += s.Queue
		worst = max(worst, s.LagP99MS)
		peers[id] = s
	}
	e2e := map[string]MLE2EStats{}
	var worstE2E float64
	for origin, w := range l.e2eWindows() {
		p50, p99 := w.lags.percentiles()
		s := MLE2EStats{LastMS: mlMS(w.last), P50MS: mlMS(p50), P99MS: mlMS(p99), Samples: w.samples}
		worstE2E = max(worstE2E, s.P99MS)
		e2e[origin] = s
	}
	l.confMu.Lock()
	recent := append([]MLConflict{}, l.recent...)
	l.confMu.Unlock()
	return map[string]any{
		"conflict": l.cfg.Conflict, "topology": l.cfg.Topology,
		"ml_peers": peers, "ml_queue_total": total, "ml_lag_p99_ms": worst,
		"ml_e2e": e2e, "ml_e2e_lag_p99_ms": worstE2E,
		"ml_recent_conflicts": recent,
	}
}

// e2eWindows copies the end-to-end lags per origin (the sorting happens outside the lock).
func (l *Multileader) e2eWindows() map[string]mlE2E {
	l.e2eMu.Lock()
	defer l.e2eMu.Unlock()
	out := make(map[string]mlE2E, len(l.e2e))
	for o, w := range l.e2e {
		out[o] = mlE2E{lags: lagWindow{buf: slices.Clone(w.lags.buf)}, last: w.last, samples: w.samples}
	}
	return out
}
