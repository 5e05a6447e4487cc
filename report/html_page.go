package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// page is what the report template shows.
type page struct {
	Name, Started, Duration string
	Verdict                 string // valid, invalid, unknown, or none (no results.json)
	Workload, Model         string
	Counts                  opCounts
	Checkers                []checkerView
	ResultWarnings          []string
	Visual                  string
	Events                  *eventsView // the store's decisions (simulated runs), nil without events.jsonl
	Timeline                template.HTML
	Latency                 template.HTML
	Throughput              template.HTML
	PerColumn               bool
	Anomalies               int // operations outlined as evidence
	Folded                  int
	Kinds                   []string
	Faults                  []faultRow
	FaultsMore              int
	Config                  []kv
	Harness                 []kv
	NodeStats               statsTable
	StatsRaw                string
	Files                   []fileView
	Problems                []string
}

type checkerView struct {
	Name, Verdict string
	Decides       bool
	Skipped       string
	Explanation   []string // shown
	Folded        []string // more lines, behind a disclosure
	More          int      // lines left out (in results.json only)
	Details       string
}

type faultRow struct{ At, F, Node, Detail, Took, Error string }

type fileView struct{ Name, Size string }

type statsTable struct {
	Nodes []string
	Rows  []statsRow
}

type statsRow struct {
	Name   string
	Values []string
}

func buildPage(d *runData, opt HTMLOptions) *page {
	p := &page{Name: d.name, Verdict: "none", Problems: d.problems, Visual: d.visual}
	if !d.started.IsZero() {
		p.Started = d.started.Format("2006-01-02 15:04:05 UTC")
	}
	var end int64 = 1
	for i := range d.ops {
		end = max(end, d.ops[i].Time)
	}
	p.Duration = fmtDur(end)
	sp, orphans := spans(d.ops, end)
	ivs := intervals(d.ops, end)
	p.Counts = countOps(d.ops, sp)
	p.Counts.Orphans = orphans
	p.Kinds = kindsOf(ivs)

	var cfg struct {
		Workload    string `json:"workload"`
		Concurrency int    `json:"concurrency"`
	}
	if d.config != nil {
		_ = json.Unmarshal(d.config, &cfg)
		if flat, err := flattenJSON(d.config); err == nil {
			p.Config = flat
		} else {
			p.Problems = append(p.Problems, err.Error())
		}
	}
	p.Workload = cfg.Workload
	if r := d.results; r != nil {
		p.Verdict = verdictOf(r.Valid)
		if r.Workload != "" {
			p.Workload = r.Workload
		}
		p.Model = r.Model
		p.ResultWarnings = clipAll(r.Warnings)
		p.Checkers = checkerViews(r, opt.MaxListed)
	}

	a := axis{0, end}
	rm := newRowMap(sp, opt.MaxRows, cfg.Concurrency)
	p.Folded = rm.fold
	var marks []anomaly
	if d.results != nil {
		marks = anomalies(d.results, maxMarks)
	}
	p.Anomalies = len(marks)
	p.Events = buildEvents(d.events, marks, opt.MaxListed)
	svg, perColumn := timelineSVG(a, d.ops, sp, ivs, marks, rm, opt.MaxBars)
	p.Timeline, p.PerColumn = template.HTML(svg), perColumn
	p.Latency = template.HTML(latencySVG(a, sp, ivs, opt.Buckets))
	p.Throughput = template.HTML(throughputSVG(a, sp, ivs, opt.Buckets))

	p.Faults = faultRows(d)
	if len(p.Faults) > opt.MaxListed {
		p.FaultsMore = len(p.Faults) - opt.MaxListed
		p.Faults = p.Faults[:opt.MaxListed]
	}
	if h, ok := d.stats["harness"]; ok {
		p.Harness, _ = flattenJSON(h)
	}
	p.NodeStats = nodeStats(d.stats)
	if len(d.stats) > 0 {
		if b, err := json.MarshalIndent(d.stats, "", "  "); err == nil {
			p.StatsRaw = string(b)
		}
	}
	for _, f := range d.files {
		p.Files = append(p.Files, fileView{f.Name, humanSize(f.Size)})
	}
	return p
}

// maxMarks caps the operations outlined as evidence in the timeline.
const maxMarks = 50

// anomaly is an operation an invalid checker names in its details as evidence (an OpRef
// in checker's terms: process, f, key, index, call, return).
type anomaly struct {
	checker, key, f, output string
	process                 history.Process
	index, call, ret        int64
}

func (m anomaly) tip() string {
	s := fmt.Sprintf("%s: p%s %s", m.checker, m.process, m.f)
	if m.key != "" {
		s += " " + m.key
	}
	if m.output != "" {
		s += " -> " + m.output
	}
	return s + fmt.Sprintf(" [index %d, t=%s]", m.index, fmtDur(m.call))
}

// anomalies collects, from the invalid checkers' details, the objects that name an operation
// (with "process", "index" and "call"), at most max of them.
func anomalies(r *resultsDoc, max int) []anomaly {
	var out []anomaly
	for _, name := range sortedCheckers(r) {
		c := r.Checkers[name]
		if c == nil || verdictOf(c.Valid) != "invalid" || len(c.Details) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(c.Details))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			continue
		}
		var walk func(v any)
		walk = func(v any) {
			if len(out) >= max {
				return
			}
			switch t := v.(type) {
			case map[string]any:
				if m, ok := opRef(name, t); ok {
					out = append(out, m)
					return
				}
				keys := make([]string, 0, len(t))
				for k := range t {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					walk(t[k])
				}
			case []any:
				for _, x := range t {
					walk(x)
				}
			}
		}
		walk(v)
	}
	return out
}

func opRef(checker string, m map[string]any) (anomaly, bool) {
	num := func(k string) (int64, bool) {
		n, ok := m[k].(json.Number)
		if !ok {
			return 0, false
		}
		i, err := n.Int64()
		return i, err == nil
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	index, ok1 := num("index")
	call, ok2 := num("call")
	if !ok1 || !ok2 {
		return anomaly{}, false
	}
	var proc history.Process
	switch t := m["process"].(type) {
	case string:
		if err := proc.UnmarshalJSON([]byte(strconv.Quote(t))); err != nil { // "nemesis"
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				return anomaly{}, false
			}
			proc = history.Process(n)
		}
	case json.Number:
		n, err := t.Int64()
		if err != nil || n < 0 {
			return anomaly{}, false
		}
		proc = history.Process(n)
	default:
		return anomaly{}, false
	}
	ret, _ := num("return")
	return anomaly{checker: checker, key: str("key"), f: str("f"), output: str("output"),
		process: proc, index: index, call: call, ret: ret}, true
}

// checkerOrder is the report order of the checkers results.json may hold.
func checkerOrder() []string {
	return []string{"linearizable", "lost-updates", "lost-increments", "counter-bounds", "convergence", "staleness"}
}

// shownLines is how many explanation lines a checker shows before "more".
const shownLines = 4

// sortedCheckers returns the checker names of r in report order.
func sortedCheckers(r *resultsDoc) []string {
	names := make([]string, 0, len(r.Checkers))
	for n := range r.Checkers {
		names = append(names, n)
	}
	rank := func(n string) int {
		for i, m := range checkerOrder() {
			if m == n {
				return i
			}
		}
		return len(checkerOrder())
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

func checkerViews(r *resultsDoc, maxLines int) []checkerView {
	var out []checkerView
	for _, n := range sortedCheckers(r) {
		c := r.Checkers[n]
		if c == nil {
			continue
		}
		v := checkerView{Name: n, Verdict: verdictOf(c.Valid), Decides: c.Decides, Skipped: history.ClipN(c.Skipped, maxMessage), Explanation: clipAll(c.Explanation)}
		if n == "staleness" && v.Verdict == "valid" && !c.Decides {
			v.Verdict = "reported" // staleness measures, it never decides
		}
		if len(v.Explanation) > maxLines {
			v.More = len(v.Explanation) - maxLines
			v.Explanation = v.Explanation[:maxLines]
		}
		if len(v.Explanation) > shownLines {
			v.Explanation, v.Folded = v.Explanation[:shownLines], v.Explanation[shownLines:]
		}
		if len(c.Details) > 0 && string(c.Details) != "null" {
			v.Details = history.ClipN(indentJSON(c.Details), maxDetails)
		}
		out = append(out, v)
	}
	return out
}

// faultRows lists the executed faults: from nemesis.json when present (it has errors and how
// long each took), else from the history's nemesis ops.
func faultRows(d *runData) []faultRow {
	var out []faultRow
	str := func(m map[string]any, k string) string {
		if v, ok := m[k]; ok && v != nil {
			if s, ok := v.(string); ok {
				return s
			}
			return fmt.Sprint(v)
		}
		return ""
	}
	if len(d.nemesis) > 0 {
		for _, e := range d.nemesis {
			at := str(e, "actual")
			if at == "" {
				at = str(e, "at")
			}
			if dur, err := time.ParseDuration(at); err == nil {
				at = fmtDur(int64(dur))
			}
			took := str(e, "took")
			if dur, err := time.ParseDuration(took); err == nil {
				took = fmtDur(int64(dur))
			}
			out = append(out, faultRow{At: at, F: history.Clip(str(e, "f")), Node: history.Clip(str(e, "node")), Detail: history.Clip(str(e, "detail")), Took: took, Error: history.Clip(str(e, "error"))})
		}
		return out
	}
	for i := range d.ops {
		op := &d.ops[i]
		if op.Process.IsNemesis() {
			out = append(out, faultRow{At: fmtDur(op.Time), F: history.Clip(op.F), Node: history.Clip(op.Node), Detail: history.Clip(op.Detail), Error: history.Clip(op.Error)})
		}
	}
	return out
}

// nodeStats tabulates the nodes' numeric counters (rows) per node (columns), leaving out
// counters that are zero everywhere.
func nodeStats(stats map[string]json.RawMessage) statsTable {
	var t statsTable
	vals := map[string]map[string]float64{}
	names := map[string]bool{}
	for node, raw := range stats {
		if node == "harness" {
			continue
		}
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		t.Nodes = append(t.Nodes, node)
		vals[node] = map[string]float64{}
		for k, v := range m {
			if f, ok := v.(float64); ok {
				vals[node][k] = f
				if f != 0 {
					names[k] = true
				}
			}
		}
	}
	sort.Strings(t.Nodes)
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := statsRow{Name: k}
		for _, n := range t.Nodes {
			r.Values = append(r.Values, fmt.Sprintf("%g", vals[n][k]))
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// verdictClass is the CSS class of a verdict word.
func verdictClass(v string) string { return "v-" + strings.ReplaceAll(v, " ", "-") }

// maxMessage bounds one explanation or warning line read from results.json (a run of an older
// faultline may hold a huge value in one); maxDetails bounds a checker's details shown.
const (
	maxMessage = 4 << 10
	maxDetails = 64 << 10
)

// clipAll returns msgs, each clipped to maxMessage.
func clipAll(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = history.ClipN(m, maxMessage)
	}
	return out
}
