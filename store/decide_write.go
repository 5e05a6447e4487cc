package store

// attempt is one reported result of a leaderless write: a preference-list replica's direct
// write, or a hint placed for it.
type attempt struct {
	node      string // node that acked (replica, or fallback holding a hint)
	ok        bool
	refused   bool  // the replica definitely did not apply it
	hinted    bool  // stored as a hint
	countable bool  // counts toward W
	conflict  bool  // the replica holds another kind of record
	err       error // what the replica answered, for the client's message (conflicts)
}

// directAttempt is the result of target's direct write, given its answer.
func directAttempt(target string, a Answer) attempt {
	switch a {
	case AnswerOK:
		return attempt{node: target, ok: true, countable: true}
	case AnswerConflict:
		return attempt{node: target, refused: true, conflict: true}
	}
	return attempt{node: target, refused: a.Definite()}
}

// wantsHint reports whether a remote replica's direct write that got answer a is followed by a
// hint for it (hinted handoff on): not after a success, and not after a kind conflict (a hint
// would conflict too).
func wantsHint(a Answer, handoff bool) bool {
	return handoff && a != AnswerOK && a != AnswerConflict
}

// hintAttempt is the result of a hint stored for a replica on node. A hint on a fallback
// counts toward W only with a sloppy quorum; the last-resort hint kept at the coordinator
// (atCoordinator) never does: the coordinator may already count as a replica, and a hint there
// is not a distinct healthy node.
func hintAttempt(node string, sloppy, atCoordinator bool) attempt {
	return attempt{node: node, ok: true, hinted: true, countable: sloppy && !atCoordinator}
}

// fallbackPicker hands out the fallback nodes of one write (the ring walk past the preference
// list, nearest first), each at most once across the write's replicas: the first one not yet
// used that is this node or not suspected down. Not safe for concurrent use.
type fallbackPicker struct {
	list []string
	self string
	used map[string]bool
}

func newFallbackPicker(fallbacks []string, self string) *fallbackPicker {
	return &fallbackPicker{list: fallbacks, self: self, used: map[string]bool{}}
}

// next returns the next fallback, or "" when none is left.
func (f *fallbackPicker) next(suspected func(string) bool) string {
	for _, n := range f.list {
		if !f.used[n] && (n == f.self || !suspected(n)) {
			f.used[n] = true
			return n
		}
	}
	return ""
}

// vclockWrite is the record a replica coordinating a vclock write merges in: one sibling with
// the next dot of this node for the key (self, the highest seq of self that the local record
// knows + 1) and the client's causal context. So one node's dots are contiguous per key, and a
// context naming a dot covers only versions its reader saw. A local record of another kind is
// a kind conflict.
func vclockWrite(local Record, self, value string, causal VV) (Record, error) {
	if !local.Empty() && local.Kind != KindRegister {
		return Record{}, kindError{have: local.Kind, got: KindRegister}
	}
	sib := Sibling{Value: value, Node: self, Seq: local.Context()[self] + 1, Ctx: causal}
	return Record{Kind: KindRegister, Sibs: []Sibling{sib}}, nil
}

// forwardResult is what a non-replica does after a replica's answer to a forwarded vclock write.
type forwardResult int

const (
	forwardDone          forwardResult = iota // the replica coordinated it and it was acknowledged
	forwardRelay                              // the replica answered an error: its outcome is the client's
	forwardIndeterminate                      // no answer: the replica may have coordinated it
	forwardNext                               // the replica was not reached: try the next one
)

func (f forwardResult) String() string {
	return [...]string{"done", "relay the replica's answer", "indeterminate", "try the next replica"}[f]
}

// forwardFate classifies a replica's answer to a forwarded vclock write.
func forwardFate(a Answer) forwardResult {
	switch {
	case a == AnswerOK:
		return forwardDone
	case a.Answered():
		return forwardRelay
	case a == AnswerNoReply:
		return forwardIndeterminate
	}
	return forwardNext
}

// writeTally is a write's Tally as its attempts report, plus what the conflict rule needs.
type writeTally struct {
	Tally
	counted   map[string]bool // nodes whose ack counted (each node counts once)
	conflicts int             // replicas that hold another kind of record
}

// newWriteTally starts the tally of a write sent to targets replicas. deferred says the write
// may be applied later even if no replica applies it now (a counter's durable contribution).
func newWriteTally(targets int, deferred bool) *writeTally {
	return &writeTally{
		Tally:   Tally{Targets: targets, Pending: targets, Deferred: deferred},
		counted: map[string]bool{},
	}
}

// take counts one attempt. Each target reports exactly one direct result (which ends its
// pending state) and at most one hint. It reports whether the attempt was a sloppy hinted ack
// (a hint on a fallback counted toward W).
func (t *writeTally) take(a attempt) (sloppyAck bool) {
	if !a.hinted {
		t.Pending--
	}
	switch {
	case a.ok && a.countable && !t.counted[a.node]:
		t.counted[a.node] = true
		t.Acks++
		if a.hinted {
			t.HintAcked++
			sloppyAck = true
		}
	case a.ok && a.hinted:
		t.Hinted = true
	case !a.ok && a.refused:
		t.Refused++
		if a.conflict {
			t.conflicts++
		}
	case !a.ok:
		t.Unknown++
	}
	if a.hinted {
		t.Hinted = true
	}
	return sloppyAck
}

// decide is Tally.Decide plus the conflict rule: when every replica holds another kind of
// record and none applied the write, the write is refused as a kind conflict (conflicted).
func (t *writeTally) decide(w int) (o Outcome, conflicted, done bool) {
	o, done = t.Decide(w)
	if done && o != OutcomeOK && t.Acks == 0 && t.conflicts == t.Targets {
		return o, true, true
	}
	return o, false, done
}
