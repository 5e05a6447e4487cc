package compare

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
)

func TestWilson(t *testing.T) {
	// Reference values: the closed form at z = 1.959964, rounded to 4 places (0/10 -> 0.2775
	// and 5/10 -> 0.2366..0.7634 as tabulated by Newcombe, Stat. Med. 1998, and Wikipedia).
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{1, 1000, 0.0002, 0.0056},
		{0, 1, 0, 0.7935},
		{1, 1, 0.2065, 1},
		{3, 7, 0.1582, 0.7495},
		{12, 100, 0.0700, 0.1981},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d of %d", tc.k, tc.n), func(t *testing.T) {
			lo, hi := Wilson(tc.k, tc.n, Z95)
			if math.Abs(lo-tc.lo) > 5e-5 || math.Abs(hi-tc.hi) > 5e-5 {
				t.Errorf("got [%.4f, %.4f], want [%.4f, %.4f]", lo, hi, tc.lo, tc.hi)
			}
			if p := float64(tc.k) / float64(tc.n); lo > p || hi < p {
				t.Errorf("[%.4f, %.4f] does not contain the observed %.4f", lo, hi, p)
			}
		})
	}
	for _, bad := range [][2]int{{0, 0}, {1, 0}, {-1, 5}, {6, 5}} {
		if lo, hi := Wilson(bad[0], bad[1], Z95); !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("Wilson(%d, %d): got [%v, %v], want NaN", bad[0], bad[1], lo, hi)
		}
	}
	// More trials, a narrower interval around the same share.
	lo1, hi1 := Wilson(10, 100, Z95)
	lo2, hi2 := Wilson(100, 1000, Z95)
	if hi2-lo2 >= hi1-lo1 {
		t.Errorf("width at n=1000 (%.4f) not below n=100 (%.4f)", hi2-lo2, hi1-lo1)
	}
}

// statsTable is a table of hand-made rows: a cell with invalid seeds and stale reads, one
// where every seed was valid and no read was stale, one where a checker gave up, and one with
// no reads at all.
func statsTable() *Table {
	runs := func(verdicts ...checker.Verdict) []Run {
		var out []Run
		for i, v := range verdicts {
			out = append(out, Run{Seed: int64(i), Verdict: v, Linearizable: v})
		}
		return out
	}
	rows := []Row{
		summarize(Cell{Consistency: "lww", N: 3, W: 1, R: 1, ReadRepair: true}, withReads(runs(checker.Invalid, checker.Valid, checker.Invalid, checker.Valid, checker.Valid), 200, 24)),
		summarize(Cell{Consistency: "abd", N: 3, W: 2, R: 2, ReadRepair: true}, withReads(runs(checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid, checker.Valid), 100, 0)),
		summarize(Cell{Consistency: "lww", N: 3, W: 2, R: 2, ReadRepair: true}, withReads(runs(checker.Invalid, checker.Unknown), 500, 1)),
		summarize(Cell{Consistency: "lww", N: 3, W: 3, R: 1, ReadRepair: true}, runs(checker.Unknown)),
	}
	return &Table{Workload: checker.WorkloadRegister, Nodes: 3, Seeds: []int64{0, 1}, Time: time.Second, Rows: rows}
}

// withReads gives each run reads and stale reads (stale spread over the first runs).
func withReads(rs []Run, reads, stale int) []Run {
	for i := range rs {
		rs[i].Reads = reads
		if i == 0 {
			rs[i].Stale = stale
		}
	}
	return rs
}

func TestStatisticsColumns(t *testing.T) {
	tab := statsTable()
	h := tab.header()
	col := func(name string) int {
		for i, c := range h {
			if c == name {
				return i
			}
		}
		t.Fatalf("header %v lacks %q", h, name)
		return -1
	}
	cases := []struct {
		row                                         int
		invalid, invalidCI, stale, staleCI, verdict string
	}{
		// 2 invalid of 5 seeds; 24 stale of 1000 reads
		{0, "2/5", "11.8–76.9%", "2.4%", "1.6–3.5%", "3/5"},
		// 0 of 10 seeds (Wilson: up to 27.8 %); 0 of 1000 reads
		{1, "0/10", "0.0–27.8%", "0.0%", "0.0–0.4%", "10/10"},
		// the unknown run is in neither count: 1 of 1 decided
		{2, "1/1", "20.7–100.0%", "0.1%", "0.0–0.6%", "0/2"},
		// nothing decided, nothing read
		{3, "-", "-", "-", "-", "0/1"},
	}
	for _, tc := range cases {
		r := tab.Rows[tc.row]
		t.Run(r.Label(), func(t *testing.T) {
			c := tab.cells(r)
			for _, want := range []struct{ name, v string }{
				{"invalid seeds", tc.invalid}, {"invalid 95% CI", tc.invalidCI},
				{"stale reads", tc.stale}, {"stale 95% CI", tc.staleCI}, {"linearizable", tc.verdict},
			} {
				if got := c[col(want.name)]; got != want.v {
					t.Errorf("%s: got %q, want %q", want.name, got, want.v)
				}
			}
		})
	}

	var csvOut bytes.Buffer
	if err := tab.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{ // per row
		"decided":       {"5", "10", "1", "0"},
		"invalid_share": {"0.4000", "0.0000", "1.0000", ""},
		"invalid_ci_lo": {"0.1176", "0.0000", "0.2065", ""},
		"invalid_ci_hi": {"0.7693", "0.2775", "1.0000", ""},
		"stale_ci_lo":   {"0.0162", "0.0000", "0.0002", ""},
		"stale_ci_hi":   {"0.0355", "0.0038", "0.0056", ""},
	}
	for name, vals := range want {
		j := slices.Index(recs[0], name)
		if j < 0 {
			t.Errorf("csv header lacks %q", name)
			continue
		}
		for i, v := range vals {
			if got := recs[i+1][j]; got != v {
				t.Errorf("csv row %d %s: got %q, want %q", i, name, got, v)
			}
		}
	}

	var js bytes.Buffer
	if err := tab.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if rows[1]["invalid_ci_hi"] != 0.2775 || rows[3]["stale_ci_lo"] != nil {
		t.Errorf("json: got invalid_ci_hi %v and stale_ci_lo %v, want 0.2775 and null", rows[1]["invalid_ci_hi"], rows[3]["stale_ci_lo"])
	}

	var text, md, page bytes.Buffer
	for _, w := range []func() error{
		func() error { return tab.WriteText(&text) },
		func() error { return tab.WriteMarkdown(&md) },
		func() error { return tab.WriteHTML(&page) },
	} {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(text.String(), "\n")
	if f := strings.Fields(lines[2]); len(f) < 11 || strings.Join(f[5:10], " ") != "3/5 2/5 11.8–76.9% 2.4% 1.6–3.5%" ||
		!strings.Contains(text.String(), "Wilson score interval") {
		t.Errorf("text: want the first row's invalid seeds and the legend, got\n%s", text.String())
	}
	if !strings.Contains(md.String(), "| 2/5 | 11.8–76.9% | 2.4% | 1.6–3.5% |") {
		t.Errorf("markdown: want the first row's statistics, got\n%s", md.String())
	}
	if n := strings.Count(page.String(), `<g class="ci"`); n != 3 {
		t.Errorf("html: got %d interval whiskers, want 3 (rows with reads)", n)
	}
	if !strings.Contains(page.String(), "2/5 seeds invalid (95% CI 11.8–76.9%)") || !strings.Contains(page.String(), "<th>invalid 95% CI</th>") {
		t.Errorf("html: want the seed interval in the chart and the table")
	}
}
