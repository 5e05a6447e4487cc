package store

import (
	"sort"
)

// ---- hint delivery and probes ----

// hintTick runs one round: probe the suspected peers, then (hinted handoff on) offer every
// hint to its target. A round still running when the next tick comes makes that tick skip.
func (c *llCore) hintTick() {
	c.env.After(c.cfg.HintInterval, c.hintTick)
	if c.hintBusy {
		return
	}
	c.hintBusy = true
	c.probe(func() {
		if !c.cfg.HintedHandoff {
			c.hintBusy = false
			return
		}
		c.deliverHints(func() { c.hintBusy = false })
	})
}

// probe pings suspected peers (a peer that answers is no longer suspected); then done.
func (c *llCore) probe(done func()) {
	sus := c.suspect.list()
	left := len(sus) + 1
	end := func() {
		left--
		if left == 0 {
			done()
		}
	}
	for _, p := range sus {
		c.call(p, pingReq{}, c.cfg.RequestTimeout/2, func(any, Answer, error) { end() })
	}
	end()
}

// deliverHints offers every stored hint to its target, one at a time, in stored order; what a
// failed delivery means is hintFate's decision.
func (c *llCore) deliverHints(done func()) {
	hints, err := c.hints()
	if err != nil {
		c.log.Warn().Err(err).Msg("reading hints")
		done()
		return
	}
	pending := int64(len(hints))
	c.stats.counter("hint_pending").Store(pending)
	var round hintRound
	var next func(i int)
	next = func(i int) {
		if i == len(hints) {
			c.stats.counter("hint_pending").Store(pending)
			done()
			return
		}
		h := hints[i]
		if round.skip(h.Target) {
			next(i + 1)
			return
		}
		fate := func(a Answer, err error) {
			switch round.record(h.Target, hintFate(a)) {
			case hintDelivered:
				c.deleteHint(h, func(derr error) {
					if derr != nil {
						c.log.Warn().Err(derr).Msg("deleting a delivered hint")
					} else {
						pending--
						c.stats.Inc("hint_delivered")
						c.env.Event(Event{Kind: "hint_delivered", Key: h.Key, Peer: h.Target, Kept: h.Rec.Version(c.cfg.Consistency),
							Why: "the hint held for " + h.Target + " was handed to it"})
					}
					next(i + 1)
				})
			case hintRefused:
				c.stats.Inc("hint_refused")
				c.setAsideHint(h, err.Error(), func(moved bool, serr error) {
					switch {
					case serr != nil:
						c.log.Warn().Err(serr).Str("key", h.Key).Str("target", h.Target).Msg("setting a refused hint aside")
					case moved:
						pending--
						c.log.Warn().Err(err).Str("key", h.Key).Str("target", h.Target).
							Msg("hint refused by its target as invalid: set aside as a dead hint (GET /admin/hints/dead)")
						c.env.Event(Event{Kind: "hint_dead", Key: h.Key, Peer: h.Target, Lost: h.Rec.Version(c.cfg.Consistency),
							Why: "the target refused the hint as invalid: " + err.Error()})
					}
					next(i + 1)
				})
			default:
				next(i + 1)
			}
		}
		if h.Target == c.cfg.ID {
			c.applyLocal(h.Key, h.Rec, func(_ mergeResult, err error) { fate(answerOf(err), err) })
			return
		}
		c.call(h.Target, writeReq{Key: h.Key, Record: h.Rec}, c.cfg.RequestTimeout, func(_ any, a Answer, err error) { fate(a, err) })
	}
	next(0)
}

// ---- Merkle anti-entropy ----

// aeTick compares Merkle trees with the next peer (in sorted order) and exchanges the divergent
// leaves; a round still running makes the tick skip.
func (c *llCore) aeTick() {
	c.env.After(c.cfg.AntiEntropy, c.aeTick)
	if c.aeBusy || len(c.peers) == 0 {
		return
	}
	peer := c.peers[c.aeNext%len(c.peers)]
	c.aeNext++
	c.aeBusy = true
	c.syncWith(peer, func(err error) {
		c.aeBusy = false
		if err != nil {
			c.log.Debug().Err(err).Str("peer", peer).Msg("anti-entropy round")
		}
	})
}

// syncWith runs one anti-entropy exchange with peer; done ends it.
func (c *llCore) syncWith(peer string, done func(error)) {
	call := func(req Request, then func(any)) {
		c.call(peer, req, c.cfg.RequestTimeout, func(ans any, _ Answer, err error) {
			if err != nil {
				done(err)
				return
			}
			then(ans)
		})
	}
	c.stats.Inc("ae_round")
	call(treeReq{}, func(ans any) {
		top, _ := ans.(*treeResp)
		if top == nil {
			top = &treeResp{}
		}
		mine := c.trees[peer]
		inner := DiffIndexes(mine.Inner(), top.Inner)
		if len(inner) == 0 {
			done(nil)
			return
		}
		call(treeReq{Inner: inner}, func(ans any) {
			low, _ := ans.(*treeResp)
			if low == nil {
				low = &treeResp{}
			}
			var leaves []int
			for idx, h := range c.trees[peer].LeavesUnder(inner) {
				if low.Leaves[idx] != h {
					leaves = append(leaves, idx)
				}
			}
			if len(leaves) == 0 {
				done(nil)
				return
			}
			sort.Ints(leaves)
			c.stats.Add("ae_divergent_leaves", int64(len(leaves)))
			recs, err := c.recordsIn(leaves, peer)
			if err != nil {
				done(err)
				return
			}
			// Push this node's records a page at a time; the last push also asks for the
			// peer's first page.
			var pages []map[string]Record
			for after := ""; ; {
				page, next := c.packRecords(recs, after, peer)
				pages = append(pages, page)
				if next == "" {
					break
				}
				after = next
			}
			var pull func(resp *syncResp)
			pull = func(resp *syncResp) {
				c.applySynced(peer, resp.Records, func() {
					if resp.Next == "" {
						done(nil)
						return
					}
					call(syncReq{Leaves: leaves, After: resp.Next}, func(ans any) { pull(syncAnswer(ans)) })
				})
			}
			var push func(i int)
			push = func(i int) {
				req := syncReq{Records: pages[i]}
				last := i == len(pages)-1
				if last {
					req.Leaves = leaves
				}
				c.stats.Add("ae_keys_sent", int64(len(pages[i])))
				call(req, func(ans any) {
					if last {
						pull(syncAnswer(ans))
						return
					}
					push(i + 1)
				})
			}
			push(0)
		})
	})
}

func syncAnswer(ans any) *syncResp {
	if r, ok := ans.(*syncResp); ok && r != nil {
		return r
	}
	return &syncResp{}
}

// applySynced applies the records a peer's anti-entropy answer carried (checked as any
// internal input is); then next.
func (c *llCore) applySynced(peer string, recs map[string]Record, next func()) {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	left := 1
	end := func() {
		left--
		if left == 0 {
			next()
		}
	}
	for _, key := range keys {
		rec := recs[key]
		if !c.ring.IsReplica(key, c.n, c.cfg.ID) {
			continue
		}
		if err := checkKey(key); err != nil {
			c.log.Warn().Err(err).Str("peer", peer).Msg("anti-entropy: skipping a bad key")
			continue
		}
		if err := checkRecord(rec, c.ir); err != nil {
			c.log.Warn().Err(err).Str("peer", peer).Str("key", key).Msg("anti-entropy: skipping a bad record")
			continue
		}
		c.stats.Inc("ae_keys_received")
		left++
		c.applySyncedKey(peer, key, rec, end)
	}
	end()
}
