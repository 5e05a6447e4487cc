package report

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// Hand-made run folders in testdata/results.
const (
	runInvalid     = "register-partition+kill+clock/20261125T100000.000" // checked, invalid, faults
	runValid       = "set-none/20261124T090000.000"                      // checked, valid, has report.html
	runInterrupted = "counter-kill/20261123T080000.000"                  // no results.json
)

// copyResults copies testdata/results into a fresh folder and returns it.
func copyResults(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "results")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// section returns the part of an HTML page from the element with the given id to the next h2.
func section(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], "<h2"); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

func TestWriteHTML(t *testing.T) {
	root := copyResults(t)
	tests := []struct {
		run      string
		verdict  string
		counts   map[string]int // id -> value of the count cards
		checkers map[string]string
		contains []string
		absent   []string
		bars     map[string]int // timeline bars per class
	}{
		{
			run:      runInvalid,
			verdict:  "invalid",
			counts:   map[string]int{"n-ops": 8, "n-ok": 5, "n-fail": 1, "n-info": 1, "n-unfinished": 1, "n-nemesis": 6},
			checkers: map[string]string{"linearizable": "invalid", "convergence": "valid", "staleness": "reported"},
			contains: []string{
				`class="shade nm-partition"`, `class="shade nm-kill"`, `class="shade nm-clock"`,
				`class="lane nm-clock open"`,        // the clock bump is never reset
				`class="nm-other instant"`,          // "heal" pairs with nothing
				`<a href="linearizability.html">`,   // the visualization
				`key k1: process 3 read k1 -&gt; 1`, // the explanation
				`<th>store.w</th><td>2</td>`,        // the config
				`restart n2: port busy`,             // nemesis.json's error
				`<a href="nodes/n1.log">nodes/n1.log</a>`,
				`halves n1 | n2,n3`,
				`<title>linearizable: p3 read k1 -&gt; 1 [index 12, t=2.10s]</title>`, // the evidence
				"evidence of an invalid verdict (1 operations named by the checkers)",
			},
			bars: map[string]int{"ok": 5, "fail": 1, "info": 2},
		},
		{
			run:      runValid,
			verdict:  "valid",
			counts:   map[string]int{"n-ops": 2, "n-ok": 2, "n-nemesis": 0},
			checkers: map[string]string{"lost-updates": "valid", "convergence": "valid"},
			contains: []string{"No faults were injected.", "No stats.json."},
			absent:   []string{"linearizability.html", "Incomplete run folder", `class="anomaly"`},
			bars:     map[string]int{"ok": 2},
		},
		{
			run:      runInterrupted,
			verdict:  "none",
			counts:   map[string]int{"n-ops": 2, "n-ok": 1, "n-unfinished": 1, "n-nemesis": 1},
			contains: []string{"Incomplete run folder", "results.json is missing", "No results.json: the run was not checked", `class="shade nm-kill"`},
			bars:     map[string]int{"ok": 1, "info": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.run, func(t *testing.T) {
			dir := filepath.Join(root, filepath.FromSlash(tc.run))
			if err := WriteHTML(dir); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			if want := `id="verdict">` + tc.verdict + `<`; !strings.Contains(page, want) {
				t.Errorf("overall verdict: got none of %q in the page", want)
			}
			for id, n := range tc.counts {
				if want := fmt.Sprintf(`id="%s">%d<`, id, n); !strings.Contains(page, want) {
					t.Errorf("count %s: want %q, got %q", id, want, regexp.MustCompile(`id="`+id+`">[^<]*<`).FindString(page))
				}
			}
			rows := regexp.MustCompile(`data-checker="([^"]+)"><td>[^<]*</td><td><span class="badge v-[a-z]+">([a-z]+)<`).FindAllStringSubmatch(page, -1)
			got := map[string]string{}
			for _, r := range rows {
				got[r[1]] = r[2]
			}
			if len(got) != len(tc.checkers) {
				t.Errorf("checker rows: got %v, want %v", got, tc.checkers)
			}
			for name, v := range tc.checkers {
				if got[name] != v {
					t.Errorf("checker %s: got verdict %q, want %q", name, got[name], v)
				}
			}
			for _, s := range tc.contains {
				if !strings.Contains(page, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(page, s) {
					t.Errorf("page has %q, want it absent", s)
				}
			}
			tl := section(page, "timeline")
			for _, cls := range []string{"ok", "fail", "info"} {
				if got, want := strings.Count(tl, `class="op `+cls+`"`), tc.bars[cls]; got != want {
					t.Errorf("timeline bars %s: got %d, want %d", cls, got, want)
				}
			}
			assertSelfContained(t, page)
		})
	}
}

// assertSelfContained fails if the page loads anything: no scripts, no external references.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script", "src=", "@import", "url(", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("report is not self-contained: has %q", bad)
		}
	}
	rest := strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(rest); m != "" {
		t.Errorf("report names a network location: %q", m)
	}
}

func TestRenderHTMLErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing"), file} {
		if err := WriteHTML(p); err == nil {
			t.Errorf("WriteHTML(%s): got nil error, want one", p)
		}
	}
	bad := DefaultHTMLOptions()
	bad.Buckets = 0
	if err := WriteHTMLOptions(dir, bad); err == nil || !strings.Contains(err.Error(), "Buckets (0)") {
		t.Errorf("WriteHTMLOptions with Buckets 0: got %v, want an error naming the value", err)
	}
}

func TestIntervals(t *testing.T) {
	nem := func(at int64, f, node, detail string) history.Op {
		return history.Op{Time: at, Process: history.NemesisProcess, Type: history.Info, F: f, Node: node, Detail: detail}
	}
	tests := []struct {
		name string
		ops  []history.Op
		want []string // kind start-end [open|instant]
	}{
		{"start stop", []history.Op{nem(1, "start-partition", "", "halves"), nem(5, "stop-partition", "", "halves")}, []string{"partition 1-5"}},
		{"never stopped", []history.Op{nem(1, "start-loss", "", "")}, []string{"loss 1-100 open"}},
		{"per node", []history.Op{nem(1, "kill", "n1", ""), nem(2, "kill", "n2", ""), nem(3, "restart", "n2", ""), nem(4, "restart", "n1", "")},
			[]string{"kill 1-4", "kill 2-3"}},
		{"pause and clock", []history.Op{nem(1, "pause", "n1", ""), nem(2, "clock-bump", "n1", "n1 +1s"), nem(3, "resume", "n1", ""), nem(4, "clock-reset", "n1", "")},
			[]string{"pause 1-3", "clock 2-4"}},
		{"stop without start", []history.Op{nem(7, "stop-delay", "", "")}, []string{"delay 7-7 instant"}},
		{"started twice", []history.Op{nem(1, "start-partition", "", ""), nem(2, "start-partition", "", ""), nem(3, "stop-partition", "", "")}, []string{"partition 1-3"}},
		{"unknown f", []history.Op{nem(4, "scramble", "", "")}, []string{"scramble 4-4 instant"}},
		{"client ops ignored", []history.Op{{Time: 1, Process: 0, Type: history.Invoke, F: "read"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, iv := range intervals(tc.ops, 100) {
				s := fmt.Sprintf("%s %d-%d", iv.kind, iv.start, iv.end)
				if iv.open {
					s += " open"
				}
				if iv.instant {
					s += " instant"
				}
				got = append(got, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSpans(t *testing.T) {
	op := func(at int64, p int, ty history.Type) history.Op {
		return history.Op{Time: at, Process: history.Process(p), Type: ty, F: "read"}
	}
	ops := []history.Op{
		op(1, 0, history.Invoke), op(2, 1, history.Invoke), op(3, 0, history.OK),
		op(4, 1, history.Info), op(5, 2, history.OK), // orphan completion
		op(6, 0, history.Invoke), op(8, 0, history.Invoke), op(9, 0, history.Fail), // a lost completion
		op(10, 3, history.Invoke), // never completed
	}
	sp, orphans := spans(ops, 20)
	var got []string
	for _, s := range sp {
		got = append(got, fmt.Sprintf("p%d %d-%d %s %v", s.proc, s.call, s.ret, severityClass(s.sev), s.done))
	}
	want := []string{"p0 1-3 ok true", "p1 2-4 info true", "p0 6-8 info false", "p0 8-9 fail true", "p3 10-20 info false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans: got %v, want %v", got, want)
	}
	if orphans != 1 {
		t.Errorf("orphans: got %d, want 1", orphans)
	}
}

func TestFlattenJSON(t *testing.T) {
	got, err := flattenJSON([]byte(`{"b":1,"a":{"y":"s","x":[1,2]},"c":null,"d":[{"k":1}],"e":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []kv{{"b", "1"}, {"a.y", "s"}, {"a.x", "1, 2"}, {"c", "null"}, {"d", `{"k":1}`}, {"e", "true"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := flattenJSON([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON: got nil error, want one")
	}
}

// bigRun writes a run folder with n client operations over 10 processes (a process crashes
// now and then and is replaced), and faults every second.
func bigRun(tb testing.TB, n int) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "register-partition", "20261125T120000.000")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, HistoryFile))
	if err != nil {
		tb.Fatal(err)
	}
	w := history.NewWriter(f)
	var idx, now int64
	proc := make([]int, 10)
	for i := range proc {
		proc[i] = i
	}
	next := 10
	write := func(op history.Op) {
		op.Index = idx
		idx++
		if err := w.Write(op); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		now += 200_000 // 5000 ops/s
		if i%5000 == 0 {
			f := "start-partition"
			if (i/5000)%2 == 1 {
				f = "stop-partition"
			}
			write(history.Op{Time: now, Process: history.NemesisProcess, Type: history.Info, F: f, Detail: "halves n1,n2 | n3,n4,n5"})
		}
		slot := i % 10
		p := history.Process(proc[slot])
		key := fmt.Sprintf("k%d", i%7)
		write(history.Op{Time: now, Process: p, Type: history.Invoke, F: history.FWrite, Key: key, Value: history.Int(int64(i)), Node: "n1"})
		ty := history.OK
		switch {
		case i%97 == 0:
			ty = history.Info
			proc[slot] = next
			next++
		case i%31 == 0:
			ty = history.Fail
		}
		write(history.Op{Time: now + 1_500_000, Process: p, Type: ty, F: history.FWrite, Key: key, Value: history.Int(int64(i)), Node: "n1"})
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"workload":"register","concurrency":10}`), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestLargeHistoryIsBounded(t *testing.T) {
	const n = 120_000
	dir := bigRun(t, n)
	if err := WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if want := fmt.Sprintf(`id="n-ops">%d<`, n); !strings.Contains(page, want) {
		t.Errorf("op count: page lacks %q", want)
	}
	if !strings.Contains(page, "each pixel column of a row stacks the outcomes") {
		t.Error("large history: want the per-column timeline")
	}
	if !strings.Contains(page, "Processes are folded into 10 rows") {
		t.Error("1,000+ processes: want rows folded by process mod concurrency (10)")
	}
	// 120k ops would be ~20 MB as individual bars; the report stays small
	if got, limit := len(b), 1<<20; got > limit {
		t.Errorf("report size: got %d bytes, want at most %d", got, limit)
	}
	tl := section(page, "timeline")
	if got, limit := strings.Count(tl, "<rect"), 3*10*plotWidth; got > limit {
		t.Errorf("timeline rects: got %d, want at most %d (3 outcomes x rows x pixel columns)", got, limit)
	}
	assertSelfContained(t, page)
	t.Logf("120k ops: report.html is %d KiB", len(b)>>10)
}

// BenchmarkWriteHTML renders reports of generated runs; html-bytes is the report's size.
func BenchmarkWriteHTML(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			dir := bigRun(b, n)
			b.ResetTimer()
			for range b.N {
				if err := WriteHTML(dir); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if st, err := os.Stat(filepath.Join(dir, HTMLFile)); err == nil {
				b.ReportMetric(float64(st.Size()), "html-bytes")
			}
		})
	}
}

func TestStackHeights(t *testing.T) {
	tests := []struct {
		n    [3]int32
		h    int
		want [3]int
	}{
		{[3]int32{0, 0, 0}, 12, [3]int{0, 0, 0}},
		{[3]int32{10, 0, 0}, 12, [3]int{12, 0, 0}},
		{[3]int32{100, 1, 0}, 12, [3]int{11, 1, 0}}, // a rare failure still shows
		{[3]int32{1, 1, 1}, 12, [3]int{4, 4, 4}},
		{[3]int32{0, 1, 1}, 12, [3]int{0, 6, 6}},
		{[3]int32{0, 0, 3}, 7, [3]int{0, 0, 7}},
		{[3]int32{0, 5, 0}, 7, [3]int{0, 7, 0}},
		{[3]int32{1, 100, 100}, 3, [3]int{1, 1, 1}}, // every present outcome keeps a pixel
	}
	for _, tc := range tests {
		got := stackHeights(tc.n, tc.h)
		if got != tc.want {
			t.Errorf("stackHeights(%v, %d): got %v, want %v", tc.n, tc.h, got, tc.want)
		}
		if sum := got[0] + got[1] + got[2]; tc.n != [3]int32{} && sum != tc.h {
			t.Errorf("stackHeights(%v, %d): heights sum to %d, want %d", tc.n, tc.h, sum, tc.h)
		}
	}
}

func TestSubLanes(t *testing.T) {
	a := axis{0, 1000}
	ivs := []interval{
		{kind: "kill", start: 100, end: 300}, // n1
		{kind: "kill", start: 100, end: 300}, // n2 at the same time: a second sub-lane
		{kind: "kill", start: 400, end: 500}, // after both: back to the first
		{kind: "partition", start: 0, end: 1000},
		{kind: "pause", start: 10, end: 20}, {kind: "pause", start: 10, end: 20}, {kind: "pause", start: 10, end: 20},
		{kind: "pause", start: 10, end: 20}, {kind: "pause", start: 10, end: 20}, // 5 at once: capped at 4 sub-lanes
	}
	sub, n := subLanes(a, ivs)
	if got, want := fmt.Sprint(sub), "[0 1 0 0 0 1 2 3 3]"; got != want {
		t.Errorf("sub-lanes: got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(n), "map[kill:2 partition:1 pause:4]"; got != want {
		t.Errorf("sub-lanes per kind: got %s, want %s", got, want)
	}
}

func TestFitText(t *testing.T) {
	tests := []struct {
		s     string
		width float64
		want  string
	}{
		{"halves n1,n2 | n3", 200, "halves n1,n2 | n3"},
		{"halves n1,n2 | n3", 60, "halves n1…"},
		{"n3", 12, ""},
		{"", 100, ""},
	}
	for _, tc := range tests {
		if got := fitText(tc.s, tc.width); got != tc.want {
			t.Errorf("fitText(%q, %g): got %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
}

func TestAnomalies(t *testing.T) {
	r := &resultsDoc{Checkers: map[string]*checkerDoc{
		"linearizable": {Valid: []byte("false"), Details: []byte(`{"failures":[
			{"key":"k1","op":{"process":"3","f":"read","key":"k1","output":"1","index":12,"call":5,"return":9}},
			{"key":"k2","op":{"process":"x","index":1,"call":1}},
			{"key":"k3","op":{"process":4,"f":"write","index":20,"call":7}}]}`)},
		"lost-updates": {Valid: []byte("false"), Details: []byte(`{"lost":[{"process":"nemesis","index":2,"call":3}]}`)},
		"convergence":  {Valid: []byte("true"), Details: []byte(`{"op":{"process":"1","index":2,"call":3}}`)}, // valid: no evidence
		"staleness":    {Valid: []byte("false"), Details: []byte(`not json`)},
	}}
	var got []string
	for _, m := range anomalies(r, 10) {
		got = append(got, fmt.Sprintf("%s p%s %d %d-%d", m.checker, m.process, m.index, m.call, m.ret))
	}
	want := []string{"linearizable p3 12 5-9", "linearizable p4 20 7-0", "lost-updates pnemesis 2 3-0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if n := len(anomalies(r, 1)); n != 1 {
		t.Errorf("capped at 1: got %d", n)
	}
}

// FuzzRenderHTML renders run folders with arbitrary history, results and config files: the
// report must render (an unreadable file is reported in the page, not an error) and never panic.
func FuzzRenderHTML(f *testing.F) {
	run := filepath.Join("testdata", "results", filepath.FromSlash(runInvalid))
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(read(HistoryFile), read(ResultsFile), read(ConfigFile))
	f.Add([]byte(`{"index":0,"time":-5,"process":0,"type":"ok","f":"read","value":null}`), []byte(`{"valid":"unknown","checkers":{"x":null}}`), []byte(`[]`))
	f.Add([]byte(`{"index":0,"time":9,"process":"nemesis","type":"info","f":"stop-partition","value":null}`+"\n"), []byte(`{"valid":false,"checkers":{"linearizable":{"valid":false,"details":{"op":{"process":"-1","index":1,"call":-3}}}}}`), []byte(`{"a":{"b":[[1],{"c":null}]}}`))
	f.Fuzz(func(t *testing.T, hist, results, config []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{HistoryFile: hist, ResultsFile: results, ConfigFile: config} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var buf strings.Builder
		if err := RenderHTML(&buf, dir, DefaultHTMLOptions()); err != nil {
			t.Fatalf("RenderHTML: %v", err)
		}
		if !strings.Contains(buf.String(), `id="verdict"`) {
			t.Fatal("no verdict in the page")
		}
	})
}
