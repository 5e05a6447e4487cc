package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/rs/zerolog"
)

// Internal wire types.
type (
	readReq struct {
		Key string `json:"key"`
	}
	readResp struct {
		Record Record `json:"record"`
	}
	writeReq struct {
		Key     string `json:"key"`
		Record  Record `json:"record"`
		HintFor string `json:"hint_for,omitempty"` // store as a hint for this node, not as data
	}
	treeReq struct {
		Inner []int `json:"inner,omitempty"`
	} // empty: root level; else leaves under these inner nodes
	treeResp struct {
		Inner  []uint64       `json:"inner,omitempty"`
		Leaves map[int]uint64 `json:"leaves,omitempty"`
	}
	syncReq struct {
		Leaves  []int             `json:"leaves"`
		Records map[string]Record `json:"records"`
		After   string            `json:"after,omitempty"` // answer the records past this key
	}
	syncResp struct {
		Records map[string]Record `json:"records"`
		Next    string            `json:"next,omitempty"` // more records past this key: ask again
	}
	coordinateReq struct {
		Key     string `json:"key"`
		Value   string `json:"value"`
		Context string `json:"context,omitempty"`
		W       int    `json:"w"`
	}
)

// Leaderless is the Dynamo-style replication mode.
type Leaderless struct {
	cfg   Config
	n     int
	ring  *Ring
	db    *storage
	tr    *transport
	clock *Clock
	stats *Stats
	log   zerolog.Logger

	susMu   sync.Mutex
	suspect suspicion // peers that failed their last call; cleared by an answer

	treeMu sync.Mutex
	trees  map[string]*Merkle // peer -> Merkle tree of the keys both replicate

	bg sync.WaitGroup // async repairs and late replica attempts

	keyLocks [64]sync.Mutex // serialize vclock dot assignment per key (striped)

	aeNext int
}

var _ Replicator = (*Leaderless)(nil)

func newLeaderless(cfg Config, db *storage, tr *transport, clock *Clock, stats *Stats, log zerolog.Logger) (*Leaderless, error) {
	l := &Leaderless{
		cfg: cfg, n: cfg.EffectiveN(), ring: NewRing(cfg.NodeIDs(), cfg.VNodes),
		db: db, tr: tr, clock: clock, stats: stats, log: log,
		trees: map[string]*Merkle{},
	}
	for _, p := range cfg.NodeIDs() {
		if p != cfg.ID {
			l.trees[p] = &Merkle{}
		}
	}
	stats.counter("hint_refused") // listed from the start, like the others (statNames)
	err := db.forEachDigest(func(key string, d uint64) { l.updateTrees(key, 0, d) })
	if err != nil {
		return nil, fmt.Errorf("store: building Merkle trees: %w", err)
	}
	return l, nil
}

// updateTrees moves key's contribution in the trees of its co-replicas from the old digest to
// the new one (0 = absent).
func (l *Leaderless) updateTrees(key string, old, cur uint64) {
	if old == cur {
		return
	}
	pref := l.ring.PrefList(key, l.n)
	l.treeMu.Lock()
	defer l.treeMu.Unlock()
	for _, p := range pref {
		if t, ok := l.trees[p]; ok {
			t.UpdateDigests(key, old, cur)
		}
	}
}

func (l *Leaderless) isSuspect(p string) bool {
	l.susMu.Lock()
	defer l.susMu.Unlock()
	return l.suspect.suspected(p)
}

func (l *Leaderless) suspects() []string {
	l.susMu.Lock()
	defer l.susMu.Unlock()
	return l.suspect.list()
}

// call is transport.call plus failure-detector bookkeeping (suspicion.observe).
func (l *Leaderless) call(ctx context.Context, peer, path string, in, out any) error {
	err := l.tr.call(ctx, peer, path, in, out)
	l.susMu.Lock()
	l.suspect.observe(peer, answerOf(err), errors.Is(ctx.Err(), context.Canceled))
	l.susMu.Unlock()
	return err
}

// answerOf maps the error of a call to a peer, or of a local apply, onto the Answer the
// replication decisions take: the HTTP statuses stay here, in the shell.
func answerOf(err error) Answer {
	if err == nil {
		return AnswerOK
	}
	var ke kindError
	if errors.As(err, &ke) {
		return AnswerConflict // a local apply whose record conflicts with the key's kind
	}
	var re *replicaError
	if !errors.As(err, &re) {
		return AnswerLocalFailure
	}
	switch {
	case re.status == http.StatusConflict:
		return AnswerConflict
	case re.status == http.StatusBadRequest, re.status == http.StatusRequestEntityTooLarge,
		re.status == http.StatusUnprocessableEntity:
		return AnswerInvalid
	case re.status >= 500:
		return AnswerServerError
	case re.status != 0:
		return AnswerRejected
	case re.refused:
		return AnswerUnreachable
	}
	return AnswerNoReply
}

// applyLocal merges rec into this node's replica of key.
func (l *Leaderless) applyLocal(key string, rec Record) (changed bool, err error) {
	res, err := l.applyLocalRes(key, rec)
	return res.Changed, err
}

func (l *Leaderless) applyLocalRes(key string, rec Record) (mergeResult, error) {
	res, err := l.db.merge(key, rec)
	if err != nil {
		var ke kindError
		if errors.As(err, &ke) {
			l.stats.Inc("replica_kind_conflict")
		}
		return res, err
	}
	l.stats.Inc("replica_write")
	if !res.Changed {
		return res, nil
	}
	l.stats.Inc("replica_write_changed")
	if rec.Kind != KindRegister && res.OldDigest != 0 {
		l.stats.Inc("crdt_merge")
	}
	l.updateTrees(key, res.OldDigest, res.NewDigest)
	return res, nil
}

// readLocal is this node's replica of key, merged with any hints it holds for it.
func (l *Leaderless) readLocal(key string) (Record, error) {
	r, err := l.db.get(key)
	if err != nil {
		return r, err
	}
	h, err := l.db.hintsFor(key)
	if err != nil || h.Empty() {
		return r, err
	}
	if m, err := Merge(r, h, l.cfg.Consistency); err == nil {
		return m, nil
	}
	return r, nil
}

// opContext is the deadline of one client operation; replica attempts outlive the client's HTTP
// request (so slow replicas and hints still get the write) but not the deadline.
func (l *Leaderless) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), l.cfg.RequestTimeout)
}

// ---- writes ----

// replicate sends rec to key's N replicas and waits for w acks. deferred says the write may be
// applied later even if no replica applies it now (counter contributions).
func (l *Leaderless) replicate(ctx context.Context, key string, rec Record, w int, deferred bool) error {
	return l.replicateOpts(ctx, key, rec, w, deferred, false)
}

// replicateOpts is replicate; localDone says this node (a replica) already applied rec.
func (l *Leaderless) replicateOpts(ctx context.Context, key string, rec Record, w int, deferred, localDone bool) error {
	opCtx, cancel := l.opContext(ctx)
	walk := l.ring.Walk(key)
	pref, fallbacks := walk[:l.n], walk[l.n:]
	results := make(chan attempt, 2*len(pref))
	var fbMu sync.Mutex
	picker := newFallbackPicker(fallbacks, l.cfg.ID)
	nextFallback := func() string {
		fbMu.Lock()
		defer fbMu.Unlock()
		return picker.next(l.isSuspect)
	}
	var wg sync.WaitGroup
	for _, target := range pref {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if localDone && target == l.cfg.ID {
				results <- attempt{node: target, ok: true, countable: true}
				return
			}
			l.writeReplica(opCtx, key, rec, target, nextFallback, results)
		}()
	}
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		wg.Wait()
		cancel()
		close(results)
	}()

	// The deadline is a timer of its own: opCtx is also cancelled when every attempt has
	// finished, and that must not read as a timeout while results are still buffered.
	deadline := time.NewTimer(l.cfg.RequestTimeout)
	defer deadline.Stop()
	t := newWriteTally(len(pref), deferred)
	var conflict error
	take := func(a attempt, open bool) {
		if !open {
			t.Finished = true
			return
		}
		if t.take(a) {
			l.stats.Inc("hint_sloppy_ack")
		}
		if a.conflict {
			conflict = a.err
		}
	}
	for {
		if o, conflicted, done := t.decide(w); done {
			if conflicted {
				l.stats.Inc("outcome_failed")
				return &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q: %v", key, conflict)}
			}
			return l.outcome(o, key, t.Tally, w)
		}
		select {
		case a, open := <-results:
			take(a, open)
		case <-deadline.C:
			t.TimedOut = true
			// Count what already arrived (select picks at random among ready cases); what has
			// not arrived stays pending, which is never "failed".
			for drained := false; !drained && !t.Finished; {
				select {
				case a, open := <-results:
					take(a, open)
				default:
					drained = true
				}
			}
		}
	}
}

func (l *Leaderless) outcome(o Outcome, key string, t Tally, w int) error {
	switch o {
	case OutcomeOK:
		l.stats.Inc("outcome_ok")
		return nil
	case OutcomeFailed:
		l.stats.Inc("outcome_failed")
		return &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
			Msg: fmt.Sprintf("write %q failed: %d of %d replicas refused it, none applied it (w=%d)", key, t.Refused, t.Targets, w)}
	}
	l.stats.Inc("outcome_indeterminate")
	return &OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate,
		Msg: fmt.Sprintf("write %q indeterminate: %d of w=%d acks within %s (%d refused, %d no answer, %d still pending, hinted=%v); it may have been applied",
			key, t.Acks, w, l.cfg.RequestTimeout, t.Refused, t.Unknown, t.Pending, t.Hinted)}
}

// writeReplica delivers rec to one preference-list replica, or (hinted handoff) to a fallback
// as a hint for it. It sends exactly one direct result for target, plus one for a hint.
func (l *Leaderless) writeReplica(ctx context.Context, key string, rec Record, target string, nextFallback func() string, results chan<- attempt) {
	if target == l.cfg.ID {
		_, err := l.applyLocal(key, rec)
		a := directAttempt(target, answerOf(err))
		a.err = err
		results <- a
		return
	}
	hh := l.cfg.HintedHandoff
	var err error
	if hh && l.isSuspect(target) {
		l.stats.Inc("replica_suspected_skip")
		err = &replicaError{peer: target, refused: true, err: errors.New("suspected down, skipped")}
	} else {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if hh {
			// Leave time for a hint when the replica does not answer.
			if dl, ok := ctx.Deadline(); ok {
				actx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
			}
		}
		err = l.call(actx, target, "/internal/write", writeReq{Key: key, Record: rec}, nil)
		cancel()
	}
	ans := answerOf(err)
	a := directAttempt(target, ans)
	a.err = err
	results <- a
	if !wantsHint(ans, hh) {
		return
	}
	for f := nextFallback(); f != ""; f = nextFallback() {
		if f == l.cfg.ID {
			if l.db.storeHint(key, target, rec) == nil {
				l.stats.Inc("hint_stored")
				results <- hintAttempt(f, l.cfg.SloppyQuorum, false)
				return
			}
			continue
		}
		if l.call(ctx, f, "/internal/write", writeReq{Key: key, Record: rec, HintFor: target}, nil) == nil {
			results <- hintAttempt(f, l.cfg.SloppyQuorum, false)
			return
		}
	}
	// No fallback took it: keep the hint here (see hintAttempt).
	if err := l.db.storeHint(key, target, rec); err == nil {
		l.stats.Inc("hint_stored")
		l.stats.Inc("hint_local")
		results <- hintAttempt(l.cfg.ID, l.cfg.SloppyQuorum, true)
	}
}

// Write implements Replicator.
func (l *Leaderless) Write(ctx context.Context, key string, op WriteOp, w int) error {
	seq, err := l.db.nextSeq()
	if err != nil {
		return &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()}
	}
	var rec Record
	deferred := false
	switch op.Kind {
	case KindRegister:
		sib := Sibling{Value: op.Value, Node: l.cfg.ID, Seq: seq}
		switch l.cfg.Consistency {
		case LWW:
			sib.TS = l.clock.Now().UnixNano()
		case VClock:
			return l.writeVClock(ctx, key, op, w)
		case ABD:
			// Query phase: the highest version that a quorum intersecting every earlier
			// write (and every read's write-back) has seen; see abdQuorum.
			l.stats.Inc("abd_query")
			resps, _, err := l.gather(ctx, key, l.quorums(ctx).R)
			if err != nil {
				l.stats.Inc("outcome_failed")
				return &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
					Msg: fmt.Sprintf("abd write %q failed in its query phase (nothing written): %v", key, err)}
			}
			sib.TS = abdNextTS(sortedAnswers(resps))
		}
		rec = Record{Kind: KindRegister, Sibs: []Sibling{sib}}
	case KindCounter:
		if err := l.checkCounterDelta(key, op.Delta); err != nil {
			return err
		}
		p, n, err := l.db.addOwn(key, op.Delta)
		if errors.Is(err, ErrCounterOverflow) {
			return &OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("counter %q: %v; nothing changed", key, err)}
		}
		if err != nil {
			return &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()}
		}
		rec = Record{Kind: KindCounter, P: map[string]int64{l.cfg.ID: p}, N: map[string]int64{l.cfg.ID: n}}
		// The contribution is durable here and rides along with the next increment: once
		// bumped, the increment is never "definitely not applied".
		deferred = true
	case KindSet:
		rec = Record{Kind: KindSet, Elems: []string{op.Elem}}
	default:
		return &OpError{Status: http.StatusBadRequest, Msg: "unknown kind " + op.Kind}
	}
	return l.replicate(ctx, key, rec, w, deferred)
}

// checkCounterDelta refuses (400) an increment that would take the counter's value, as this node
// sees it (its replica merged with the hints it holds), out of int64 range. It cannot see
// increments through other nodes that have not reached it yet: a read of a counter whose value
// ends up out of range is an error (Record.CounterValue), never a wrapped number.
func (l *Leaderless) checkCounterDelta(key string, delta int64) error {
	cur, err := l.readLocal(key)
	if err != nil {
		return &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: fmt.Sprintf("counter %q: %v", key, err)}
	}
	if cur.Kind != KindCounter {
		return nil // absent, or another kind (replication answers the conflict)
	}
	if _, err := cur.counterAfter(delta); err != nil {
		return &OpError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("counter %q: %v; nothing changed", key, err)}
	}
	return nil
}

// writeVClock coordinates a vclock write on a replica. The replica gives the new sibling the
// dot (self, last own dot of this key + 1), merges it into its local record and sends the whole
// merged record on. So dots of one node are contiguous per key, and any replica holding a dot
// also holds (or supersedes) every earlier dot of that node for the key: a context naming a dot
// covers only versions its reader saw. A node that does not replicate the key forwards the write.
func (l *Leaderless) writeVClock(ctx context.Context, key string, op WriteOp, w int) error {
	if !l.ring.IsReplica(key, l.n, l.cfg.ID) {
		return l.forwardWrite(ctx, key, op, w)
	}
	mu := &l.keyLocks[hash64(key)%uint64(len(l.keyLocks))]
	mu.Lock()
	local, err := l.db.get(key)
	var rec Record
	if err == nil {
		rec, err = vclockWrite(local, l.cfg.ID, op.Value, op.Causal)
	}
	var res mergeResult
	if err == nil {
		res, err = l.applyLocalRes(key, rec)
	}
	mu.Unlock()
	if err != nil {
		l.stats.Inc("outcome_failed")
		var ke kindError
		if errors.As(err, &ke) {
			return &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q: %v", key, ke)}
		}
		return &OpError{Status: http.StatusInternalServerError, Outcome: client.OutcomeFailed, Msg: err.Error()}
	}
	// Applied here: from now on the write may become visible, so it is never "failed".
	return l.replicateOpts(ctx, key, res.Cur, w, true, true)
}

// forwardWrite hands a vclock write to the first replica that takes it.
func (l *Leaderless) forwardWrite(ctx context.Context, key string, op WriteOp, w int) error {
	opCtx, cancel := l.opContext(ctx)
	defer cancel()
	l.stats.Inc("vclock_forward")
	req := coordinateReq{Key: key, Value: op.Value, Context: op.Causal.String(), W: w}
	order := forwardOrder(l.ring.PrefList(key, l.n), l.isSuspect)
	var last error
	for _, p := range order {
		err := l.call(opCtx, p, "/internal/coordinate", req, nil)
		switch forwardFate(answerOf(err)) {
		case forwardDone:
			return nil
		case forwardRelay:
			var re *replicaError
			errors.As(err, &re) // every answer is a *replicaError
			return &OpError{Status: re.status, Outcome: re.outcome, Msg: fmt.Sprintf("via %s: %s", p, re.msg)}
		case forwardIndeterminate:
			l.stats.Inc("outcome_indeterminate")
			return &OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate,
				Msg: fmt.Sprintf("write %q forwarded to replica %s: no answer: %v; it may have been applied", key, p, err)}
		}
		last = err
	}
	l.stats.Inc("outcome_failed")
	return &OpError{Status: http.StatusServiceUnavailable, Outcome: client.OutcomeFailed,
		Msg: fmt.Sprintf("write %q failed: no replica took it: %v", key, last)}
}

// ---- reads ----

type readResult struct {
	node string
	rec  Record
	err  error
}

// readTargets are the nodes a read asks: the preference list, or with a sloppy quorum the first
// N nodes of the ring walk not suspected down.
func (l *Leaderless) readTargets(key string) []string {
	return readTargets(l.ring.Walk(key), l.n, l.cfg.ID, l.cfg.SloppyQuorum, l.isSuspect)
}

// gather asks key's replicas for their records and returns once r answered. late delivers the
// answers that arrive afterwards, until the operation's deadline (then it is closed).
func (l *Leaderless) gather(ctx context.Context, key string, r int) (map[string]Record, <-chan readResult, error) {
	opCtx, cancel := l.opContext(ctx)
	targets := l.readTargets(key)
	results := make(chan readResult, len(targets))
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t == l.cfg.ID {
				rec, err := l.readLocal(key)
				results <- readResult{node: t, rec: rec, err: err}
				return
			}
			var resp readResp
			err := l.call(opCtx, t, "/internal/read", readReq{Key: key}, &resp)
			results <- readResult{node: t, rec: resp.Record, err: err}
		}()
	}
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		wg.Wait()
		cancel()
		close(results)
	}()
	deadline := time.NewTimer(l.cfg.RequestTimeout) // see replicate
	defer deadline.Stop()
	got := map[string]Record{}
	t := readTally{R: r}
	for {
		if ok, done := t.decide(); done {
			switch {
			case ok:
				return got, results, nil
			case t.TimedOut:
				return got, nil, fmt.Errorf("%d of r=%d replicas answered within %s", t.Got, r, l.cfg.RequestTimeout)
			}
			return got, nil, fmt.Errorf("%d of r=%d replicas answered (%d failed)", t.Got, r, t.Failed)
		}
		select {
		case res, open := <-results:
			switch {
			case !open:
				t.Finished = true
			case res.err != nil:
				t.Failed++
			default:
				got[res.node] = res.rec
				t.Got = len(got)
			}
		case <-deadline.C:
			t.TimedOut = true
		}
	}
}

// quorums are the request's W and R (node defaults where it named none). abd uses both for
// every operation, as in ABD with asymmetric quorums: a write queries R replicas for the
// highest version and stores at W; a read queries R and, before answering, writes the value
// back to W unless W of the answers already hold it. Reads meet every earlier write (and
// write-back) exactly when W+R > N, so abd is linearizable then and only then, provided
// clients use the same W and R. (A first version used w for the query and r for the write-back
// and lost acknowledged writes at W=1 R=3.)
func (l *Leaderless) quorums(ctx context.Context) Quorums {
	return quorumsFrom(ctx, Quorums{W: l.cfg.EffectiveW(), R: l.cfg.EffectiveR()})
}

// Read implements Replicator.
func (l *Leaderless) Read(ctx context.Context, key, kind string, r int) (Record, error) {
	resps, late, err := l.gather(ctx, key, r)
	if err != nil {
		l.stats.Inc("outcome_indeterminate")
		return Record{}, &OpError{Status: http.StatusGatewayTimeout, Outcome: client.OutcomeIndeterminate,
			Msg: fmt.Sprintf("read %q: %v", key, err)}
	}
	wb := l.quorums(ctx).W
	plan := planRead(sortedAnswers(resps), kind, l.cfg.Consistency, l.cfg.ReadRepair, wb)
	merged := plan.merged
	if plan.crdtMerges > 0 {
		l.stats.Add("crdt_merge", int64(plan.crdtMerges))
	}
	if plan.wrongKind {
		l.stats.Inc("outcome_failed")
		return Record{}, &OpError{Status: http.StatusConflict, Msg: fmt.Sprintf("key %q holds a %s, not a %s", key, merged.Kind, kind)}
	}
	if plan.writeBack {
		// The write-back: before answering, a write quorum must hold what we return (see
		// quorums). Responders already holding it count.
		l.stats.Inc("abd_write_back")
		if err := l.replicate(ctx, key, merged, wb, false); err != nil {
			var oe *OpError
			if errors.As(err, &oe) {
				oe.Msg = "abd read write-back: " + oe.Msg
			}
			return Record{}, err
		}
	}
	if plan.repair {
		stale := plan.stale
		if l.cfg.ReadRepairSync {
			l.stats.Inc("read_repair_sync")
			l.repair(ctx, key, merged, stale)
		} else {
			l.bg.Add(1)
			go func() {
				defer l.bg.Done()
				l.repair(ctx, key, merged, stale)
			}()
		}
	}
	if plan.repairLate {
		l.repairLate(key, merged, late)
	}
	l.stats.Inc("outcome_ok")
	if len(merged.Sibs) > 1 {
		l.stats.Inc("siblings_returned")
	}
	return merged, nil
}

// repair writes merged to the given stale replicas and waits for them (bounded by the deadline).
func (l *Leaderless) repair(ctx context.Context, key string, merged Record, nodes []string) {
	opCtx, cancel := l.opContext(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if node == l.cfg.ID {
				_, err = l.applyLocal(key, merged)
			} else {
				err = l.call(opCtx, node, "/internal/write", writeReq{Key: key, Record: merged}, nil)
			}
			if err == nil {
				l.stats.Inc("read_repair")
			}
		}()
	}
	wg.Wait()
}

// repairLate repairs the replicas whose answers arrive after the read returned.
func (l *Leaderless) repairLate(key string, merged Record, late <-chan readResult) {
	if late == nil {
		return
	}
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		var stale []string
		for res := range late {
			if res.err == nil && lateNeedsRepair(merged, res.rec, l.cfg.Consistency) {
				stale = append(stale, res.node)
			}
		}
		if len(stale) > 0 && !merged.Empty() {
			l.repair(context.Background(), key, merged, stale)
		}
	}()
}
