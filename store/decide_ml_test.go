package store

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/datadriven"
)

// Commands of TestDecide for multi-leader conflicts and the outbox retry schedule (decide_ml.go):
// ml_conflict.txt, outbox_backoff.txt.
func mlCommands() map[string]decideCmd {
	return map[string]decideCmd{
		"backoff":  cmdBackoff,
		"ml-apply": cmdMlApply,
		"ml-local": cmdMlLocal,
	}
}

func cmdBackoff(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// backoff first=D max=D [jitter=F seed=S] failures=N [now=RFC3339]
	first, err := time.ParseDuration(a.str("first", "20ms"))
	if err != nil {
		return "", err
	}
	maxD, err := time.ParseDuration(a.str("max", "1s"))
	if err != nil {
		return "", err
	}
	jitter, err := strconv.ParseFloat(a.str("jitter", "0"), 64)
	if err != nil {
		return "", err
	}
	n, err := a.int("failures", 8)
	if err != nil {
		return "", err
	}
	bo := backoff{first: first, max: maxD, jitter: jitter}
	var rng *rand.Rand
	if seed, err := a.int("seed", -1); err != nil {
		return "", err
	} else if seed >= 0 {
		rng = rand.New(rand.NewPCG(uint64(seed), 0))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	from, err := a.int("from", 1)
	if err != nil {
		return "", err
	}
	for f := from; f <= n; f = nextShown(f, from, n) {
		next := bo.next(now, f, rng)
		fmt.Fprintf(&b, "failures=%d delay=%s next=%s\n", f, next.Sub(now), next.Format(time.RFC3339Nano))
	}
	return b.String(), nil
}

func cmdMlApply(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// ml-apply conflict=C cons=C self=N applied=SEQ origin=N seq=S [deps=VV] [local=VV];
	// input: cur RECORD / in RECORD
	res := mlResolver{conflict: a.str("conflict", ConflictLWW), cons: a.str("cons", LWW)}
	seq, err := a.int("seq", 1)
	if err != nil {
		return "", err
	}
	appl, err := a.int("applied", 0)
	if err != nil {
		return "", err
	}
	deps, err := ParseContext(a.str("deps", ""))
	if err != nil {
		return "", err
	}
	local, err := ParseContext(a.str("local", ""))
	if err != nil {
		return "", err
	}
	cur, in, err := curAndIn(d)
	if err != nil {
		return "", err
	}
	e := mlEntry{Origin: a.str("origin", "n2"), Seq: uint64(seq), Key: "k", Rec: in, Deps: deps}
	if mlDuplicate(a.str("self", "n1"), e, uint64(appl)) {
		fmt.Fprintln(&b, "duplicate: skipped")
		return b.String(), nil
	}
	if kindConflict(cur, in) {
		fmt.Fprintln(&b, "kind conflict: skipped")
		return b.String(), nil
	}
	merged, err := res.merge(cur, in)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "merged: %s\n", fmtRecord(merged))
	if c, ok := res.detect(e, cur, merged, local); ok {
		fmt.Fprintf(&b, "conflict: %s kept=%s lost=%s\n", c.Resolution, fmtList(c.Kept), fmtList(c.Lost))
	} else {
		fmt.Fprintln(&b, "conflict: none")
	}
	fmt.Fprintf(&b, "applied vv: %s\n", fmtVV(appliedVV(local, e)))
	return b.String(), nil
}

func cmdMlLocal(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// ml-local conflict=C cons=C seq=S; input: cur RECORD / in RECORD (the local write)
	res := mlResolver{conflict: a.str("conflict", ConflictLWW), cons: a.str("cons", LWW)}
	seq, err := a.int("seq", 1)
	if err != nil {
		return "", err
	}
	cur, in, err := curAndIn(d)
	if err != nil {
		return "", err
	}
	merged, err := res.merge(cur, in)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String(), nil
	}
	c, lost, resolved := res.detectLocal("k", "n1", uint64(seq), cur, in, merged)
	fmt.Fprintf(&b, "merged: %s\n", fmtRecord(merged))
	switch {
	case lost:
		fmt.Fprintf(&b, "conflict: %s kept=%s lost=%s\n", c.Resolution, fmtList(c.Kept), fmtList(c.Lost))
	case resolved:
		fmt.Fprintln(&b, "siblings resolved")
	default:
		fmt.Fprintln(&b, "conflict: none")
	}
	return b.String(), nil
}

// curAndIn reads a case's input lines: "cur RECORD" (what the node holds) and "in RECORD" (what
// arrives).
func curAndIn(d *datadriven.TestData) (cur, in Record, err error) {
	for _, l := range lines(d) {
		r, err := parseRecord(l[1:])
		if err != nil {
			return cur, in, err
		}
		if l[0] == "cur" {
			cur = r
		} else {
			in = r
		}
	}
	return cur, in, nil
}
