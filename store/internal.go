package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Internal implements Replicator: the /internal/... endpoints other nodes call.
func (l *Leaderless) Internal(mux *http.ServeMux) {
	mux.HandleFunc("POST /internal/read", func(w http.ResponseWriter, r *http.Request) {
		var req readReq
		if !decodeInternal(w, r, &req) {
			return
		}
		l.stats.Inc("replica_read")
		rec, err := l.readLocal(req.Key)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, readResp{Record: rec})
	})
	mux.HandleFunc("POST /internal/write", func(w http.ResponseWriter, r *http.Request) {
		var req writeReq
		if !decodeInternal(w, r, &req) {
			return
		}
		if req.HintFor != "" {
			if err := l.db.storeHint(req.Key, req.HintFor, req.Record); err != nil {
				writeError(w, http.StatusInternalServerError, "", err.Error())
				return
			}
			l.stats.Inc("hint_stored")
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
			return
		}
		if _, err := l.applyLocal(req.Key, req.Record); err != nil {
			status := http.StatusInternalServerError
			var ke kindError
			if errors.As(err, &ke) {
				status = http.StatusConflict
			}
			writeError(w, status, "", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /internal/coordinate", func(w http.ResponseWriter, r *http.Request) {
		var req coordinateReq
		if !decodeInternal(w, r, &req) {
			return
		}
		vv, err := ParseContext(req.Context)
		if err != nil || req.W < 1 || req.W > l.n || !l.ring.IsReplica(req.Key, l.n, l.cfg.ID) {
			writeError(w, http.StatusBadRequest, "", fmt.Sprintf("bad forwarded write of %q (w=%d, context %q, replica=%v)",
				req.Key, req.W, req.Context, l.ring.IsReplica(req.Key, l.n, l.cfg.ID)))
			return
		}
		err = l.writeVClock(r.Context(), req.Key, WriteOp{Kind: KindRegister, Value: req.Value, Causal: vv}, req.W)
		var oe *OpError
		if errors.As(err, &oe) {
			writeError(w, oe.Status, oe.Outcome, oe.Msg)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /internal/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /internal/ae/tree", func(w http.ResponseWriter, r *http.Request) {
		var req treeReq
		if !decodeInternal(w, r, &req) {
			return
		}
		from := r.Header.Get(HeaderFrom)
		l.treeMu.Lock()
		t, ok := l.trees[from]
		var resp treeResp
		if ok {
			if len(req.Inner) == 0 {
				resp.Inner = t.Inner()
			} else {
				resp.Leaves = t.LeavesUnder(req.Inner)
			}
		}
		l.treeMu.Unlock()
		if !ok {
			writeError(w, http.StatusBadRequest, "", "no Merkle tree for peer "+from)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("POST /internal/ae/sync", func(w http.ResponseWriter, r *http.Request) {
		var req syncReq
		if !decodeInternal(w, r, &req) {
			return
		}
		from := r.Header.Get(HeaderFrom)
		for key, rec := range req.Records {
			if !l.ring.IsReplica(key, l.n, l.cfg.ID) {
				continue
			}
			l.stats.Inc("ae_keys_received")
			if changed, err := l.applyLocal(key, rec); err == nil && changed {
				l.stats.Inc("ae_keys_repaired")
			}
		}
		recs, err := l.recordsIn(req.Leaves, from)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "", err.Error())
			return
		}
		l.stats.Add("ae_keys_sent", int64(len(recs)))
		writeJSON(w, http.StatusOK, syncResp{Records: recs})
	})
}

// decodeInternal decodes an internal request body (no size limit beyond 256 MiB: anti-entropy
// batches can be large) and checks the sender header.
func decodeInternal(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Header.Get(HeaderFrom) == "" {
		writeError(w, http.StatusBadRequest, "", "missing "+HeaderFrom+" header")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<20)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "", "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// recordsIn lists this node's records in the given Merkle leaves that peer also replicates.
func (l *Leaderless) recordsIn(leaves []int, peer string) (map[string]Record, error) {
	want := map[int]bool{}
	for _, x := range leaves {
		want[x] = true
	}
	out := map[string]Record{}
	err := l.db.forEachWhere(
		func(key string) bool { return want[LeafOf(key)] && l.ring.IsReplica(key, l.n, peer) },
		func(key string, r Record) error { out[key] = r; return nil })
	return out, err
}

// Run implements Replicator: hint delivery (also probing suspected peers) and anti-entropy, each
// in its own loop so that a partitioned peer stalling one does not stall the other.
func (l *Leaderless) Run(ctx context.Context) {
	defer l.bg.Wait()
	var wg sync.WaitGroup
	defer wg.Wait()
	if l.cfg.AntiEntropy > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(l.cfg.AntiEntropy)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					l.antiEntropyRound(ctx)
				}
			}
		}()
	}
	t := time.NewTicker(l.cfg.HintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.probe(ctx)
			if l.cfg.HintedHandoff {
				l.deliverHints(ctx)
			}
		}
	}
}

// probe pings suspected peers; a peer that answers is no longer suspected.
func (l *Leaderless) probe(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range l.suspects() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout/2)
			defer cancel()
			_ = l.call(pctx, p, "/internal/ping", struct{}{}, nil)
		}()
	}
	wg.Wait()
}

// deliverHints offers every stored hint to its target; delivered hints are deleted.
func (l *Leaderless) deliverHints(ctx context.Context) {
	hints, err := l.db.hints()
	if err != nil {
		l.log.Warn().Err(err).Msg("reading hints")
		return
	}
	l.stats.counter("hint_pending").Store(int64(len(hints)))
	down := map[string]bool{}
	for _, h := range hints {
		if ctx.Err() != nil {
			return
		}
		if down[h.Target] {
			continue
		}
		var err error
		if h.Target == l.cfg.ID {
			_, err = l.applyLocal(h.Key, h.Rec)
		} else {
			cctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
			err = l.call(cctx, h.Target, "/internal/write", writeReq{Key: h.Key, Record: h.Rec}, nil)
			cancel()
		}
		if err != nil {
			down[h.Target] = true
			continue
		}
		if err := l.db.deleteHint(h); err != nil {
			l.log.Warn().Err(err).Msg("deleting a delivered hint")
			continue
		}
		l.stats.Inc("hint_delivered")
	}
}

// antiEntropyRound compares Merkle trees with the next peer and exchanges the divergent leaves.
func (l *Leaderless) antiEntropyRound(ctx context.Context) {
	peers := make([]string, 0, len(l.trees))
	for p := range l.trees {
		peers = append(peers, p)
	}
	if len(peers) == 0 {
		return
	}
	sort.Strings(peers)
	peer := peers[l.aeNext%len(peers)]
	l.aeNext++
	if err := l.syncWith(ctx, peer); err != nil {
		l.log.Debug().Err(err).Str("peer", peer).Msg("anti-entropy round")
	}
}

func (l *Leaderless) syncWith(ctx context.Context, peer string) error {
	call := func(path string, in, out any) error {
		cctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
		defer cancel()
		return l.call(cctx, peer, path, in, out)
	}
	l.stats.Inc("ae_round")
	var top treeResp
	if err := call("/internal/ae/tree", treeReq{}, &top); err != nil {
		return err
	}
	l.treeMu.Lock()
	mine := *l.trees[peer]
	l.treeMu.Unlock()
	inner := DiffIndexes(mine.Inner(), top.Inner)
	if len(inner) == 0 {
		return nil
	}
	var low treeResp
	if err := call("/internal/ae/tree", treeReq{Inner: inner}, &low); err != nil {
		return err
	}
	var leaves []int
	for idx, h := range mine.LeavesUnder(inner) {
		if low.Leaves[idx] != h {
			leaves = append(leaves, idx)
		}
	}
	if len(leaves) == 0 {
		return nil
	}
	sort.Ints(leaves)
	l.stats.Add("ae_divergent_leaves", int64(len(leaves)))
	recs, err := l.recordsIn(leaves, peer)
	if err != nil {
		return err
	}
	l.stats.Add("ae_keys_sent", int64(len(recs)))
	var resp syncResp
	if err := call("/internal/ae/sync", syncReq{Leaves: leaves, Records: recs}, &resp); err != nil {
		return err
	}
	for key, rec := range resp.Records {
		if !l.ring.IsReplica(key, l.n, l.cfg.ID) {
			continue
		}
		l.stats.Inc("ae_keys_received")
		if changed, err := l.applyLocal(key, rec); err == nil && changed {
			l.stats.Inc("ae_keys_repaired")
		}
	}
	return nil
}
