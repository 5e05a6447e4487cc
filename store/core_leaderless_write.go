package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/client"
)

// llWrite is one replicated write in flight: an attempt per
// preference-list replica (its direct write, then maybe a hint), counted by a writeTally,
// decided once by writeTally.decide. Attempts outlive the decision (slow replicas and hints
// still get the write) but not the operation's deadline.
type llWrite struct {
	c        *llCore
	key      string
	rec      Record
	w        int
	t        *writeTally
	conflict error
	picker   *fallbackPicker
	deadline time.Duration // on the node's monotonic clock
	running  int           // attempts not ended
	decided  bool
	done     func(error)
	stop     func() // cancels the deadline timer
}

// replicate sends rec to key's N replicas and calls done once w acknowledged or the write's
// outcome is otherwise known. deferred says the write may be applied later even if no replica
// applies it now (counter contributions); localDone says this node (a replica) already
// applied rec.
func (c *llCore) replicate(key string, rec Record, w int, deferred, localDone bool, done func(error)) {
	walk := c.ring.Walk(key)
	pref, fallbacks := walk[:c.n], walk[c.n:]
	op := &llWrite{c: c, key: key, rec: rec, w: w, t: newWriteTally(len(pref), deferred),
		picker: newFallbackPicker(fallbacks, c.cfg.ID), deadline: c.env.Mono() + c.cfg.RequestTimeout,
		running: len(pref) + 1, done: done}
	op.stop = c.env.After(c.cfg.RequestTimeout, func() {
		op.t.TimedOut = true
		op.check()
	})
	for _, target := range pref {
		if localDone && target == c.cfg.ID {
			op.take(attempt{node: target, ok: true, countable: true})
			op.end()
			continue
		}
		c.writeReplica(op, target)
	}
	op.end() // the loop's own share of running
}

// take counts one attempt's report.
func (op *llWrite) take(a attempt) {
	if op.t.take(a) && !op.decided {
		op.c.stats.Inc("hint_sloppy_ack")
	}
	if a.conflict {
		op.conflict = a.err
	}
	op.check()
}

// end marks one attempt as ended.
func (op *llWrite) end() {
	op.running--
	if op.running == 0 {
		op.t.Finished = true
		op.check()
	}
}

func (op *llWrite) check() {
	if op.decided {
		return
	}
	o, conflicted, done := op.t.decide(op.w)
	if !done {
		return
	}
	op.decided = true
	op.stop()
	c := op.c
	if conflicted {
		c.stats.Inc("outcome_failed")
		op.done(opErr(statusConflict, "", "key %q: %v", op.key, op.conflict))
		return
	}
	op.done(c.outcome(o, op.key, op.t.Tally, op.w))
}

func (c *llCore) outcome(o Outcome, key string, t Tally, w int) error {
	switch o {
	case OutcomeOK:
		c.stats.Inc("outcome_ok")
		return nil
	case OutcomeFailed:
		c.stats.Inc("outcome_failed")
		return opErr(statusUnavailable, client.OutcomeFailed,
			"write %q failed: %d of %d replicas refused it, none applied it (w=%d)", key, t.Refused, t.Targets, w)
	}
	c.stats.Inc("outcome_indeterminate")
	return opErr(statusTimeout, client.OutcomeIndeterminate,
		"write %q indeterminate: %d of w=%d acks within %s (%d refused, %d no answer, %d still pending, hinted=%v); it may have been applied",
		key, t.Acks, w, c.cfg.RequestTimeout, t.Refused, t.Unknown, t.Pending, t.Hinted)
}

// writeReplica delivers the write to one preference-list replica, or (hinted handoff) to a
// fallback as a hint for it: exactly one direct report for target, plus at most one for a
// hint, then the attempt ends.
func (c *llCore) writeReplica(op *llWrite, target string) {
	if target == c.cfg.ID {
		c.applyLocal(op.key, op.rec, func(_ mergeResult, err error) {
			a := directAttempt(target, answerOf(err))
			a.err = err
			op.take(a)
			op.end()
		})
		return
	}
	hh := c.cfg.HintedHandoff
	afterDirect := func(ans Answer, err error) {
		a := directAttempt(target, ans)
		a.err = err
		op.take(a)
		if !wantsHint(ans, hh) {
			op.end()
			return
		}
		c.placeHint(op, target)
	}
	if hh && c.isSuspect(target) {
		c.stats.Inc("replica_suspected_skip")
		afterDirect(AnswerUnreachable, &replicaError{peer: target, refused: true, err: errors.New("suspected down, skipped")})
		return
	}
	timeout := op.deadline - c.env.Mono()
	if hh {
		timeout /= 2 // leave time for a hint when the replica does not answer
	}
	c.call(target, writeReq{Key: op.key, Record: op.rec}, timeout, func(_ any, a Answer, err error) {
		afterDirect(a, err)
	})
}

// placeHint stores a hint for target on the next fallback that takes it (this node included),
// or, when none does, here as a last resort (which never counts toward W); then ends the
// attempt.
func (c *llCore) placeHint(op *llWrite, target string) {
	sloppy := c.cfg.SloppyQuorum
	stored := func(at string) {
		c.stats.Inc("hint_stored")
		c.env.Event(Event{Kind: "hint_stored", Key: op.key, Peer: target, Kept: op.rec.Version(c.cfg.Consistency),
			Why: fmt.Sprintf("replica %s did not take the write; %s holds it as a hint", target, at)})
	}
	var next func()
	next = func() {
		f := op.picker.next(c.isSuspect)
		switch f {
		case "":
			c.storeHint(op.key, target, op.rec, func(err error) {
				if err == nil {
					stored(c.cfg.ID + " (the coordinator, no fallback took it)")
					c.stats.Inc("hint_local")
					op.take(hintAttempt(c.cfg.ID, sloppy, true))
				}
				op.end()
			})
		case c.cfg.ID:
			c.storeHint(op.key, target, op.rec, func(err error) {
				if err != nil {
					next()
					return
				}
				stored(f)
				op.take(hintAttempt(f, sloppy, false))
				op.end()
			})
		default:
			c.call(f, writeReq{Key: op.key, Record: op.rec, HintFor: target}, op.deadline-c.env.Mono(), func(_ any, _ Answer, err error) {
				if err != nil {
					next()
					return
				}
				op.take(hintAttempt(f, sloppy, false))
				op.end()
			})
		}
	}
	next()
}
