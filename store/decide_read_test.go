package store

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/datadriven"
)

// Commands of TestDecide for reads (decide_read.go):
// read_outcome.txt, abd.txt, hint_placement.txt (read targets).
func readCommands() map[string]decideCmd {
	return map[string]decideCmd{
		"read-targets":  cmdReadTargets,
		"forward-order": cmdForwardOrder,
		"read-quorum":   cmdReadQuorum,
		"read":          cmdRead,
		"late":          cmdLate,
		"abd-next":      cmdAbdNext,
	}
}

func cmdReadTargets(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	n, err := a.int("n", 3)
	if err != nil {
		return "", err
	}
	tg := readTargets(a.list("walk"), n, a.str("self", "n1"), a.bool("sloppy"), a.set("suspect"))
	fmt.Fprintln(&b, fmtList(tg))
	return b.String(), nil
}

func cmdForwardOrder(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	fmt.Fprintln(&b, fmtList(forwardOrder(a.list("pref"), a.set("suspect"))))
	return b.String(), nil
}

func cmdReadQuorum(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// read-quorum r=R; input: answer | fail | finish | timeout
	r, err := a.int("r", 2)
	if err != nil {
		return "", err
	}
	t := readTally{R: r}
	for _, l := range lines(d) {
		switch l[0] {
		case "answer":
			t.Got++
		case "fail":
			t.Failed++
		case "finish":
			t.Finished = true
		case "timeout":
			t.TimedOut = true
		default:
			return "", fmt.Errorf("read-quorum: unknown line %q", l[0])
		}
		ok, done := t.decide()
		res := "open"
		switch {
		case ok:
			res = "ok"
		case done:
			res = "error (indeterminate read)"
		}
		fmt.Fprintf(&b, "%-8s got=%d failed=%d -> %s\n", l[0], t.Got, t.Failed, res)
	}
	return b.String(), nil
}

func cmdRead(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// read kind=K cons=C [read-repair] wb=W; input: NODE RECORD (any order)
	wb, err := a.int("wb", 2)
	if err != nil {
		return "", err
	}
	resps := map[string]Record{}
	for _, l := range lines(d) {
		r, err := parseRecord(l[1:])
		if err != nil {
			return "", err
		}
		resps[l[0]] = r
	}
	p := planRead(sortedAnswers(resps), a.str("kind", KindRegister), a.str("cons", LWW), a.bool("read-repair"), wb)
	fmt.Fprintf(&b, "merged: %s\n", fmtRecord(p.merged))
	if p.wrongKind {
		fmt.Fprintf(&b, "wrong kind: answer a conflict\n")
		return b.String(), nil
	}
	fmt.Fprintf(&b, "stale: %s\n", fmtList(p.stale))
	fmt.Fprintf(&b, "crdt merges: %d\n", p.crdtMerges)
	fmt.Fprintf(&b, "write-back: %v\nrepair: %v\nrepair late: %v\n", p.writeBack, p.repair, p.repairLate)
	return b.String(), nil
}

func cmdLate(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// late cons=C; input: merged RECORD / late RECORD
	var merged, late Record
	for _, l := range lines(d) {
		r, err := parseRecord(l[1:])
		if err != nil {
			return "", err
		}
		if l[0] == "merged" {
			merged = r
		} else {
			late = r
		}
	}
	fmt.Fprintf(&b, "repair: %v\n", lateNeedsRepair(merged, late, a.str("cons", LWW)))
	return b.String(), nil
}

func cmdAbdNext(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	var ans []readAnswer
	for _, l := range lines(d) {
		r, err := parseRecord(l[1:])
		if err != nil {
			return "", err
		}
		ans = append(ans, readAnswer{l[0], r})
	}
	fmt.Fprintf(&b, "ts: %d\n", abdNextTS(ans))
	return b.String(), nil
}
