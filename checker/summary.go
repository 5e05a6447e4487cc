package checker

import (
	"fmt"
	"io"
	"strings"
)

// Summary writes the verdict for people: a table of checkers, the counts, the explanations,
// and where the visualization is.
func (r *Results) Summary(w io.Writer) {
	fmt.Fprintf(w, "verdict: %s (workload %s", strings.ToUpper(r.Valid.String()), r.Workload)
	if r.Model != "" {
		fmt.Fprintf(w, ", model %s", r.Model)
	}
	fmt.Fprint(w, ")")
	if r.Partial {
		fmt.Fprint(w, " on a partial history: it covers only what was read")
	}
	fmt.Fprintln(w)
	for _, n := range r.PartialNotes {
		fmt.Fprintf(w, "partial history: %s\n", n)
	}
	c := r.Counts
	fmt.Fprintf(w, "history: %d records, %d operations (ok %d, fail %d, info %d, unfinished %d), %d nemesis ops, %d keys\n",
		c.Ops, c.Operations, c.OK, c.Fail, c.Info, c.Unfinished, c.Nemesis, c.Keys)
	for _, name := range Names() {
		res, ok := r.Checkers[name]
		if !ok {
			continue
		}
		role := "reported"
		if res.Decides {
			role = "decides"
		}
		verdict := res.Valid.String()
		if res.Skipped != "" {
			verdict = "skipped"
		}
		if name == Staleness {
			verdict = "-"
		}
		fmt.Fprintf(w, "  %-16s %-8s %-8s", name, verdict, role)
		if len(res.Explanation) > 0 {
			fmt.Fprintf(w, " %s", res.Explanation[0])
		}
		fmt.Fprintln(w)
		for i, e := range res.Explanation {
			if i == 0 {
				continue
			}
			if i > 10 {
				fmt.Fprintf(w, "      ... %d more (see results.json)\n", len(res.Explanation)-i)
				break
			}
			fmt.Fprintf(w, "      %s\n", e)
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	if r.Visualization != "" {
		fmt.Fprintf(w, "visualization: %s\n", r.Visualization)
	}
}
