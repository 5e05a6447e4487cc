package store

import "fmt"

// Majority is the smallest quorum of n that intersects every other: n/2+1.
func Majority(n int) int { return n/2 + 1 }

// CheckQuorum validates a per-request w or r: 0 means the node default, otherwise 1..n.
func CheckQuorum(name string, q, n int) error {
	if q < 0 || q > n {
		return fmt.Errorf("%s %d out of range 1..%d (0 = node default)", name, q, n)
	}
	return nil
}

// Outcome of a replicated write.
type Outcome int

// Outcomes. Failed means no replica applied the write and none will.
const (
	OutcomeOK Outcome = iota
	OutcomeFailed
	OutcomeIndeterminate
)

func (o Outcome) String() string { return [...]string{"ok", "failed", "indeterminate"}[o] }

// Tally counts a write's replica answers.
type Tally struct {
	Acks      int  // distinct nodes that applied it and count toward W (sloppy hinted acks included)
	Refused   int  // replicas that definitely did not apply it (refused connection, error answer)
	Unknown   int  // replicas that did not answer in time (may have applied)
	Pending   int  // replicas whose attempt has not reported yet (may still apply it)
	Hinted    bool // a hint was stored somewhere: the write will be applied later
	Deferred  bool // the write may be applied later anyway (a counter's durable contribution)
	Targets   int  // replicas the write was sent to
	Finished  bool // every attempt (replica writes and hint placements) has ended
	TimedOut  bool // the coordinator's deadline passed
	HintAcked int  // hinted acks from fallback nodes (already in Acks when sloppy)
}

// Decide turns a tally into an outcome for quorum w. It returns done=false while the answer is
// still open (fewer than w acks, attempts pending and time left).
//
// Failed is a promise that the write was not applied and never will be, so it needs every
// attempt to have ended (Finished) without applying it. When the deadline passes first, the
// attempts still running (a replica that has not answered, the coordinator's own local write
// waiting for its commit, a hint being placed) may yet apply it: the write is indeterminate.
func (t Tally) Decide(w int) (o Outcome, done bool) {
	if t.Acks >= w {
		return OutcomeOK, true
	}
	if !t.Finished && !t.TimedOut {
		return OutcomeOK, false
	}
	if t.Finished && t.Acks == 0 && t.Unknown == 0 && t.Pending == 0 && !t.Hinted && !t.Deferred {
		return OutcomeFailed, true
	}
	return OutcomeIndeterminate, true
}
