package store

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/faultline/faultline/client"
)

// route and answer make mlApplyReq an internal Request (env.go).
func (mlApplyReq) route() string { return "/internal/ml/apply" }
func (mlApplyReq) answer() any   { return &mlApplyResp{} }

var _ Request = mlApplyReq{}

// multileaderRequest returns a new zero value of the multi-leader request served at route (a
// pointer, ready to decode a body into), or nil if route is not one of them.
func multileaderRequest(route string) Request {
	switch route {
	case "/internal/ml/apply":
		return &mlApplyReq{}
	case "/internal/ping":
		return &pingReq{}
	}
	return nil
}

// ---- delivery ----

// kick starts a delivery round to p unless one is under way (a round looks at the queue again
// before it ends, so nothing queued meanwhile waits for the next kick).
func (c *mlCore) kick(p *mlOut) {
	if p.busy {
		return
	}
	p.busy = true
	c.round(p)
}

// round sends the head of p's outbox as one batch, within the peer's body limit, once every
// batch persisted before is durable; it ends when the outbox is empty.
func (c *mlCore) round(p *mlOut) {
	var batch []mlQ
	if p.cached {
		batch = p.cache[:min(len(p.cache), mlBatch)]
	} else {
		var err error
		if batch, err = c.peekOutbox(p.id, mlBatch); err != nil {
			c.log.Error().Err(err).Str("peer", p.id).Msg("reading outbox")
			c.env.After(mlMaxBack, func() { c.round(p) })
			return
		}
	}
	if len(batch) == 0 {
		p.busy = false
		return
	}
	batch = fitQueued(batch, recordBudget(c.cfg.MaxBodyBytes))
	// The entries, their records and the sequence numbers they carry are made durable before
	// a peer sees them (with fsync never too: see Syncer), so that a crash never takes back,
	// and a restart never reuses, what a peer already holds.
	c.disk.durable(func(err error) {
		if err != nil {
			c.log.Error().Err(err).Str("peer", p.id).Msg("syncing the outbox before a delivery")
			p.fails++
			c.env.After(backoff{first: mlBackoff, max: mlMaxBack}.delay(p.fails, nil), func() { c.round(p) })
			return
		}
		c.send(p, batch)
	})
}

// fitQueued keeps the longest prefix of batch whose encoded entries fit the record budget of
// one request, and at least one entry (fitEntries' rule; an entry's size is that of its
// outbox encoding, a little more than the entry's own).
func fitQueued(batch []mlQ, budget int64) []mlQ {
	var used int64
	for i, q := range batch {
		if i > 0 && used+q.size+1 > budget {
			return batch[:i]
		}
		used += q.size + 1
	}
	return batch
}

// peekOutbox returns up to n entries at the head of peer's outbox, read from the Env.
func (c *mlCore) peekOutbox(peer string, n int) ([]mlQ, error) {
	var out []mlQ
	var bad error
	err := c.env.Scan(string(outboxBucket(peer)), nil, func(k, v []byte) bool {
		var o outEntry
		if err := json.Unmarshal(v, &o); err != nil {
			bad = fmt.Errorf("store: corrupt outbox entry for %s: %w", peer, err)
			return false
		}
		out = append(out, mlQ{place: u64val(k), out: o, size: int64(len(v))})
		return len(out) < n
	})
	if err == nil {
		err = bad
	}
	return out, err
}

// send delivers batch to p; on success the entries leave the outbox, on failure the round is
// retried after the backoff (20 ms doubling to 1 s, decide_ml.go).
func (c *mlCore) send(p *mlOut, batch []mlQ) {
	req := &mlApplyReq{Entries: make([]mlEntry, len(batch))}
	for i, q := range batch {
		req.Entries[i] = q.out.E
	}
	c.env.Call(p.id, req, c.cfg.RequestTimeout, func(_ any, err error) {
		c.stats.Inc("ml_batches")
		if err != nil {
			p.failures++
			p.fails++
			c.stats.Inc("ml_send_failed")
			c.env.After(backoff{first: mlBackoff, max: mlMaxBack}.delay(p.fails, nil), func() { c.round(p) })
			return
		}
		p.fails = 0
		tx := newMLTxn(c.env)
		for _, q := range batch {
			tx.del(string(outboxBucket(p.id)), u64key(q.place))
		}
		// Not waited for: if the deletion is lost, the entries are sent again and the peer
		// drops them as duplicates.
		c.disk.persist(&tx.b, func(err error) {
			if err != nil {
				c.log.Error().Err(err).Str("peer", p.id).Msg("removing delivered entries")
			}
		})
		p.acked = batch[len(batch)-1].place
		p.queued -= int64(len(batch))
		switch {
		case p.cached: // the batch is the cache's head: entries are only ever appended
			p.cache = p.cache[len(batch):]
		case p.queued == 0: // empty again: the cache mirrors it from here on
			p.cached, p.cache = true, nil
		}
		now, mono := c.env.Now().UnixNano(), c.env.Mono()
		p.delivered += int64(len(batch))
		c.stats.Add("ml_sent", int64(len(batch)))
		for _, q := range batch {
			lag := q.age(now, mono)
			p.lags.add(lag)
			p.lastLag = lag
		}
		c.checkAcks()
		c.round(p)
	})
}

// ---- the receiving side ----

// Handle implements Core: ml/apply batches from peers, and pings.
func (c *mlCore) Handle(from string, req Request, reply func(answer any, err error)) {
	switch r := req.(type) {
	case *mlApplyReq:
		c.apply(from, r.Entries, reply)
	case mlApplyReq:
		c.apply(from, r.Entries, reply)
	case *pingReq, pingReq:
		reply(nil, nil)
	default:
		reply(nil, &OpError{Status: http.StatusNotFound, Msg: fmt.Sprintf("a multi-leader node does not serve %s", req.route())})
	}
}

// apply applies a batch from peer from, in order, each entry at most once, and queues the
// entries this node forwards, all in one Persist batch; it answers what it did once that batch
// and every one before it is done.
func (c *mlCore) apply(from string, entries []mlEntry, reply func(answer any, err error)) {
	var resp mlApplyResp
	var confs []MLConflict
	var events []Event
	var lags []mlLag
	fwd := map[string]int{}
	kindConflicts := 0
	tx := newMLTxn(c.env)
	now := c.env.Now()
	fail := func(err error) {
		reply(nil, &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()})
	}
	// Only storage errors fail the whole batch (nothing is persisted); a corrupt record is skipped.
	for _, e := range entries {
		av, err := tx.get(string(bucketMLApplied), []byte(e.Origin))
		if err != nil {
			fail(err)
			return
		}
		if mlDuplicate(c.cfg.ID, e, u64val(av)) {
			resp.Duplicates++
			continue
		}
		tx.put(string(bucketMLApplied), []byte(e.Origin), u64key(e.Seq))
		resp.Applied++
		if e.At != 0 {
			lags = append(lags, mlLag{e.Origin, time.Duration(max(0, now.UnixNano()-e.At))})
		}
		for _, p := range MLTargets(c.cfg.Topology, c.ids, c.cfg.ID, e.Origin) {
			if p == from || c.peers[p] == nil {
				continue
			}
			out := outEntry{E: e, Enq: now.UnixNano()}
			enc, err := json.Marshal(out)
			if err != nil {
				fail(err)
				return
			}
			c.stage(tx, c.peers[p], out, enc)
			fwd[p]++
		}
		raw, err := tx.get(string(bucketData), []byte(e.Key))
		if err != nil {
			fail(err)
			return
		}
		cur, err := decodeRecord(raw)
		if err != nil {
			c.log.Error().Err(err).Str("key", e.Key).Msg("skipping a replicated write")
			continue
		}
		if kindConflict(cur, e.Rec) {
			kindConflicts++
			continue
		}
		vv, err := c.vv(tx, e.Key)
		if err != nil {
			c.log.Error().Err(err).Str("key", e.Key).Msg("skipping a replicated write")
			continue
		}
		merged, err := c.res.merge(cur, e.Rec)
		if err != nil {
			continue
		}
		enc, err := json.Marshal(merged)
		if err != nil {
			fail(err)
			return
		}
		tx.put(string(bucketData), []byte(e.Key), enc)
		// Each entry is reported as applied or, when last-writer-wins discarded it, as
		// superseded; a conflict it met is reported beside.
		applied := Event{Kind: "ml_applied", Key: e.Key, Peer: e.Origin, Kept: merged.Version(c.res.cons),
			Why: fmt.Sprintf("write %s.%d from %s, received from %s", e.Origin, e.Seq, e.Origin, from)}
		if conf, ok := c.res.detect(e, cur, merged, vv); ok {
			conf.At = now
			confs = append(confs, conf)
			if conf.Resolution != "lww-local-won" {
				events = append(events, applied)
			}
			events = append(events, c.conflictEvent(conf, e, cur, merged))
		} else if ev, ok := c.skewDiscard(e, cur, merged); ok {
			events = append(events, ev)
		} else {
			events = append(events, applied)
		}
		venc, err := json.Marshal(appliedVV(vv, e))
		if err != nil {
			fail(err)
			return
		}
		tx.put(string(bucketMLVV), []byte(e.Key), venc)
	}
	var perr error
	if len(tx.b.Ops) > 0 {
		c.queue(tx)
		c.disk.persist(&tx.b, func(err error) { perr = err })
	}
	// Durable before the answer (with fsync never too: see Syncer): the sender drops what it
	// is told was applied, and this node must not lose it, nor the entries it forwards.
	c.disk.durable(func(serr error) {
		if perr == nil {
			perr = serr
		}
		if perr != nil {
			reply(nil, &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeIndeterminate,
				Msg: fmt.Sprintf("storing the batch failed: %v", perr)})
			return
		}
		c.noteE2E(lags)
		c.stats.Add("ml_applied", int64(resp.Applied))
		c.stats.Add("ml_duplicate", int64(resp.Duplicates))
		c.stats.Add("ml_kind_conflict", int64(kindConflicts))
		for _, conf := range confs {
			c.noteConflict(conf, nil)
		}
		for _, ev := range events {
			c.env.Event(ev)
		}
		for _, p := range c.order {
			if n := fwd[p]; n > 0 {
				c.stats.Add("ml_forwarded", int64(n))
				c.kick(c.peers[p])
			}
		}
		reply(&resp, nil)
	})
}

// conflictEvent reports a conflict an incoming entry e met: ml_superseded when last-writer-wins
// discarded one side (both versions, both stamps and the clocks that made them), else
// ml_conflict (siblings kept, or CRDTs merged).
func (c *mlCore) conflictEvent(conf MLConflict, e mlEntry, cur, merged Record) Event {
	ev := Event{Kind: "ml_conflict", Key: e.Key, Peer: e.Origin, Kept: merged.Version(c.res.cons)}
	switch conf.Resolution {
	case "lww-incoming-won":
		ev.Kind, ev.Lost = "ml_superseded", cur.Version(c.res.cons)
		ev.Why = fmt.Sprintf("last writer wins: the incoming write (%s) is newer than the version here (%s), which is discarded; the two were concurrent",
			stampOf(e.Rec), stampOf(cur))
	case "lww-local-won":
		ev.Kind, ev.Lost = "ml_superseded", e.Rec.Version(c.res.cons)
		ev.Why = fmt.Sprintf("last writer wins: the incoming write (%s) is older than the version here (%s) and is discarded; the two were concurrent",
			stampOf(e.Rec), stampOf(cur))
	case "siblings-kept":
		ev.Why = fmt.Sprintf("concurrent write %s.%d from %s kept beside the version here: %d siblings", e.Origin, e.Seq, e.Origin, len(merged.Sibs))
	default:
		ev.Why = fmt.Sprintf("concurrent write %s.%d from %s merged (%s)", e.Origin, e.Seq, e.Origin, e.Rec.Kind)
	}
	return ev
}

// skewDiscard reports an incoming lww write that was not concurrent with the version here (its
// origin had seen that version) and still lost to it: stamped earlier by a clock behind the one
// that stamped the version here. Not a conflict (no stat counts it), but a write discarded.
func (c *mlCore) skewDiscard(e mlEntry, cur, merged Record) (Event, bool) {
	if !c.res.lww(e.Rec.Kind) || cur.Empty() || len(merged.Sibs) == 0 || len(e.Rec.Sibs) == 0 ||
		sameDot(merged.Sibs[0], e.Rec.Sibs[0]) {
		return Event{}, false
	}
	return Event{Kind: "ml_superseded", Key: e.Key, Peer: e.Origin, Kept: merged.Version(c.res.cons), Lost: e.Rec.Version(c.res.cons),
		Why: fmt.Sprintf("last writer wins: the incoming write (%s) came after the version here (%s), whose write its origin had seen, but is stamped earlier: the clocks disagree, and it is discarded",
			stampOf(e.Rec), stampOf(cur))}, true
}

// noteE2E records a batch's end-to-end lags.
func (c *mlCore) noteE2E(lags []mlLag) {
	for _, s := range lags {
		o := c.e2e[s.origin]
		if o == nil { // an origin outside the configured ids: still report it
			o = &mlE2E{}
			c.e2e[s.origin] = o
		}
		o.lags.add(s.lag)
		o.last = s.lag
		o.samples++
	}
}
