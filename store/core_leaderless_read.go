package store

import (
	"errors"
	"fmt"

	"github.com/faultline/faultline/client"
)

// lateAnswer is a replica's answer that came after its read had its quorum.
type lateAnswer struct {
	node string
	rec  Record
}

// gather asks key's read targets for their records and calls done once r answered, or
// without a quorum once every target reported or the deadline passed.
// late, if not nil, gets the answers that came after done, once every target has reported
// (each call is bounded by the deadline).
func (c *llCore) gather(key string, r int, done func(map[string]Record, error), late func([]lateAnswer)) {
	targets := readTargets(c.ring.Walk(key), c.n, c.cfg.ID, c.cfg.SloppyQuorum, c.isSuspect)
	deadline := c.env.Mono() + c.cfg.RequestTimeout
	got := map[string]Record{}
	t := readTally{R: r}
	decided := false
	var lates []lateAnswer
	running := len(targets) + 1
	var stop func()
	check := func() {
		if decided {
			return
		}
		ok, fin := t.decide()
		if !fin {
			return
		}
		decided = true
		stop()
		switch {
		case ok:
			done(got, nil)
		case t.TimedOut:
			done(got, fmt.Errorf("%d of r=%d replicas answered within %s", t.Got, r, c.cfg.RequestTimeout))
		default:
			done(got, fmt.Errorf("%d of r=%d replicas answered (%d failed)", t.Got, r, t.Failed))
		}
	}
	end := func() {
		running--
		if running > 0 {
			return
		}
		t.Finished = true
		check()
		if late != nil && len(lates) > 0 {
			late(lates)
		}
	}
	report := func(node string, rec Record, err error) {
		switch {
		case decided:
			if err == nil {
				lates = append(lates, lateAnswer{node: node, rec: rec})
			}
		case err != nil:
			t.Failed++
		default:
			got[node] = rec
			t.Got = len(got)
		}
		check()
		end()
	}
	stop = c.env.After(c.cfg.RequestTimeout, func() {
		t.TimedOut = true
		check()
	})
	for _, node := range targets {
		if node == c.cfg.ID {
			c.readLocal(key, func(rec Record, err error) { report(node, rec, err) })
			continue
		}
		c.call(node, readReq{Key: key}, deadline-c.env.Mono(), func(ans any, _ Answer, err error) {
			var rec Record
			if resp, ok := ans.(*readResp); ok && err == nil {
				rec = resp.Record
			}
			report(node, rec, err)
		})
	}
	end()
}

// Read implements Core.
func (c *llCore) Read(key, kind string, q Quorums, done func(Record, error)) {
	q = c.quorums(q)
	var merged Record
	lateFor := func(lates []lateAnswer) {
		var stale []string
		for _, a := range lates {
			if lateNeedsRepair(merged, a.rec, c.cfg.Consistency) {
				stale = append(stale, a.node)
			}
		}
		if len(stale) > 0 && !merged.Empty() {
			c.repair(key, merged, stale, nil)
		}
	}
	repairLate := false
	c.gather(key, q.R, func(resps map[string]Record, err error) {
		if err != nil {
			c.stats.Inc("outcome_indeterminate")
			done(Record{}, opErr(statusTimeout, client.OutcomeIndeterminate, "read %q: %v", key, err))
			return
		}
		plan := planRead(sortedAnswers(resps), kind, c.cfg.Consistency, c.cfg.ReadRepair, q.W)
		merged = plan.merged
		repairLate = plan.repairLate
		if plan.crdtMerges > 0 {
			c.stats.Add("crdt_merge", int64(plan.crdtMerges))
		}
		if plan.wrongKind {
			c.stats.Inc("outcome_failed")
			done(Record{}, opErr(statusConflict, "", "key %q holds a %s, not a %s", key, merged.Kind, kind))
			return
		}
		answer := func() {
			c.stats.Inc("outcome_ok")
			if len(merged.Sibs) > 1 {
				c.stats.Inc("siblings_returned")
			}
			done(merged, nil)
		}
		afterWriteBack := func() {
			switch {
			case plan.repair && c.cfg.ReadRepairSync:
				c.stats.Inc("read_repair_sync")
				c.repair(key, merged, plan.stale, answer)
			case plan.repair:
				c.repair(key, merged, plan.stale, nil)
				answer()
			default:
				answer()
			}
		}
		if !plan.writeBack {
			afterWriteBack()
			return
		}
		// The write-back: before answering, a write quorum must hold what we return.
		c.stats.Inc("abd_write_back")
		c.replicate(key, merged, q.W, false, false, func(err error) {
			if err != nil {
				var oe *OpError
				if errors.As(err, &oe) {
					oe.Msg = "abd read write-back: " + oe.Msg
				}
				done(Record{}, err)
				return
			}
			afterWriteBack()
		})
	}, func(lates []lateAnswer) {
		if repairLate {
			lateFor(lates)
		}
	})
}

// repair writes merged to the given stale replicas; then (if not nil) calls done, once every
// repair ended (each bounded by the request timeout).
func (c *llCore) repair(key string, merged Record, nodes []string, done func()) {
	left := len(nodes) + 1
	end := func() {
		left--
		if left == 0 && done != nil {
			done()
		}
	}
	repaired := func(node string) {
		c.stats.Inc("read_repair")
		c.env.Event(Event{Kind: "read_repair", Key: key, Peer: node, Kept: merged.Version(c.cfg.Consistency),
			Why: "a read found replica " + node + " stale and wrote the merged record to it"})
	}
	for _, node := range nodes {
		if node == c.cfg.ID {
			c.applyLocal(key, merged, func(_ mergeResult, err error) {
				if err == nil {
					repaired(node)
				}
				end()
			})
			continue
		}
		c.call(node, writeReq{Key: key, Record: merged}, c.cfg.RequestTimeout, func(_ any, _ Answer, err error) {
			if err == nil {
				repaired(node)
			}
			end()
		})
	}
	end()
}
