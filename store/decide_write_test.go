package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/datadriven"
)

// Commands of TestDecide for write outcomes and hint placement (decide_write.go):
// write_outcome.txt, hint_placement.txt.
func writeCommands() map[string]decideCmd {
	return map[string]decideCmd{
		"write":        cmdWrite,
		"direct":       cmdDirect,
		"fallbacks":    cmdFallbacks,
		"hint-attempt": cmdHintAttempt,
		"vclock-write": cmdVclockWrite,
		"forward-fate": cmdForwardFate,
	}
}

func cmdWrite(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// write targets=N w=W [deferred]; input: ANSWER NODE | hint NODE [sloppy] [coordinator]
	// | finish | timeout; prints the tally and the decision after each line.
	targets, err := a.int("targets", 3)
	if err != nil {
		return "", err
	}
	w, err := a.int("w", 2)
	if err != nil {
		return "", err
	}
	t := newWriteTally(targets, a.bool("deferred"))
	for _, l := range lines(d) {
		note := ""
		switch l[0] {
		case "finish":
			t.Finished = true
		case "timeout":
			t.TimedOut = true
		case "hint":
			if len(l) < 2 {
				return "", fmt.Errorf("hint: want a node")
			}
			at := hintAttempt(l[1], slices.Contains(l, "sloppy"), slices.Contains(l, "coordinator"))
			if t.take(at) {
				note = " (sloppy ack)"
			}
		default:
			ans, ok := parseAnswer(l[0])
			if !ok || len(l) < 2 {
				return "", fmt.Errorf("line %q: want ANSWER NODE", strings.Join(l, " "))
			}
			t.take(directAttempt(l[1], ans))
		}
		o, conflicted, done := t.decide(w)
		fmt.Fprintf(&b, "%-28s acks=%d refused=%d unknown=%d pending=%d hinted=%v -> %s%s\n",
			strings.Join(l, " "), t.Acks, t.Refused, t.Unknown, t.Pending, t.Hinted,
			outcomeString(o, conflicted, done), note)
	}
	return b.String(), nil
}

func cmdDirect(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// direct: every Answer as a replica's direct write result, and whether a hint follows.
	for ans := AnswerOK; ans <= AnswerLocalFailure; ans++ {
		at := directAttempt("n2", ans)
		fmt.Fprintf(&b, "%-14s ok=%-5v refused=%-5v conflict=%-5v countable=%-5v hint=%v\n",
			ans, at.ok, at.refused, at.conflict, at.countable, wantsHint(ans, true))
	}
	return b.String(), nil
}

func cmdFallbacks(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// fallbacks list=... self=N suspect=...; input: next [suspect=...]
	p := newFallbackPicker(a.list("list"), a.str("self", "n1"))
	suspect := a.set("suspect")
	for _, l := range lines(d) {
		if len(l) > 1 && strings.HasPrefix(l[1], "suspect=") {
			s := strings.Split(strings.TrimPrefix(l[1], "suspect="), ",")
			suspect = func(x string) bool { return slices.Contains(s, x) }
		}
		f := p.next(suspect)
		if f == "" {
			f = "(none: the hint stays at the coordinator, not counted)"
		}
		fmt.Fprintf(&b, "%s -> %s\n", strings.Join(l, " "), f)
	}
	return b.String(), nil
}

func cmdHintAttempt(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	for _, sloppy := range []bool{false, true} {
		for _, coord := range []bool{false, true} {
			at := hintAttempt("n4", sloppy, coord)
			fmt.Fprintf(&b, "sloppy=%-5v coordinator=%-5v -> ok=%v hinted=%v countable=%v\n",
				sloppy, coord, at.ok, at.hinted, at.countable)
		}
	}
	return b.String(), nil
}

func cmdVclockWrite(d *datadriven.TestData, a args) (string, error) {
	// vclock-write self=N value=V [ctx=VV]; input: the local RECORD (none: absent)
	var local Record
	for _, l := range lines(d) {
		r, err := parseRecord(l)
		if err != nil {
			return "", err
		}
		local = r
	}
	causal, err := ParseContext(a.str("ctx", ""))
	if err != nil {
		return "", err
	}
	rec, err := vclockWrite(local, a.str("self", "n1"), a.str("value", "v"), causal)
	if err != nil {
		return fmt.Sprintf("error: %v\n", err), nil
	}
	m, err := Merge(local, rec, VClock)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("write: %s\nmerged: %s\n", fmtRecord(rec), fmtRecord(m)), nil
}

func cmdForwardFate(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	for ans := AnswerOK; ans <= AnswerLocalFailure; ans++ {
		fmt.Fprintf(&b, "%-14s -> %s\n", ans, forwardFate(ans))
	}
	return b.String(), nil
}
