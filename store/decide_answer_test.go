package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/datadriven"
)

// Commands of TestDecide for failure suspicion and hint delivery (decide_answer.go):
// suspicion.txt, hint_delivery.txt.
func answerCommands() map[string]decideCmd {
	return map[string]decideCmd{
		"suspicion":  cmdSuspicion,
		"hint-fate":  cmdHintFate,
		"hint-round": cmdHintRound,
	}
}

func cmdSuspicion(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// input: PEER ANSWER [cancelled] | probe
	var s suspicion
	for _, l := range lines(d) {
		if l[0] == "probe" {
			fmt.Fprintf(&b, "probe -> pings %s\n", fmtList(s.list()))
			continue
		}
		ans, ok := parseAnswer(l[1])
		if !ok {
			return "", fmt.Errorf("unknown answer %q", l[1])
		}
		s.observe(l[0], ans, slices.Contains(l, "cancelled"))
		fmt.Fprintf(&b, "%-26s suspected=%s\n", strings.Join(l, " "), fmtList(s.list()))
	}
	return b.String(), nil
}

func cmdHintFate(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	for ans := AnswerOK; ans <= AnswerLocalFailure; ans++ {
		fmt.Fprintf(&b, "%-14s -> %s\n", ans, hintFate(ans))
	}
	return b.String(), nil
}

func cmdHintRound(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// input: KEY TARGET ANSWER, in stored order
	var r hintRound
	for _, l := range lines(d) {
		if len(l) != 3 {
			return "", fmt.Errorf("hint-round: want KEY TARGET ANSWER")
		}
		if r.skip(l[1]) {
			fmt.Fprintf(&b, "%s for %s: skipped (target down this round)\n", l[0], l[1])
			continue
		}
		ans, ok := parseAnswer(l[2])
		if !ok {
			return "", fmt.Errorf("unknown answer %q", l[2])
		}
		fmt.Fprintf(&b, "%s for %s: %s -> %s\n", l[0], l[1], ans, r.record(l[1], hintFate(ans)))
	}
	return b.String(), nil
}
