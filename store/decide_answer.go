package store

import "slices"

// This file and the other decide_*.go files hold the replication decisions as pure functions
// and small pure types: inputs are explicit (time as a value, randomness as a passed-in source,
// peers as sorted slices), nothing reads a clock, starts a goroutine, does I/O or lets map
// order leak out. The cores (core_leaderless*.go, core_multileader*.go) call them, so
// each decision has one implementation, and testdata/decide/*.txt pins them down
// (decide_test.go, datadriven; go test ./store -run TestDecide -rewrite regenerates them).

// Answer is what one call to a peer (or one local apply standing in for it) came to, as the
// replication decisions see it: a domain kind, not an HTTP status. answerOf maps the shell's
// errors onto it.
type Answer int

// Answers.
const (
	AnswerOK           Answer = iota
	AnswerNoReply             // no answer in time (lost, cut, slow): the peer may have applied it
	AnswerUnreachable         // the peer could not be reached (refused connection, unknown peer, skipped as suspected): not applied
	AnswerConflict            // the replica holds another kind of record for the key: not applied, and never will be
	AnswerInvalid             // the peer refused this request as invalid (bad input, too large): it always will
	AnswerServerError         // the peer answered a server error: not applied this time
	AnswerRejected            // the peer turns every request away now (unauthorized, not found): not applied
	AnswerLocalFailure        // this node's own storage failed
)

var answerNames = [...]string{"ok", "no-reply", "unreachable", "conflict", "invalid", "server-error", "rejected", "local-failure"}

func (a Answer) String() string {
	if a < 0 || int(a) >= len(answerNames) {
		return "answer(?)"
	}
	return answerNames[a]
}

// parseAnswer is String's inverse (for testdata).
func parseAnswer(s string) (Answer, bool) {
	i := slices.Index(answerNames[:], s)
	return Answer(i), i >= 0
}

// Definite reports whether the peer definitely did not apply what it was sent: every answer
// but ok and no-reply (a local failure is this node's commit failing, which rolls back).
func (a Answer) Definite() bool { return a != AnswerOK && a != AnswerNoReply }

// Answered reports whether the peer itself answered (with success or an error): it is up.
func (a Answer) Answered() bool {
	switch a {
	case AnswerOK, AnswerConflict, AnswerInvalid, AnswerServerError, AnswerRejected:
		return true
	}
	return false
}

// ---- failure suspicion ----

// suspicion is the failure detector's state: the peers whose last call got no answer. A peer
// is suspected from its first unanswered call until any answer from it (a call of an
// operation, or the probe that pings every suspect each hint interval): there is no expiry by
// time. Not safe for concurrent use (the core runs on one thread).
type suspicion struct {
	down map[string]bool
}

// observe updates the suspicion of peer after a call to it got answer a. callerGone says the
// caller went away (cancelled) before an answer: that is no news of the peer. A deadline that
// passed without an answer is news: that is what a partition looks like.
func (s *suspicion) observe(peer string, a Answer, callerGone bool) {
	switch {
	case a.Answered():
		delete(s.down, peer)
	case callerGone:
	default:
		if s.down == nil {
			s.down = map[string]bool{}
		}
		s.down[peer] = true
	}
}

// suspected reports whether peer is suspected down.
func (s *suspicion) suspected(p string) bool { return s.down[p] }

// list returns the suspected peers, sorted (the probe's order).
func (s *suspicion) list() []string {
	out := make([]string, 0, len(s.down))
	for p := range s.down {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// ---- hint delivery ----

// hintResult is what one hint delivery's answer means for the hint and for the round.
type hintResult int

const (
	hintDelivered  hintResult = iota // delete the hint
	hintRefused                      // the target refused this hint as invalid: it always will; set it aside
	hintRetry                        // a failure of this delivery only: offer it again next round
	hintTargetDown                   // the target cannot take any hint now: skip its other hints this round
)

func (h hintResult) String() string {
	return [...]string{"delivered", "set-aside", "retry", "target-down"}[h]
}

// hintFate classifies a hint delivery's answer (see deliverHints): a kind conflict (the target
// holds another kind, or locally) or an invalid-request answer is forever; a server error or a
// local storage failure is this delivery's; no answer, an unreachable target or a refusal of
// every request is the target's.
func hintFate(a Answer) hintResult {
	switch a {
	case AnswerOK:
		return hintDelivered
	case AnswerConflict, AnswerInvalid:
		return hintRefused
	case AnswerServerError, AnswerLocalFailure:
		return hintRetry
	}
	return hintTargetDown
}

// hintRound is one delivery round's memory: the targets found down, whose remaining hints the
// round skips. Hints are offered in stored order (key, then target).
type hintRound struct {
	down map[string]bool
}

// skip reports whether the round skips a hint for target.
func (r *hintRound) skip(target string) bool { return r.down[target] }

// record notes a delivery's result for target and returns it.
func (r *hintRound) record(target string, h hintResult) hintResult {
	if h == hintTargetDown {
		if r.down == nil {
			r.down = map[string]bool{}
		}
		r.down[target] = true
	}
	return h
}
