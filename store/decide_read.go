package store

import "slices"

// readTargets are the nodes a read asks, given the key's ring walk: the preference list (its
// first n nodes), or with a sloppy quorum the first n nodes of the walk not suspected down
// (this node is never suspected), topped up with suspected ones in walk order.
func readTargets(walk []string, n int, self string, sloppy bool, suspected func(string) bool) []string {
	if !sloppy {
		return walk[:n]
	}
	var out, down []string
	for _, x := range walk {
		if x == self || !suspected(x) {
			out = append(out, x)
		} else {
			down = append(down, x)
		}
	}
	out = append(out, down...)
	return out[:n]
}

// forwardOrder is the order in which a non-replica tries the preference list when it forwards
// a vclock write: replicas not suspected down first, each group in preference order.
func forwardOrder(pref []string, suspected func(string) bool) []string {
	order := make([]string, 0, len(pref))
	for _, p := range pref {
		if !suspected(p) {
			order = append(order, p)
		}
	}
	for _, p := range pref {
		if suspected(p) {
			order = append(order, p)
		}
	}
	return order
}

// readTally counts a read's replica answers for quorum r.
type readTally struct {
	R        int
	Got      int  // replicas that answered with their record
	Failed   int  // replicas that answered an error or nothing
	Finished bool // every replica reported
	TimedOut bool // the operation's deadline passed
}

// decide says whether the read has its quorum (ok) and whether the gathering is over (done).
// Once r replicas answered, it is ok, whatever else happens; before that, the end of every
// attempt or the deadline ends it without a quorum.
func (t readTally) decide() (ok, done bool) {
	switch {
	case t.Got >= t.R:
		return true, true
	case t.Finished || t.TimedOut:
		return false, true
	}
	return false, false
}

// readAnswer is one replica's record in a read.
type readAnswer struct {
	node string
	rec  Record
}

// sortedAnswers lists a read's answers by node, the order every read decision takes them in.
func sortedAnswers(resps map[string]Record) []readAnswer {
	out := make([]readAnswer, 0, len(resps))
	for n, r := range resps {
		out = append(out, readAnswer{n, r})
	}
	slices.SortFunc(out, func(a, b readAnswer) int {
		switch {
		case a.node < b.node:
			return -1
		case a.node > b.node:
			return 1
		}
		return 0
	})
	return out
}

// readPlan is what a read does with the answers of its quorum.
type readPlan struct {
	merged     Record   // the answer: every answer merged (answers of another kind than the first skipped)
	crdtMerges int      // merges of differing counter or set replicas
	wrongKind  bool     // the key holds another kind than the client asked for: answer a conflict
	stale      []string // responders whose record differs from merged, in node order
	writeBack  bool     // abd: merged must reach a write quorum before the read answers
	repair     bool     // read repair: write merged to the stale responders
	repairLate bool     // repair the replicas whose answers arrive after the read returned
}

// planRead merges the answers (sorted by node) of a read of kind and decides the write-back
// (abd registers: unless wb of the answers already hold the value) and the read repairs (with
// readRepair on, of the stale responders and of late answers; abd registers always repair late
// answers).
func planRead(answers []readAnswer, kind, cons string, readRepair bool, wb int) readPlan {
	var p readPlan
	for _, a := range answers {
		m, err := Merge(p.merged, a.rec, cons)
		if err != nil {
			continue
		}
		if !p.merged.Empty() && a.rec.Kind != KindRegister && !p.merged.Equal(a.rec) {
			p.crdtMerges++
		}
		p.merged = m
	}
	if !p.merged.Empty() && p.merged.Kind != kind {
		p.wrongKind = true
		return p
	}
	for _, a := range answers {
		if !a.rec.Equal(p.merged) {
			p.stale = append(p.stale, a.node)
		}
	}
	switch {
	case cons == ABD && kind == KindRegister:
		p.writeBack = !p.merged.Empty() && len(answers)-len(p.stale) < wb
		p.repairLate = true
	case readRepair:
		p.repair = len(p.stale) > 0 && !p.merged.Empty()
		p.repairLate = true
	}
	return p
}

// lateNeedsRepair reports whether a replica's answer that arrived after the read returned
// merged is to be repaired with merged: it differs from merged and knows nothing merged does
// not (a replica that knows more is left to anti-entropy).
func lateNeedsRepair(merged, late Record, cons string) bool {
	if late.Equal(merged) {
		return false
	}
	if m, err := Merge(merged, late, cons); err == nil && !m.Equal(merged) {
		return false
	}
	return true
}

// abdNextTS is the version an abd write takes after its query phase: one past the highest
// register version among the answers.
func abdNextTS(answers []readAnswer) int64 {
	var maxTS int64
	for _, a := range answers {
		r := a.rec
		if r.Kind == KindRegister && len(r.Sibs) > 0 && r.Sibs[0].TS > maxTS {
			maxTS = r.Sibs[0].TS
		}
	}
	return maxTS + 1
}
