package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// llCore is the leaderless (Dynamo-style) replication mode as a deterministic core (env.go):
// the behaviour of the goroutine-based mode it replaced, with every goroutine turned into a
// callback of its Env. The decisions stay in the pure decide_*.go functions.
//
// Files: this one holds the state, the client operations and the receiving side;
// core_leaderless_write.go the replicated write; core_leaderless_read.go reads and repairs;
// core_leaderless_bg.go hint delivery, probes and anti-entropy; core_leaderless_storage.go the
// local storage on the Env.
type llCore struct {
	cfg   Config
	env   Env
	stats *Stats
	log   zerolog.Logger
	n     int
	ring  *Ring
	ir    *internalRules

	suspect suspicion          // peers that failed their last call; cleared by an answer
	trees   map[string]*Merkle // peer -> Merkle tree of the keys both replicate
	peers   []string           // the other nodes, sorted (the anti-entropy order)
	aeNext  int

	persistSeq uint64                 // numbers the writes handed to Persist
	pending    map[string][]uint64    // data key -> its writes handed to Persist and not yet done, in order
	waiters    map[string][]keyWaiter // data key -> what waits for some of them
	recs       recordCache            // decoded data records (core_leaderless_storage.go)

	seq, seqHigh uint64
	seqWait      []func(uint64, error)
	seqReserving bool

	hintBusy, aeBusy bool // a hint round (with its probes) or an anti-entropy round runs
	newDir           bool // the data dir records no layout yet: Start writes it
}

var _ Core = (*llCore)(nil)

// Statuses of the errors the core answers (the shell maps them onto HTTP; they are HTTP's).
const (
	statusBadRequest  = 400
	statusConflict    = 409
	statusInternal    = 500
	statusUnavailable = 503
	statusTimeout     = 504
)

func newLLCore(cfg Config, env Env, stats *Stats, log zerolog.Logger) (*llCore, error) {
	c := &llCore{
		cfg: cfg, env: env, stats: stats, log: log,
		n: cfg.EffectiveN(), ring: NewRing(cfg.NodeIDs(), cfg.VNodes), ir: rulesFor(cfg),
		trees: map[string]*Merkle{}, pending: map[string][]uint64{}, waiters: map[string][]keyWaiter{},
	}
	for _, p := range cfg.NodeIDs() {
		if p != cfg.ID {
			c.trees[p] = &Merkle{}
			c.peers = append(c.peers, p)
		}
	}
	stats.counter("hint_refused") // listed from the start, like the others (statNames)
	if err := c.loadMeta(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	err := env.Scan(string(bucketData), nil, func(k, v []byte) bool {
		c.updateTrees(string(k), 0, digestBytes(v))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("store: building Merkle trees: %w", err)
	}
	return c, nil
}

// Start arms hint delivery (with the probes of suspected peers) and anti-entropy.
func (c *llCore) Start() {
	if c.newDir {
		layout := c.cfg.DataLayout()
		c.persist(nil, &Batch{Ops: []BatchOp{put(bucketMeta, []byte("layout"), []byte(layout))}}, func(err error) {
			if err != nil {
				c.log.Error().Err(err).Msg("recording the data layout")
			}
		})
	}
	c.env.After(c.cfg.HintInterval, c.hintTick)
	if c.cfg.AntiEntropy > 0 {
		c.env.After(c.cfg.AntiEntropy, c.aeTick)
	}
}

// Stats adds nothing: every leaderless figure is a Stats counter (as in the goroutine mode before it, which had
// no extra stats either).
func (c *llCore) Stats() map[string]any { return map[string]any{} }

// updateTrees moves key's contribution in the trees of its co-replicas from the old digest to
// the new one (0 = absent).
func (c *llCore) updateTrees(key string, old, cur uint64) {
	if old == cur {
		return
	}
	for _, p := range c.ring.PrefList(key, c.n) {
		if t, ok := c.trees[p]; ok {
			t.UpdateDigests(key, old, cur)
		}
	}
}

func (c *llCore) isSuspect(p string) bool { return c.suspect.suspected(p) }

// call is Env.Call plus the failure detector's bookkeeping; done gets the answer as an Answer
// too.
func (c *llCore) call(peer string, req Request, timeout time.Duration, done func(ans any, a Answer, err error)) {
	if timeout <= 0 {
		// The operation's deadline passed: nothing is sent and nothing is learnt of the peer.
		done(nil, AnswerNoReply, &replicaError{peer: peer, err: errors.New("deadline passed before the call")})
		return
	}
	c.env.Call(peer, req, timeout, func(ans any, err error) {
		a := answerOf(err)
		c.suspect.observe(peer, a, false)
		done(ans, a, err)
	})
}

// applyLocal merges rec into this node's replica of key (replica_write and the other counters
// as the goroutine mode counted them); done once durable.
func (c *llCore) applyLocal(key string, rec Record, done func(mergeResult, error)) {
	c.merge(key, rec, func(res mergeResult, err error) {
		if err != nil {
			var ke kindError
			if errors.As(err, &ke) {
				c.stats.Inc("replica_kind_conflict")
			}
			done(res, err)
			return
		}
		c.stats.Inc("replica_write")
		if res.Changed {
			c.stats.Inc("replica_write_changed")
			if rec.Kind != KindRegister && res.OldDigest != 0 {
				c.stats.Inc("crdt_merge")
			}
		}
		done(res, nil)
	})
}

// explain reports what a merge of in into old (giving cur) decided: an lww write discarded, or
// vclock siblings created.
func (c *llCore) explain(key string, old, in, cur Record) {
	if old.Empty() || in.Empty() || old.Kind != KindRegister || in.Kind != KindRegister || len(in.Sibs) == 0 || len(old.Sibs) == 0 {
		return
	}
	switch c.cfg.Consistency {
	case LWW:
		kept, lost := cur.Sibs[0], in.Sibs[0]
		if lost.Node == kept.Node && lost.Seq == kept.Seq {
			return // the incoming version won (or was already here)
		}
		c.env.Event(Event{Kind: "lww_discard", Key: key, Peer: lost.Node,
			Kept: cur.Version(c.cfg.Consistency), Lost: in.Version(c.cfg.Consistency),
			Why: fmt.Sprintf("incoming version ts=%d (made by %s, seq %d) is older than the stored ts=%d (made by %s, seq %d) by %s",
				lost.TS, lost.Node, lost.Seq, kept.TS, kept.Node, kept.Seq, tsGap(kept.TS, lost.TS))})
	case VClock:
		if len(cur.Sibs) > 1 && len(cur.Sibs) > len(old.Sibs) {
			c.env.Event(Event{Kind: "siblings", Key: key, Peer: in.Sibs[0].Node,
				Kept: cur.Version(VClock), Lost: old.Version(VClock),
				Why: fmt.Sprintf("concurrent write %s.%d kept beside %d sibling(s): %d now", in.Sibs[0].Node, in.Sibs[0].Seq, len(old.Sibs), len(cur.Sibs))})
		}
	}
}

// tsGap describes how far apart two lww timestamps (unix ns) are.
func tsGap(a, b int64) string {
	if a >= b {
		return time.Duration(a - b).String()
	}
	return "-" + time.Duration(b-a).String()
}

// opErr is a failed operation's answer.
func opErr(status int, outcome, format string, args ...any) *OpError {
	return &OpError{Status: status, Outcome: outcome, Msg: fmt.Sprintf(format, args...)}
}

// ---- client operations ----

// quorums fills in the node defaults where q names none.
func (c *llCore) quorums(q Quorums) Quorums {
	if q.W == 0 {
		q.W = c.cfg.EffectiveW()
	}
	if q.R == 0 {
		q.R = c.cfg.EffectiveR()
	}
	return q
}

// Write implements Core.
func (c *llCore) Write(key string, op WriteOp, q Quorums, done func(error)) {
	q = c.quorums(q)
	w := q.W
	switch op.Kind {
	case KindRegister:
		if c.cfg.Consistency == VClock {
			c.writeVClock(key, op, w, done)
			return
		}
		c.nextSeq(func(seq uint64, err error) {
			if err != nil {
				done(opErr(statusInternal, client.OutcomeFailed, "%v", err))
				return
			}
			sib := Sibling{Value: op.Value, Node: c.cfg.ID, Seq: seq}
			if c.cfg.Consistency == LWW {
				sib.TS = c.env.Now().UnixNano()
				c.replicate(key, Record{Kind: KindRegister, Sibs: []Sibling{sib}}, w, false, false, done)
				return
			}
			// abd: the query phase finds the highest version a read quorum has seen.
			c.stats.Inc("abd_query")
			c.gather(key, q.R, func(resps map[string]Record, err error) {
				if err != nil {
					c.stats.Inc("outcome_failed")
					done(opErr(statusUnavailable, client.OutcomeFailed, "abd write %q failed in its query phase (nothing written): %v", key, err))
					return
				}
				sib.TS = abdNextTS(sortedAnswers(resps))
				c.replicate(key, Record{Kind: KindRegister, Sibs: []Sibling{sib}}, w, false, false, done)
			}, nil)
		})
	case KindCounter:
		c.readLocal(key, func(cur Record, err error) {
			if err != nil {
				done(opErr(statusInternal, client.OutcomeFailed, "counter %q: %v", key, err))
				return
			}
			if cur.Kind == KindCounter {
				if _, err := cur.counterAfter(op.Delta); err != nil {
					done(opErr(statusBadRequest, "", "counter %q: %v; nothing changed", key, err))
					return
				}
			}
			c.addOwn(key, op.Delta, func(p, n int64, err error) {
				switch {
				case errors.Is(err, ErrCounterOverflow):
					done(opErr(statusBadRequest, "", "counter %q: %v; nothing changed", key, err))
					return
				case err != nil:
					done(opErr(statusInternal, client.OutcomeFailed, "%v", err))
					return
				}
				rec := Record{Kind: KindCounter, P: map[string]int64{c.cfg.ID: p}, N: map[string]int64{c.cfg.ID: n}}
				// The contribution is durable here and rides along with the next increment:
				// once bumped, the increment is never "definitely not applied".
				c.replicate(key, rec, w, true, false, done)
			})
		})
	case KindSet:
		c.replicate(key, Record{Kind: KindSet, Elems: []string{op.Elem}}, w, false, false, done)
	default:
		done(opErr(statusBadRequest, "", "unknown kind %s", op.Kind))
	}
}

// writeVClock coordinates a vclock write on a replica: the next
// dot of this node for the key, merged locally, then the whole merged record sent on. A node
// that does not replicate the key forwards the write.
func (c *llCore) writeVClock(key string, op WriteOp, w int, done func(error)) {
	if !c.ring.IsReplica(key, c.n, c.cfg.ID) {
		c.forwardWrite(key, op, w, done)
		return
	}
	local, _, err := c.getRecord(key)
	var rec Record
	if err == nil {
		rec, err = vclockWrite(local, c.cfg.ID, op.Value, op.Causal)
	}
	fail := func(err error) {
		c.stats.Inc("outcome_failed")
		var ke kindError
		if errors.As(err, &ke) {
			done(opErr(statusConflict, "", "key %q: %v", key, ke))
			return
		}
		done(opErr(statusInternal, client.OutcomeFailed, "%v", err))
	}
	if err != nil {
		fail(err)
		return
	}
	c.applyLocal(key, rec, func(res mergeResult, err error) {
		if err != nil {
			fail(err)
			return
		}
		// Applied here: from now on the write may become visible, so it is never "failed".
		c.replicate(key, res.Cur, w, true, true, done)
	})
}

// forwardWrite hands a vclock write to the first replica that takes it.
func (c *llCore) forwardWrite(key string, op WriteOp, w int, done func(error)) {
	deadline := c.env.Mono() + c.cfg.RequestTimeout
	c.stats.Inc("vclock_forward")
	req := coordinateReq{Key: key, Value: op.Value, Context: op.Causal.String(), W: w}
	order := forwardOrder(c.ring.PrefList(key, c.n), c.isSuspect)
	var try func(i int, last error)
	try = func(i int, last error) {
		if i == len(order) {
			c.stats.Inc("outcome_failed")
			done(opErr(statusUnavailable, client.OutcomeFailed, "write %q failed: no replica took it: %v", key, last))
			return
		}
		p := order[i]
		c.call(p, req, deadline-c.env.Mono(), func(_ any, a Answer, err error) {
			switch forwardFate(a) {
			case forwardDone:
				done(nil)
			case forwardRelay:
				var re *replicaError
				errors.As(err, &re) // every answer is a *replicaError
				done(&OpError{Status: re.status, Outcome: re.outcome, Msg: fmt.Sprintf("via %s: %s", p, re.msg)})
			case forwardIndeterminate:
				c.stats.Inc("outcome_indeterminate")
				done(opErr(statusTimeout, client.OutcomeIndeterminate, "write %q forwarded to replica %s: no answer: %v; it may have been applied", key, p, err))
			default:
				try(i+1, err)
			}
		})
	}
	try(0, nil)
}

// ---- the receiving side (the /internal/... requests, through Handle) ----

// Handle implements Core.
func (c *llCore) Handle(from string, req Request, reply func(any, error)) {
	switch r := req.(type) {
	case readReq:
		req = &r
	case writeReq:
		req = &r
	case coordinateReq:
		req = &r
	case treeReq:
		req = &r
	case syncReq:
		req = &r
	case pingReq:
		req = &r
	}
	switch r := req.(type) {
	case *readReq:
		c.stats.Inc("replica_read")
		c.readLocal(r.Key, func(rec Record, err error) {
			if err != nil {
				reply(nil, opErr(statusInternal, "", "%v", err))
				return
			}
			reply(&readResp{Record: rec}, nil)
		})
	case *writeReq:
		c.handleWrite(r, reply)
	case *coordinateReq:
		c.handleCoordinate(r, reply)
	case *pingReq:
		reply(nil, nil)
	case *treeReq:
		t, ok := c.trees[from]
		if !ok {
			reply(nil, opErr(statusBadRequest, "", "no Merkle tree for peer %s", from))
			return
		}
		var resp treeResp
		if len(r.Inner) == 0 {
			resp.Inner = t.Inner()
		} else {
			resp.Leaves = t.LeavesUnder(r.Inner)
		}
		reply(&resp, nil)
	case *syncReq:
		c.handleSync(from, r, reply)
	default:
		reply(nil, opErr(statusBadRequest, "", "leaderless node: no internal request %T", req))
	}
}

// statusOf is the status a replica answers for a failed local apply.
func statusOf(err error) int {
	var ke kindError
	if errors.As(err, &ke) {
		return statusConflict
	}
	return statusInternal
}

func (c *llCore) handleWrite(r *writeReq, reply func(any, error)) {
	if r.HintFor != "" {
		// A hint must be for a replica of the key: delivery hands it to that node as a
		// direct write, which a non-replica would refuse, and the hint would never leave.
		if !c.ring.IsReplica(r.Key, c.n, r.HintFor) {
			reply(nil, opErr(statusBadRequest, "", "hint_for %q does not replicate key %q", r.HintFor, r.Key))
			return
		}
		c.storeHint(r.Key, r.HintFor, r.Record, func(err error) {
			if err != nil {
				reply(nil, opErr(statusOf(err), "", "%v", err))
				return
			}
			c.stats.Inc("hint_stored")
			c.env.Event(Event{Kind: "hint_stored", Key: r.Key, Peer: r.HintFor, Kept: r.Record.Version(c.cfg.Consistency),
				Why: "a fallback holds the write for replica " + r.HintFor})
			reply(nil, nil)
		})
		return
	}
	// Without a sloppy quorum only replicas get direct writes. With one, read repair also
	// writes to the fallbacks a sloppy read asked.
	if !c.cfg.SloppyQuorum && !c.ring.IsReplica(r.Key, c.n, c.cfg.ID) {
		reply(nil, opErr(statusBadRequest, "", "this node (%s) does not replicate key %q", c.cfg.ID, r.Key))
		return
	}
	c.applyLocal(r.Key, r.Record, func(_ mergeResult, err error) {
		if err != nil {
			reply(nil, opErr(statusOf(err), "", "%v", err))
			return
		}
		reply(nil, nil)
	})
}

func (c *llCore) handleCoordinate(r *coordinateReq, reply func(any, error)) {
	vv, err := ParseContext(r.Context)
	switch {
	case err != nil:
		reply(nil, opErr(statusBadRequest, "", "forwarded write: %v", err))
		return
	case r.W < 1 || r.W > c.n:
		reply(nil, opErr(statusBadRequest, "", "forwarded write: w %d out of range 1..%d", r.W, c.n))
		return
	case c.cfg.Consistency != VClock:
		reply(nil, opErr(statusBadRequest, "", "forwarded write: this node's registers are %s, not vclock", c.cfg.Consistency))
		return
	case !c.ring.IsReplica(r.Key, c.n, c.cfg.ID):
		reply(nil, opErr(statusBadRequest, "", "forwarded write: this node (%s) does not replicate key %q", c.cfg.ID, r.Key))
		return
	}
	c.writeVClock(r.Key, WriteOp{Kind: KindRegister, Value: r.Value, Causal: vv}, r.W, func(err error) {
		if err != nil {
			reply(nil, err)
			return
		}
		reply(nil, nil)
	})
}

func (c *llCore) handleSync(from string, r *syncReq, reply func(any, error)) {
	keys := make([]string, 0, len(r.Records))
	for k := range r.Records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	left := 1 // the applies below, plus this function
	finish := func() {
		left--
		if left > 0 {
			return
		}
		var recs map[string]Record
		if len(r.Leaves) > 0 { // else a push only
			var err error
			if recs, err = c.recordsIn(r.Leaves, from); err != nil {
				reply(nil, opErr(statusInternal, "", "%v", err))
				return
			}
		}
		page, next := c.packRecords(recs, r.After, from)
		c.stats.Add("ae_keys_sent", int64(len(page)))
		reply(&syncResp{Records: page, Next: next}, nil)
	}
	for _, key := range keys {
		if !c.ring.IsReplica(key, c.n, c.cfg.ID) {
			continue
		}
		c.stats.Inc("ae_keys_received")
		left++
		c.applySyncedKey(from, key, r.Records[key], finish)
	}
	finish()
}

// applySyncedKey applies one record an anti-entropy exchange brought; then calls next.
func (c *llCore) applySyncedKey(peer, key string, rec Record, next func()) {
	c.applyLocal(key, rec, func(res mergeResult, err error) {
		if err == nil && res.Changed {
			c.stats.Inc("ae_keys_repaired")
			c.env.Event(Event{Kind: "ae_transfer", Key: key, Peer: peer, Kept: res.Cur.Version(c.cfg.Consistency),
				Why: "anti-entropy with " + peer + " changed this replica"})
		}
		next()
	})
}

// packRecords is the page of recs (for peer) after key after that fits
// one request's record budget, and the key to continue after ("" on the last page).
func (c *llCore) packRecords(recs map[string]Record, after, peer string) (map[string]Record, string) {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		if k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	budget := recordBudget(c.cfg.MaxBodyBytes)
	page := map[string]Record{}
	var used int64
	for i, k := range keys {
		size := encodedSize(k) + encodedSize(recs[k]) + 2
		if size > budget {
			c.stats.Inc("ae_record_too_large")
			c.log.Warn().Str("key", k).Str("peer", peer).Int64("bytes", size).Int64("budget", budget).
				Msg("anti-entropy: a record larger than an internal request's budget is not sent")
			continue
		}
		if used+size > budget && len(page) > 0 {
			return page, keys[i-1]
		}
		page[k] = recs[k]
		used += size
	}
	return page, ""
}
