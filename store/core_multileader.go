package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// mlCore is the multi-leader replication mode as a deterministic core (issue 11): the same
// behaviour as the goroutine-based mode it replaced, with every effect going through an Env. Every node
// accepts writes, applies them locally in one Persist batch together with their place in every
// outbound queue, acknowledges them once that batch is done, and replicates them through a
// persistent outbox per peer (the buckets and encodings of outbox.go, so a data dir stays
// readable by either). Receivers apply each write once (origin, sequence number) and, in the
// ring and star topologies, forward the writes they did not originate.
//
// Ordering rules, since Env's Get and Scan see a batch before it is durable: a client write is
// acknowledged once its batch is done; a read answers what it saw once every batch persisted
// before it is done; a peer's batch is acknowledged once every batch persisted before the
// answer is durable (its own, and the ones that made its duplicates duplicates); and an outbox
// entry is sent only once every batch before the send is durable, so that a peer never holds a
// write its origin could still lose, and reuse the sequence number of, in a crash. With fsync
// never, "durable" takes a sync of its own (Syncer, mlDisk.durable): client writes are
// acknowledged unsynced, and can be lost in a crash, but what nodes exchange never is, so the
// cluster converges again after crashes.
type mlCore struct {
	cfg   Config
	env   Env
	stats *Stats
	log   zerolog.Logger
	res   mlResolver
	ids   []string
	disk  mlDisk

	peers map[string]*mlOut // the peers this node sends to
	order []string          // their ids, sorted

	recent []MLConflict
	e2e    map[string]*mlE2E // origin -> end-to-end lags of its writes applied here
	acks   []*mlAckWait      // writes with w > 1 waiting for peer acknowledgements
}

var _ Core = (*mlCore)(nil)

// mlOut is the delivery state of one outbound queue.
type mlOut struct {
	id        string
	next      uint64 // the next outbox place to hand out
	queued    int64
	delivered int64
	failures  int64 // failed delivery attempts since start
	fails     int   // consecutive failed deliveries
	lastLag   time.Duration
	acked     uint64 // outbox place of the last entry acknowledged since start
	lags      lagWindow
	busy      bool // a delivery round is under way (sending, waiting or backing off)
	// cache mirrors the whole outbox while cached: the entries in place order, so a round
	// neither scans nor decodes. An outbox longer than mlCacheMax is read from the Env
	// instead, until it is empty again.
	cache  []mlQ
	cached bool
}

// mlCacheMax is the longest outbox kept in memory (the rest of the time it is read back).
const mlCacheMax = 4 * mlBatch

// mlQ is one outbox entry: its place, what it holds, and its encoded size. mono is when this
// run of the node queued it, on its monotonic clock (Env.Mono), if monoOK: the queue's lags
// and ages are measured on that clock, which clock faults do not move. An entry an earlier
// run queued, or one read back from a long outbox, has only out.Enq, the node's wall clock
// (Env.Now) when it was queued; its lag is measured on that clock.
type mlQ struct {
	place  uint64
	out    outEntry
	size   int64
	mono   time.Duration
	monoOK bool
}

// age is how long q has waited at now (the node's wall clock, in ns) and mono (its monotonic
// clock), never negative.
func (q mlQ) age(now int64, mono time.Duration) time.Duration {
	if q.monoOK {
		return max(0, mono-q.mono)
	}
	return time.Duration(max(0, now-q.out.Enq))
}

// mlStaged is an outbox entry staged in a batch, not yet given to Persist.
type mlStaged struct {
	peer *mlOut
	q    mlQ
}

// mlAckWait is a write waiting for need of the peers at places to acknowledge it.
type mlAckWait struct {
	key    string
	places []mlPlace
	need   int
	done   func(error)
	cancel func()
}

type mlPlace struct {
	peer string
	id   uint64
}

// newMLCore builds the multi-leader core of node cfg.ID on env: it checks (or records) the data
// layout and reads the outboxes; it sends nothing until Start.
func newMLCore(cfg Config, env Env, stats *Stats, log zerolog.Logger) (Core, error) {
	switch cfg.Conflict {
	case ConflictLWW, ConflictCRDT, ConflictSiblings:
	default:
		return nil, fmt.Errorf("store: multi-leader conflict mode %q: want %s, %s or %s", cfg.Conflict, ConflictLWW, ConflictCRDT, ConflictSiblings)
	}
	switch cfg.Topology {
	case TopologyAll, TopologyRing, TopologyStar:
	default:
		return nil, fmt.Errorf("store: multi-leader topology %q: want %s, %s or %s", cfg.Topology, TopologyAll, TopologyRing, TopologyStar)
	}
	c := &mlCore{
		cfg: cfg, env: env, stats: stats, log: log, ids: cfg.NodeIDs(),
		res:   mlResolver{conflict: cfg.Conflict, cons: cfg.RegisterConsistency()},
		disk:  newMLDisk(env, cfg.Fsync),
		peers: map[string]*mlOut{}, e2e: map[string]*mlE2E{},
	}
	if !slices.Contains(c.ids, cfg.ID) {
		return nil, fmt.Errorf("store: node id %q is not among the cluster's ids %v", cfg.ID, c.ids)
	}
	for _, id := range c.ids {
		if id != cfg.ID {
			c.e2e[id] = &mlE2E{}
		}
	}
	c.order = MLOutPeers(cfg.Topology, c.ids, cfg.ID)
	for _, p := range c.order {
		c.peers[p] = &mlOut{id: p}
	}
	if err := c.loadMeta(); err != nil {
		return nil, err
	}
	for _, s := range []string{"ml_write", "ml_applied", "ml_duplicate", "ml_forwarded", "ml_sent",
		"ml_send_failed", "ml_batches", "ml_conflict", "ml_conflict_lww_local_won",
		"ml_conflict_lww_incoming_won", "ml_conflict_siblings_kept", "ml_conflict_merged",
		"ml_siblings_resolved", "ml_kind_conflict", "ml_w_timeout"} {
		stats.counter(s)
	}
	return c, nil
}

// loadMeta checks (or records) the data layout, as the old storage did, and
// reads each outbox's length and last place.
func (c *mlCore) loadMeta() error {
	layout := c.cfg.DataLayout()
	had, err := c.env.Get(string(bucketMeta), []byte("layout"))
	if err != nil {
		return err
	}
	fresh, err := layoutState(had, layout)
	if err != nil {
		return err
	}
	if fresh {
		b := &Batch{Ops: []BatchOp{{Bucket: string(bucketMeta), Key: []byte("layout"), Value: []byte(layout)}}}
		c.disk.persist(b, func(err error) {
			if err != nil {
				c.log.Error().Err(err).Msg("recording the data layout")
			}
		})
	}
	for _, id := range c.order {
		p := c.peers[id]
		p.next = 1
		err := c.env.Scan(string(outboxBucket(id)), nil, func(k, _ []byte) bool {
			p.queued++
			if x := u64val(k); x >= p.next {
				p.next = x + 1
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("store: reading the outbox to %s: %w", id, err)
		}
		p.cached = p.queued == 0
	}
	return nil
}

// stage puts an entry into p's outbox in tx and returns its place; queue counts it once tx
// goes to Persist.
func (c *mlCore) stage(tx *mlTxn, p *mlOut, out outEntry, enc []byte) uint64 {
	id := p.place()
	tx.put(string(outboxBucket(p.id)), u64key(id), enc)
	tx.staged = append(tx.staged, mlStaged{peer: p, q: mlQ{place: id, out: out, size: int64(len(enc)), mono: c.env.Mono(), monoOK: true}})
	return id
}

// queue counts the entries tx staged in the outboxes (called as tx goes to Persist: the Env
// shows them from then on).
func (c *mlCore) queue(tx *mlTxn) {
	for _, st := range tx.staged {
		p := st.peer
		p.queued++
		if !p.cached {
			continue
		}
		if len(p.cache) >= mlCacheMax {
			p.cached, p.cache = false, nil
			continue
		}
		p.cache = append(p.cache, st.q)
	}
}

// Start implements Core: it starts delivering what a previous incarnation left queued.
func (c *mlCore) Start() {
	for _, id := range c.order {
		c.kick(c.peers[id])
	}
}

// ---- writes ----

// Write implements Core: apply op locally and durably, queue it for the peers, acknowledge
// (with w > 1, once w-1 of the peers it was sent to acknowledged it too).
func (c *mlCore) Write(key string, op WriteOp, q Quorums, done func(error)) {
	targets := MLTargets(c.cfg.Topology, c.ids, c.cfg.ID, c.cfg.ID)
	w := q.W
	if w <= 0 {
		w = c.cfg.EffectiveW()
	}
	if w > 1+len(targets) {
		c.stats.Inc("outcome_failed")
		done(&OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(
			"w=%d: this leader sends its writes directly to %d leaders (topology %s), so w can be at most %d",
			w, len(targets), c.cfg.Topology, 1+len(targets))})
		return
	}
	tx := newMLTxn(c.env)
	applied, err := c.applyLocal(tx, key, op, targets)
	if err != nil {
		c.stats.Inc("outcome_failed")
		var ke kindError
		switch {
		case errors.Is(err, ErrCounterOverflow):
			done(&OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("counter %q: %v; nothing changed", key, err)})
		case errors.As(err, &ke):
			c.stats.Inc("ml_kind_conflict")
			done(&OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q: %v", key, ke)})
		default:
			// Nothing was given to Persist: the write was not applied.
			done(&OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
				Msg: fmt.Sprintf("write %q failed: %v", key, err)})
		}
		return
	}
	c.queue(tx)
	var wait *mlAckWait
	if w > 1 {
		wait = &mlAckWait{key: key, places: applied.places, need: w - 1, done: done}
		c.acks = append(c.acks, wait)
		wait.cancel = c.env.After(c.cfg.RequestTimeout, func() { c.ackTimeout(wait) })
	}
	c.disk.persist(&tx.b, func(err error) {
		if err != nil {
			c.stats.Inc("outcome_failed")
			e := &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeIndeterminate,
				Msg: fmt.Sprintf("write %q: storing it failed (%v); it may or may not have been applied", key, err)}
			if wait != nil {
				c.dropAckWait(wait)
			}
			done(e)
			return
		}
		c.stats.Inc("ml_write")
		c.stats.Inc("outcome_ok")
		if applied.resolved {
			c.stats.Inc("ml_siblings_resolved")
		}
		if applied.conflict != nil {
			c.noteConflict(*applied.conflict, applied.event)
		}
		for _, pl := range applied.places {
			c.kick(c.peers[pl.peer])
		}
		if wait == nil {
			done(nil)
			return
		}
		c.checkAcks() // entries are sent once durable, so no peer can have acked yet; but check
	})
}

// mlLocal is what applyLocal did.
type mlLocal struct {
	places   []mlPlace   // the write's place in each target's outbox
	conflict *MLConflict // the write lost at once to the local version (lww)
	event    *Event      // the ml_superseded event of that conflict
	resolved bool        // a register write whose context resolved siblings
}

// applyLocal stages a local write into tx: the merged record, the key's version vector, the
// node's sequence number, its own counter contribution and an entry in each target's outbox.
// It changes nothing if it returns an error.
func (c *mlCore) applyLocal(tx *mlTxn, key string, op WriteOp, targets []string) (mlLocal, error) {
	var out mlLocal
	raw, err := tx.get(string(bucketData), []byte(key))
	if err != nil {
		return out, err
	}
	cur, err := decodeRecord(raw)
	if err != nil {
		return out, err
	}
	if !cur.Empty() && cur.Kind != op.Kind {
		return out, kindError{have: cur.Kind, got: op.Kind}
	}
	deps, err := c.vv(tx, key)
	if err != nil {
		return out, err
	}
	var contrib [2]int64
	whole := c.res.lwwWhole(op.Kind)
	if op.Kind == KindCounter && !whole {
		v, err := tx.get(string(bucketOwn), []byte(key))
		if err != nil {
			return out, err
		}
		if v != nil {
			if err := json.Unmarshal(v, &contrib); err != nil {
				return out, fmt.Errorf("store: corrupt counter contribution: %w", err)
			}
		}
		if err := addContribution(&contrib, op.Delta); err != nil {
			return out, err
		}
	}
	sv, err := tx.get(string(bucketMLMeta), []byte("seq"))
	if err != nil {
		return out, err
	}
	seq := u64val(sv) + 1
	now := c.env.Now()
	stamp := Sibling{TS: now.UnixNano(), Node: c.cfg.ID, Seq: seq}
	var rec Record
	switch {
	case whole && op.Kind == KindCounter:
		rec = Record{Kind: KindCounter, Sibs: []Sibling{stamp}}
		v, err := cur.counterAfter(op.Delta)
		if err == nil && v == math.MinInt64 {
			err = fmt.Errorf("%w: the value would be %d, and one entry holds at most %d", ErrCounterOverflow, v, int64(math.MaxInt64))
		}
		if err != nil {
			return out, err
		}
		switch {
		case v > 0:
			rec.P = map[string]int64{c.cfg.ID: v}
		case v < 0:
			rec.N = map[string]int64{c.cfg.ID: -v}
		}
	case whole && op.Kind == KindSet:
		rec = Record{Kind: KindSet, Elems: sortedUnique(append(append([]string{}, cur.Elems...), op.Elem)), Sibs: []Sibling{stamp}}
	case op.Kind == KindRegister:
		sib := Sibling{Value: op.Value, Node: c.cfg.ID, Seq: seq}
		if c.res.cons == VClock {
			sib.Ctx = op.Causal
		} else {
			sib.TS = stamp.TS
		}
		rec = Record{Kind: KindRegister, Sibs: []Sibling{sib}}
	case op.Kind == KindCounter:
		// No zero entries: Merge drops them on one side only, and digests would differ.
		rec = Record{Kind: KindCounter}
		if contrib[0] != 0 {
			rec.P = map[string]int64{c.cfg.ID: contrib[0]}
		}
		if contrib[1] != 0 {
			rec.N = map[string]int64{c.cfg.ID: contrib[1]}
		}
	case op.Kind == KindSet:
		rec = Record{Kind: KindSet, Elems: []string{op.Elem}}
	default:
		return out, fmt.Errorf("unknown kind %q", op.Kind)
	}
	merged, err := c.res.merge(cur, rec)
	if err != nil {
		return out, err
	}
	if op.Kind == KindCounter {
		// Reads are local: the value this leader answers must stay in int64 range.
		if _, err := merged.CounterValue(); err != nil {
			return out, fmt.Errorf("delta %d: %w", op.Delta, err)
		}
	}
	enc, err := json.Marshal(merged)
	if err != nil {
		return out, err
	}
	vv := deps.Join(VV{c.cfg.ID: seq})
	venc, err := json.Marshal(vv)
	if err != nil {
		return out, err
	}
	e := mlEntry{Origin: c.cfg.ID, Seq: seq, Key: key, Rec: rec, Deps: deps, At: now.UnixNano()}
	oenc, err := json.Marshal(outEntry{E: e, Enq: now.UnixNano()})
	if err != nil {
		return out, err
	}
	// Everything checked: now stage.
	tx.put(string(bucketMLMeta), []byte("seq"), u64key(seq))
	tx.put(string(bucketData), []byte(key), enc)
	tx.put(string(bucketMLVV), []byte(key), venc)
	if op.Kind == KindCounter && !whole {
		cenc, _ := json.Marshal(contrib)
		tx.put(string(bucketOwn), []byte(key), cenc)
	}
	for _, p := range targets {
		id := c.stage(tx, c.peers[p], outEntry{E: e, Enq: now.UnixNano()}, oenc)
		out.places = append(out.places, mlPlace{peer: p, id: id})
	}
	conf, lost, resolved := c.res.detectLocal(key, c.cfg.ID, seq, cur, rec, merged)
	out.resolved = resolved
	if lost {
		conf.At = now
		out.conflict = &conf
		out.event = &Event{Kind: "ml_superseded", Key: key,
			Kept: merged.Version(c.res.cons), Lost: rec.Version(c.res.cons),
			Why: fmt.Sprintf("last writer wins: this write (%s.%d, stamped %d by %s's clock at %s) is older than the version already here (%s); it is discarded at once",
				c.cfg.ID, seq, stamp.TS, c.cfg.ID, now.UTC().Format(time.RFC3339Nano), stampOf(merged))}
	}
	return out, nil
}

// place hands out the next outbox place of p.
func (p *mlOut) place() uint64 {
	if p.next == 0 {
		p.next = 1
	}
	id := p.next
	p.next++
	return id
}

// vv reads the version vector of key's applied writes (empty if none).
func (c *mlCore) vv(tx *mlTxn, key string) (VV, error) {
	raw, err := tx.get(string(bucketMLVV), []byte(key))
	if err != nil {
		return nil, err
	}
	v := VV{}
	if raw == nil {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("store: corrupt version vector of %q: %w", key, err)
	}
	return v, nil
}

// stampOf describes a record's lww stamp for an event: its dot and timestamp, and whose clock
// made it.
func stampOf(r Record) string {
	if len(r.Sibs) == 0 {
		return "no stamp"
	}
	s := r.Sibs[0]
	return fmt.Sprintf("%s.%d, stamped %d by %s's clock", s.Node, s.Seq, s.TS, s.Node)
}

// ---- waiting for peer acknowledgements (w > 1) ----

// checkAcks completes the writes that have the acknowledgements they wait for.
func (c *mlCore) checkAcks() {
	var ready []*mlAckWait
	keep := c.acks[:0]
	for _, a := range c.acks {
		if c.ackCount(a) >= a.need {
			ready = append(ready, a)
		} else {
			keep = append(keep, a)
		}
	}
	clear(c.acks[len(keep):])
	c.acks = keep
	for _, a := range ready {
		a.cancel()
		a.done(nil)
	}
}

func (c *mlCore) ackCount(a *mlAckWait) int {
	got := 0
	for _, pl := range a.places {
		if c.peers[pl.peer].acked >= pl.id {
			got++
		}
	}
	return got
}

// ackTimeout ends a write whose acknowledgements did not come within the request timeout: it
// is applied here and will still replicate, so the outcome is indeterminate.
func (c *mlCore) ackTimeout(a *mlAckWait) {
	if !c.dropAckWait(a) {
		return
	}
	c.stats.Inc("ml_w_timeout")
	a.done(&OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate, Msg: fmt.Sprintf(
		"write %q applied on this leader but acknowledged by %d of the %d other leaders w needs within %s; it will still replicate",
		a.key, c.ackCount(a), a.need, c.cfg.RequestTimeout)})
}

// dropAckWait removes a from the waiting writes; false if it was not there any more.
func (c *mlCore) dropAckWait(a *mlAckWait) bool {
	i := slices.Index(c.acks, a)
	if i < 0 {
		return false
	}
	c.acks = slices.Delete(c.acks, i, i+1)
	a.cancel()
	return true
}

// ---- reads ----

// Read implements Core: reads are local to this leader; q.R is accepted and ignored. The
// record is read at once and answered once every batch persisted before is done.
func (c *mlCore) Read(key, kind string, q Quorums, done func(Record, error)) {
	raw, err := c.env.Get(string(bucketData), []byte(key))
	var rec Record
	if err == nil {
		rec, err = decodeRecord(raw)
	}
	if err != nil {
		c.stats.Inc("outcome_failed")
		done(Record{}, &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()})
		return
	}
	if !rec.Empty() && rec.Kind != kind {
		c.stats.Inc("outcome_failed")
		done(Record{}, &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q holds a %s, not a %s", key, rec.Kind, kind)})
		return
	}
	c.disk.barrier(func() {
		c.stats.Inc("outcome_ok")
		if len(rec.Sibs) > 1 {
			c.stats.Inc("siblings_returned")
		}
		done(rec, nil)
	})
}

// ---- conflicts ----

// noteConflict counts a conflict, keeps it for /admin/stats and reports ev, if given, as an
// event (apply reports its own).
func (c *mlCore) noteConflict(conf MLConflict, ev *Event) {
	c.stats.Inc("ml_conflict")
	switch conf.Resolution {
	case "lww-local-won":
		c.stats.Inc("ml_conflict_lww_local_won")
	case "lww-incoming-won":
		c.stats.Inc("ml_conflict_lww_incoming_won")
	case "siblings-kept":
		c.stats.Inc("ml_conflict_siblings_kept")
	default:
		c.stats.Inc("ml_conflict_merged")
	}
	if conf.At.IsZero() {
		conf.At = c.env.Now()
	}
	c.log.Debug().Str("key", conf.Key).Str("origin", conf.Origin).Str("resolution", conf.Resolution).
		Strs("kept", conf.Kept).Strs("lost", conf.Lost).Msg("conflict")
	c.recent = append(c.recent, conf)
	if len(c.recent) > mlRecent {
		c.recent = append([]MLConflict{}, c.recent[len(c.recent)-mlRecent:]...)
	}
	if ev != nil {
		c.env.Event(*ev)
	}
}

// ---- stats ----

// Stats implements Core: the mode's structured stats, with the names the goroutine mode's stats had
// for them. Which clocks the lags are measured on (docs/API.md, multi-leader stats): a
// queue's lags and its oldest entry's age on this node's monotonic clock (mlQ), so a clock
// fault does not show in them; the end-to-end lags ("ml_e2e") compare this node's wall clock
// when it applied a write with the origin's when it made it. The nodes share no clock, so
// those include the difference between the two nodes' clocks (offsets and drift, a clock
// fault's skew), and are clamped at 0 when the receiver's clock is behind. The old
// goroutine-based Multileader compared the host's real clock there; its nodes all ran on one
// host clock, which a simulated (or a real, distributed) cluster does not have.
func (c *mlCore) Stats() map[string]any {
	peers := map[string]MLPeerStats{}
	var total int64
	var worst float64
	now, mono := c.env.Now().UnixNano(), c.env.Mono()
	for _, id := range c.order {
		p := c.peers[id]
		s := MLPeerStats{Queue: p.queued, LastLagMS: mlMS(p.lastLag), Delivered: p.delivered, SendFailures: p.failures}
		var head []mlQ
		if p.cached {
			head = p.cache[:min(1, len(p.cache))]
		} else if h, err := c.peekOutbox(id, 1); err == nil {
			head = h
		}
		if len(head) > 0 {
			s.OldestAgeMS = mlMS(head[0].age(now, mono))
		}
		p50, p99 := p.lags.percentiles()
		s.LagP50MS, s.LagP99MS = mlMS(p50), mlMS(p99)
		total += s.Queue
		worst = max(worst, s.LagP99MS)
		peers[id] = s
	}
	e2e := map[string]MLE2EStats{}
	var worstE2E float64
	for origin, w := range c.e2e { // builds a map: order does not matter
		p50, p99 := w.lags.percentiles()
		s := MLE2EStats{LastMS: mlMS(w.last), P50MS: mlMS(p50), P99MS: mlMS(p99), Samples: w.samples}
		worstE2E = max(worstE2E, s.P99MS)
		e2e[origin] = s
	}
	return map[string]any{
		"conflict": c.cfg.Conflict, "topology": c.cfg.Topology,
		"ml_peers": peers, "ml_queue_total": total, "ml_lag_p99_ms": worst,
		"ml_e2e": e2e, "ml_e2e_lag_p99_ms": worstE2E,
		"ml_recent_conflicts": slices.Clone(c.recent),
	}
}
