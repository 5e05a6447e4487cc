package compare

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
)

func TestPBS(t *testing.T) {
	cases := []struct {
		n, w, r int
		want    float64
	}{
		{3, 1, 1, 2.0 / 3},
		{3, 1, 2, 1.0 / 3},
		{3, 2, 1, 1.0 / 3},
		{3, 2, 2, 0},
		{3, 3, 1, 0},
		{5, 1, 1, 4.0 / 5},
		{5, 2, 2, 3.0 / 10}, // C(3,2)/C(5,2)
		{5, 3, 3, 0},
	}
	for _, tc := range cases {
		if got := PBS(tc.n, tc.w, tc.r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("PBS(N=%d, W=%d, R=%d): got %g, want %g", tc.n, tc.w, tc.r, got, tc.want)
		}
	}
	if got := PBS(3, 4, 1); !math.IsNaN(got) {
		t.Errorf("PBS(3, 4, 1): got %g, want NaN", got)
	}
}

func TestVersus(t *testing.T) {
	cases := []struct {
		measured, predicted float64
		reads               int
		want                string
	}{
		{0, 0, 100, "matched"},
		{0.2, 0.667, 100, "beat"},
		{0.66, 0.667, 1000, "matched"},
		{0.04, 0, 100, "worse"},
		{0.003, 0, 1000, "matched"}, // within half a percentage point
		{0.5, 0.5, 0, ""},
	}
	for _, tc := range cases {
		if got := versus(tc.measured, tc.predicted, tc.reads); got != tc.want {
			t.Errorf("versus(%g, %g, %d): got %q, want %q", tc.measured, tc.predicted, tc.reads, got, tc.want)
		}
	}
}

func testConfig() Config {
	c := DefaultConfig()
	c.Base.Nodes = 3
	c.Base.Store.N = 3
	c.Base.Seed = 10
	return c
}

func TestCells(t *testing.T) {
	c := testConfig()
	c.Consistency = []string{"lww", "abd"}
	c.SloppyQuorum = []bool{false, true}
	c.Nemesis = [][]string{{"partition"}, {}}
	cells := c.Cells()
	if got, want := len(cells), 2*2*2*9; got != want {
		t.Fatalf("cells: got %d, want %d", got, want)
	}
	if got := cells[0].Label(); got != "lww W=1 R=1 partition" {
		t.Errorf("first cell: got %q, want %q", got, "lww W=1 R=1 partition")
	}
	seen := map[string]bool{}
	for _, cell := range cells {
		if seen[cell.Label()] {
			t.Errorf("cell %q appears twice", cell.Label())
		}
		seen[cell.Label()] = true
	}
	quorums := map[string]string{}
	for _, cell := range c.Cells() {
		quorums[cell.Label()] = cell.Quorum()
	}
	for label, want := range map[string]string{
		"abd W=1 R=2 partition":        "partial",
		"abd W=2 R=2 none":             "strict",
		"lww W=3 R=3 sloppy partition": "sloppy",
	} {
		if got := quorums[label]; got != want {
			t.Errorf("%s: quorum got %q, want %q", label, got, want)
		}
	}
	if got := c.Seeds(); len(got) != 1 || got[0] != 10 {
		t.Errorf("seeds: got %v, want [10]", got)
	}
	c.Repeat = 3
	if got := c.Seeds(); len(got) != 3 || got[2] != 12 {
		t.Errorf("seeds with repeat 3: got %v, want [10 11 12]", got)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"repeat", func(c *Config) { c.Repeat = 0 }, "repeat (0) must be at least 1"},
		{"parallel", func(c *Config) { c.Parallel = 0 }, "parallel (0) must be at least 1"},
		{"w beyond n", func(c *Config) { c.W = []int{1, 4} }, "w (4) must be between 1 and n (3)"},
		{"consistency", func(c *Config) { c.Consistency = []string{"strong"} }, `consistency "strong"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// fakeResults is what a run of cfg "found": partial quorums stale and not linearizable.
func fakeResults(cfg harness.Config) *checker.Results {
	lin := checker.Valid
	stale := 0
	if cfg.Store.W+cfg.Store.R <= cfg.Store.N {
		lin, stale = checker.Invalid, 10
	}
	return &checker.Results{
		Valid:    lin,
		Workload: "register",
		Checkers: map[string]*checker.Result{
			checker.Linearizable: {Valid: lin, Decides: true},
			checker.Staleness:    {Valid: checker.Valid, Details: &checker.StalenessDetails{Reads: 100, Stale: stale}},
		},
	}
}

func TestSweepWithFakeRuns(t *testing.T) {
	c := testConfig()
	c.Repeat = 2
	c.Parallel = 2
	var mu sync.Mutex
	seen := map[int64]int{}
	run := func(ctx context.Context, worker int, cfg harness.Config) (*harness.Outcome, error) {
		if worker < 0 || worker >= 2 {
			t.Errorf("worker %d: want 0 or 1", worker)
		}
		mu.Lock()
		seen[cfg.Seed]++
		mu.Unlock()
		if cfg.Store.W == 3 && cfg.Store.R == 3 && cfg.Seed == 11 {
			return nil, errors.New("no cluster")
		}
		return &harness.Outcome{Results: fakeResults(cfg), OK: 90, Fail: 5, Info: 5}, nil
	}
	var progress bytes.Buffer
	var pmu sync.Mutex
	tab, err := Sweep(context.Background(), c, Options{Run: run, Log: zerolog.New(zerolog.NewTestWriter(t)),
		Progress: writerFunc(func(b []byte) (int, error) { pmu.Lock(); defer pmu.Unlock(); return progress.Write(b) })})
	if err != nil {
		t.Fatal(err)
	}
	if seen[10] != 9 || seen[11] != 9 {
		t.Errorf("runs per seed: got %v, want 9 of seed 10 and 9 of seed 11", seen)
	}
	if got := strings.Count(progress.String(), "\n"); got != 18 {
		t.Errorf("progress lines: got %d, want 18", got)
	}
	if len(tab.Rows) != 9 {
		t.Fatalf("rows: got %d, want 9", len(tab.Rows))
	}
	for _, r := range tab.Rows {
		wantLin, wantStale := 2, 0.0
		if r.W+r.R <= 3 {
			wantLin, wantStale = 0, 0.1
		}
		wantRuns, wantErr := 2, 0
		if r.W == 3 && r.R == 3 {
			wantRuns, wantErr, wantLin = 1, 1, 1
		}
		if r.Runs != wantRuns || r.Errors != wantErr || r.Linearizable != wantLin {
			t.Errorf("%s: got runs %d errors %d linearizable %d, want %d %d %d", r.Label(), r.Runs, r.Errors, r.Linearizable, wantRuns, wantErr, wantLin)
		}
		if math.Abs(r.StaleRate-wantStale) > 1e-9 {
			t.Errorf("%s: stale rate got %g, want %g", r.Label(), r.StaleRate, wantStale)
		}
		if ok, _, _ := r.Shares(); math.Abs(ok-0.9) > 1e-9 {
			t.Errorf("%s: ok share got %g, want 0.9", r.Label(), ok)
		}
		wantVs := map[bool]string{true: "matched", false: "beat"}[r.W+r.R > 3]
		if r.W == 2 && r.R == 1 || r.W == 1 && r.R == 2 {
			wantVs = "beat" // 10% against 33%
		}
		if r.VsPBS != wantVs {
			t.Errorf("%s: vs PBS got %q, want %q", r.Label(), r.VsPBS, wantVs)
		}
	}

	var text, md, csvOut, page bytes.Buffer
	for _, w := range []struct {
		f   func(*Table) error
		out *bytes.Buffer
	}{
		{func(tb *Table) error { return tb.WriteText(&text) }, &text},
		{func(tb *Table) error { return tb.WriteMarkdown(&md) }, &md},
		{func(tb *Table) error { return tb.WriteCSV(&csvOut) }, &csvOut},
		{func(tb *Table) error { return tb.WriteHTML(&page) }, &page},
	} {
		if err := w.f(tab); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(text.String(), "lww W=1 R=1 partition  partial") {
		t.Errorf("text table: want the W=1 R=1 row, got\n%s", text.String())
	}
	if !strings.Contains(md.String(), "| lww W=2 R=2 partition | strict | 2/2 | 0/2 | 0.0–65.8% | 0.0% | 0.0–1.9% | 0.0% | matched |") {
		t.Errorf("markdown: want the W=2 R=2 row, got\n%s", md.String())
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil || len(recs) != 10 || len(recs[1]) != len(CSVHeader()) {
		t.Errorf("csv: got %d records (%v), want 10 of %d fields", len(recs), err, len(CSVHeader()))
	}
	var js bytes.Buffer
	if err := tab.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil || len(rows) != 9 {
		t.Fatalf("json: got %d rows (%v), want 9", len(rows), err)
	}
	if rows[0]["w"] != 1.0 || rows[0]["pbs"] != 0.6667 || rows[0]["quorum"] != "partial" || rows[0]["sloppy_quorum"] != false {
		t.Errorf("json row 0: got %v, want w 1, pbs 0.6667, partial, sloppy false", rows[0])
	}
	if n := strings.Count(page.String(), `<g class="cell">`); n != 9 {
		t.Errorf("html chart: got %d cells, want 9", n)
	}
}

func TestSweepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	run := func(ctx context.Context, _ int, cfg harness.Config) (*harness.Outcome, error) {
		cancel()
		return &harness.Outcome{Results: fakeResults(cfg)}, nil
	}
	tab, err := Sweep(ctx, testConfig(), Options{Run: run, Log: zerolog.Nop()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if tab == nil || len(tab.Rows) != 9 {
		t.Fatalf("got %v, want the table of what finished (9 rows)", tab)
	}
	runs, errs := 0, 0
	for _, r := range tab.Rows {
		runs += r.Runs
		errs += r.Errors
	}
	if runs != 1 || errs != 8 {
		t.Errorf("got %d runs and %d not run, want 1 and 8", runs, errs)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := quantile(d, 0.5); got != 50*time.Millisecond {
		t.Errorf("p50: got %s, want 50ms", got)
	}
	if got := quantile(d, 0.99); got != 99*time.Millisecond {
		t.Errorf("p99: got %s, want 99ms", got)
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("p50 of nothing: got %s, want 0", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestCellsOfAnotherTarget: for etcd the sweep is over read modes (and nemesis sets), the labels
// name the target and the read mode, and each cell's config carries its read mode.
func TestCellsOfAnotherTarget(t *testing.T) {
	c := DefaultConfig()
	c.Base.Target = "etcd"
	c.Base.TargetOptions = map[string]string{"reads": "linearizable"}
	c.W, c.R = nil, nil
	c.Reads = []string{"linearizable", "serializable"}
	cells := c.Cells()
	if len(cells) != 2 {
		t.Fatalf("got %d cells, want 2", len(cells))
	}
	for i, want := range []string{"etcd reads=linearizable partition", "etcd reads=serializable partition"} {
		if got := cells[i].Label(); got != want {
			t.Errorf("cell %d: got label %q, want %q", i, got, want)
		}
		if got := cells[i].Apply(c.Base, 1).TargetOptions["reads"]; got != c.Reads[i] {
			t.Errorf("cell %d: got reads %q, want %q", i, got, c.Reads[i])
		}
		if q := cells[i].Quorum(); q != "-" {
			t.Errorf("cell %d: got quorum %q, want -", i, q)
		}
	}
	if c.Base.TargetOptions["reads"] != "linearizable" {
		t.Errorf("Apply changed the base's options: %v", c.Base.TargetOptions)
	}
}

// TestTableOfAnotherTarget: compare.csv and the JSON rows of an etcd sweep name the target and
// read mode in the consistency column and leave the reference store's quorum columns empty
// (null); a reference-store row keeps its consistency and quorums.
func TestTableOfAnotherTarget(t *testing.T) {
	run := func(ctx context.Context, worker int, cfg harness.Config) (*harness.Outcome, error) {
		return &harness.Outcome{Results: fakeResults(cfg), OK: 90, Fail: 5, Info: 5}, nil
	}
	sweep := func(c Config) (csvRows [][]string, jsonRows []map[string]any) {
		t.Helper()
		tab, err := Sweep(context.Background(), c, Options{Run: run, Log: zerolog.New(zerolog.NewTestWriter(t))})
		if err != nil {
			t.Fatal(err)
		}
		var cb, jb bytes.Buffer
		if err := tab.WriteCSV(&cb); err != nil {
			t.Fatal(err)
		}
		if err := tab.WriteJSON(&jb); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&cb).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(jb.Bytes(), &jsonRows); err != nil {
			t.Fatal(err)
		}
		return recs[1:], jsonRows
	}
	col := map[string]int{}
	for i, h := range CSVHeader() {
		col[h] = i
	}

	c := testConfig()
	c.Base.Target = "etcd"
	c.Base.TargetOptions = map[string]string{"reads": "linearizable"}
	c.W, c.R = nil, nil
	c.Reads = []string{"linearizable", "serializable"}
	recs, rows := sweep(c)
	if len(recs) != 2 || len(rows) != 2 {
		t.Fatalf("etcd sweep: got %d csv and %d json rows, want 2 and 2", len(recs), len(rows))
	}
	for i, want := range []string{"etcd reads=linearizable", "etcd reads=serializable"} {
		if got := recs[i][col["consistency"]]; got != want {
			t.Errorf("csv row %d: got consistency %q, want %q", i, got, want)
		}
		if got := rows[i]["consistency"]; got != want {
			t.Errorf("json row %d: got consistency %v, want %q", i, got, want)
		}
		for _, h := range []string{"n", "w", "r", "sloppy_quorum", "read_repair"} {
			if got := recs[i][col[h]]; got != "" {
				t.Errorf("csv row %d: got %s %q, want empty (a reference-store setting)", i, h, got)
			}
			if got, ok := rows[i][h]; !ok || got != nil {
				t.Errorf("json row %d: got %s %v, want null", i, h, got)
			}
		}
	}

	// not swept: the base's read mode
	c.Reads = nil
	c.Base.TargetOptions = map[string]string{"reads": "serializable"}
	if recs, _ := sweep(c); len(recs) != 1 || recs[0][col["consistency"]] != "etcd reads=serializable" {
		t.Errorf("etcd, read mode not swept: got rows %v, want one with consistency etcd reads=serializable", recs)
	}

	ref := testConfig()
	ref.W, ref.R = []int{2}, []int{2}
	recs, rows = sweep(ref)
	if len(recs) != 1 || recs[0][col["consistency"]] != ref.Base.Store.Consistency || recs[0][col["n"]] != "3" ||
		recs[0][col["w"]] != "2" || recs[0][col["r"]] != "2" || recs[0][col["read_repair"]] != strconv.FormatBool(ref.Base.Store.ReadRepair) {
		t.Errorf("reference store: got rows %v, want consistency %s, n 3, w 2, r 2", recs, ref.Base.Store.Consistency)
	}
	if len(rows) == 1 && rows[0]["w"] != 2.0 {
		t.Errorf("reference store json: got w %v, want 2", rows[0]["w"])
	}
}
