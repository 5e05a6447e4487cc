package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/datadriven"
)

// Commands of TestDecide for the merge rules of record.go (lww, vclock) and the ring:
// lww.txt, vclock.txt, ring.txt.
func recordCommands() map[string]decideCmd {
	return map[string]decideCmd{
		"merge":      cmdMerge,
		"newer":      cmdNewer,
		"compare":    cmdCompare,
		"ring":       cmdRing,
		"ml-targets": cmdMlTargets,
	}
}

func cmdMerge(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// merge cons=C; input: RECORD per line, merged left to right (and right to left: the
	// result must not depend on the order).
	var recs []Record
	for _, l := range lines(d) {
		r, err := parseRecord(l)
		if err != nil {
			return "", err
		}
		recs = append(recs, r)
	}
	cons := a.str("cons", LWW)
	fold := func(order []Record) (Record, error) {
		var m Record
		for _, r := range order {
			var err error
			if m, err = Merge(m, r, cons); err != nil {
				return m, err
			}
		}
		return m, nil
	}
	m, err := fold(recs)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String(), nil
	}
	rev := slices.Clone(recs)
	slices.Reverse(rev)
	if m2, err := fold(rev); err != nil || !m2.Equal(m) {
		return "", fmt.Errorf("merge depends on order: %s vs %s (%v)", fmtRecord(m), fmtRecord(m2), err)
	}
	fmt.Fprintln(&b, fmtRecord(m))
	if cons == VClock && m.Kind == KindRegister {
		fmt.Fprintf(&b, "values: %s\ncontext: %s\n", fmtList(m.Values()), fmtVV(m.Context()))
	}
	return b.String(), nil
}

func cmdNewer(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// newer a=STAMP b=STAMP
	x, err := parseStamp(a.str("a", ""))
	if err != nil {
		return "", err
	}
	y, err := parseStamp(a.str("b", ""))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "a newer: %v\nb newer: %v\n", x.newer(y), y.newer(x))
	return b.String(), nil
}

func cmdCompare(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	x, err := ParseContext(a.str("a", ""))
	if err != nil {
		return "", err
	}
	y, err := ParseContext(a.str("b", ""))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "%s\njoin: %s\n", x.Compare(y), fmtVV(x.Join(y)))
	return b.String(), nil
}

func cmdRing(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// ring nodes=... vnodes=V n=N; input: KEY per line
	vn, err := a.int("vnodes", 16)
	if err != nil {
		return "", err
	}
	n, err := a.int("n", 3)
	if err != nil {
		return "", err
	}
	r := NewRing(a.list("nodes"), vn)
	for _, l := range lines(d) {
		w := r.Walk(l[0])
		fmt.Fprintf(&b, "%s: pref=%s fallbacks=%s\n", l[0], fmtList(r.PrefList(l[0], n)), fmtList(w[min(n, len(w)):]))
	}
	return b.String(), nil
}

func cmdMlTargets(d *datadriven.TestData, a args) (string, error) {
	var b strings.Builder
	// ml-targets topology=T ids=...; prints who sends a write of each origin to whom
	ids := a.list("ids")
	topo := a.str("topology", TopologyAll)
	for _, origin := range ids {
		fmt.Fprintf(&b, "origin %s:", origin)
		for _, self := range ids {
			fmt.Fprintf(&b, " %s->%s", self, fmtList(MLTargets(topo, ids, self, origin)))
		}
		fmt.Fprintln(&b)
	}
	for _, self := range ids {
		fmt.Fprintf(&b, "outboxes of %s: %s\n", self, fmtList(MLOutPeers(topo, ids, self)))
	}
	return b.String(), nil
}
