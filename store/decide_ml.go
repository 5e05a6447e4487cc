package store

import (
	"math"
	"math/rand/v2"
	"time"
)

// mlResolver is the multi-leader conflict rule of a node: how an incoming replicated write
// merges into what the node holds, and whether that was a conflict.
type mlResolver struct {
	conflict string // ConflictLWW, ConflictCRDT or ConflictSiblings
	cons     string // how register versions merge: LWW or VClock (siblings)
}

// lwwWhole reports whether records of kind are replaced whole by last-writer-wins: counters
// and sets under --conflict lww (a concurrent increment or add is lost, not merged).
func (r mlResolver) lwwWhole(kind string) bool {
	return r.conflict == ConflictLWW && kind != KindRegister
}

// lww reports whether records of kind resolve conflicts by last-writer-wins.
func (r mlResolver) lww(kind string) bool {
	return r.lwwWhole(kind) || (kind == KindRegister && r.cons != VClock)
}

// mlDuplicate reports whether node self has already applied e: its own write coming back, or
// a sequence number at or below the highest applied from e's origin (entries of one origin
// arrive in order on every path).
func mlDuplicate(self string, e mlEntry, appliedSeq uint64) bool {
	return e.Origin == self || e.Seq <= appliedSeq
}

// kindConflict reports whether an incoming record cannot merge into cur (another kind).
func kindConflict(cur, in Record) bool { return !cur.Empty() && cur.Kind != in.Kind }

// merge combines a replica's record with an incoming one: whole-record LWW for counters and
// sets under lww (the stamp is the record's one sibling, ordered by Sibling.newer), else the
// CRDT merges of Merge.
func (r mlResolver) merge(cur, in Record) (Record, error) {
	if !r.lwwWhole(in.Kind) {
		return Merge(cur, in, r.cons)
	}
	if kindConflict(cur, in) {
		return cur, kindError{have: cur.Kind, got: in.Kind}
	}
	if cur.Empty() || len(cur.Sibs) == 0 || in.Sibs[0].newer(cur.Sibs[0]) {
		return in, nil
	}
	return cur, nil
}

// detect decides whether e was concurrent with what the node held for its key (cur, whose
// applied writes are local: the node had applied a write e's origin had not seen) and how the
// merge into merged resolved it. The conflict's At is left for the caller.
func (r mlResolver) detect(e mlEntry, cur, merged Record, local VV) (MLConflict, bool) {
	if cur.Empty() || local[e.Origin] >= e.Seq {
		return MLConflict{}, false
	}
	concurrent := false
	for node, s := range local { // any order: the answer is whether one entry exceeds
		if s > e.Deps[node] {
			concurrent = true
			break
		}
	}
	if !concurrent {
		return MLConflict{}, false
	}
	c := MLConflict{Key: e.Key, Origin: e.Origin, Seq: e.Seq, Resolution: "merged"}
	switch {
	case r.lww(e.Rec.Kind):
		c.Kept = describe(merged)
		if sameDot(merged.Sibs[0], e.Rec.Sibs[0]) {
			c.Resolution, c.Lost = "lww-incoming-won", describe(cur)
		} else {
			c.Resolution, c.Lost = "lww-local-won", describe(e.Rec)
		}
	case e.Rec.Kind == KindRegister: // siblings
		if len(merged.Sibs) < 2 {
			return MLConflict{}, false // the incoming write's context resolved what was here
		}
		c.Resolution, c.Kept = "siblings-kept", merged.Values()
	}
	return c, true
}

// detectLocal decides what a local write, rec stamped (self, seq), was when it merged into cur
// as merged: under lww, a write that lost at once to the local version, newer by the clock (a
// skewed one's); under siblings, a register write whose context resolved siblings.
func (r mlResolver) detectLocal(key, self string, seq uint64, cur, rec, merged Record) (c MLConflict, lost, resolved bool) {
	switch {
	case r.lww(rec.Kind) && !cur.Empty() && !sameDot(merged.Sibs[0], rec.Sibs[0]):
		return MLConflict{Key: key, Origin: self, Seq: seq, Resolution: "lww-local-won",
			Kept: describe(merged), Lost: describe(rec)}, true, false
	case rec.Kind == KindRegister && r.cons == VClock && len(cur.Sibs) > 1 && len(merged.Sibs) == 1:
		return MLConflict{}, false, true
	}
	return MLConflict{}, false, false
}

// appliedVV is the key's version vector of applied writes after applying e: what it was, what
// e's origin had applied before e, and e itself.
func appliedVV(local VV, e mlEntry) VV {
	return local.Join(e.Deps).Join(VV{e.Origin: e.Seq})
}

// backoff is a retry schedule: the delay before the next attempt after failures consecutive
// failures is first doubled failures-1 times, capped at max, then (jitter > 0) shortened by up
// to that fraction, drawn from the source passed in. The multi-leader outboxes use it without
// jitter (20 ms, 40 ms, ... 1 s); the source may then be nil.
type backoff struct {
	first, max time.Duration
	jitter     float64 // 0..1
}

// delay is the wait after failures (>= 1) consecutive failed attempts.
func (b backoff) delay(failures int, rng *rand.Rand) time.Duration {
	d := b.first
	for i := 1; i < failures && d < b.max && d <= math.MaxInt64/2; i++ {
		d *= 2
	}
	d = min(d, b.max)
	if b.jitter > 0 && rng != nil {
		d -= time.Duration(b.jitter * rng.Float64() * float64(d))
	}
	return d
}

// next is when the next attempt is due after failures consecutive failures, the last at now.
func (b backoff) next(now time.Time, failures int, rng *rand.Rand) time.Time {
	return now.Add(b.delay(failures, rng))
}
