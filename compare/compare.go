// Package compare sweeps store configurations (W, R, consistency, sloppy quorum, read repair,
// nemesis) and tabulates what each did under the same faults: linearizable runs, stale-read
// rate beside the PBS prediction, lost acknowledged updates, availability and latency.
//
// Every cell of a sweep runs the same seeds, so every cell gets the same generated fault
// schedule and the same workload choices (both derive from the seed and the node list). How a
// run is executed is the caller's: Options.Run runs one harness.Config (cmd/faultline wires it
// to a runtime). compare itself only orders the runs and reads their outcomes.
package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// Config is one sweep: the base test and the axes varied over it. A nil axis keeps Base's
// value. Cells are the cross product of the axes.
type Config struct {
	Base         harness.Config // everything not swept (cluster, workload, time, ...)
	W, R         []int          // write and read quorums
	Consistency  []string       // lww, vclock, abd
	SloppyQuorum []bool         // sloppy quorum on/off
	ReadRepair   []bool         // read repair on/off
	Nemesis      [][]string     // fault sets, e.g. {{"partition"}, {"clock"}}; an empty set = none
	Reads        []string       // etcd read modes (TargetOptions "reads"): linearizable, serializable
	Repeat       int            // seeds per cell: Base.Seed, Base.Seed+1, ...
	Parallel     int            // runs at once
	_            struct{}
}

// DefaultConfig sweeps W and R over 1..3 at N=3 on harness.DefaultConfig, one seed per cell,
// one run at a time.
func DefaultConfig() Config {
	return Config{
		Base:     harness.DefaultConfig(),
		W:        []int{1, 2, 3},
		R:        []int{1, 2, 3},
		Repeat:   1, // one seed per cell
		Parallel: 1, // one cluster at a time (a 2-core machine)
	}
}

// Validate reports the first problems with c, naming the values; it does not change c.
func (c Config) Validate() error {
	var errs []error
	if c.Repeat < 1 {
		errs = append(errs, fmt.Errorf("compare: repeat (%d) must be at least 1", c.Repeat))
	}
	if c.Parallel < 1 {
		errs = append(errs, fmt.Errorf("compare: parallel (%d) must be at least 1", c.Parallel))
	}
	for _, cell := range c.Cells() {
		if err := cell.Apply(c.Base, c.Base.Seed).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("compare: cell %s: %w", cell.Label(), err))
			break
		}
	}
	return errors.Join(errs...)
}

// Seeds is the seed list every cell runs.
func (c Config) Seeds() []int64 {
	out := make([]int64, max(c.Repeat, 1))
	for i := range out {
		out[i] = c.Base.Seed + int64(i)
	}
	return out
}

// Cell is one configuration of a sweep.
type Cell struct {
	Target       string // "" for the reference store, else the target's name (W, R and the store switches are then unused)
	Reads        string // a read mode swept for the target ("" = the base's)
	Consistency  string
	N, W, R      int
	SloppyQuorum bool
	ReadRepair   bool
	Nemesis      []string
}

// Label names the cell, e.g. "lww W=1 R=2" plus the swept switches that differ from the
// defaults.
func (c Cell) Label() string {
	if c.Target != "" {
		return c.Store() + " " + nemesisName(c.Nemesis)
	}
	s := fmt.Sprintf("%s W=%d R=%d", c.Consistency, c.W, c.R)
	if c.SloppyQuorum {
		s += " sloppy"
	}
	if !c.ReadRepair {
		s += " no-rr"
	}
	return s + " " + nemesisName(c.Nemesis)
}

// Store names what the cell tests: the consistency mode for the reference store, else the
// target and its read mode, e.g. "etcd reads=serializable".
func (c Cell) Store() string {
	if c.Target == "" {
		return c.Consistency
	}
	if c.Reads != "" {
		return c.Target + " reads=" + c.Reads
	}
	return c.Target
}

func nemesisName(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, "+")
}

// Quorum classifies the cell: "partial" when a read quorum can miss a write quorum (W+R<=N),
// "sloppy" when they would intersect but hinted writes may count toward W, else "strict".
func (c Cell) Quorum() string {
	switch {
	case c.Target != "":
		return "-" // not a quorum store
	case c.W+c.R <= c.N:
		return "partial"
	case c.SloppyQuorum:
		return "sloppy"
	}
	return "strict"
}

// Apply returns base with the cell's settings and the given seed.
func (c Cell) Apply(base harness.Config, seed int64) harness.Config {
	cfg := base
	cfg.Store.Consistency = c.Consistency
	cfg.Store.W, cfg.Store.R = c.W, c.R
	cfg.Store.SloppyQuorum = c.SloppyQuorum
	cfg.Store.ReadRepair = c.ReadRepair
	cfg.Nemesis = slices.Clone(c.Nemesis)
	cfg.Seed = seed
	if c.Reads != "" {
		cfg.TargetOptions = maps.Clone(cfg.TargetOptions)
		if cfg.TargetOptions == nil {
			cfg.TargetOptions = map[string]string{}
		}
		cfg.TargetOptions["reads"] = c.Reads
	}
	return cfg
}

// Cells is the cross product of the axes, in a stable order: consistency, nemesis, sloppy
// quorum, read repair, W, R.
func (c Config) Cells() []Cell {
	b := c.Base
	cons := c.Consistency
	if len(cons) == 0 {
		cons = []string{b.Store.Consistency}
	}
	nems := c.Nemesis
	if len(nems) == 0 {
		nems = [][]string{b.Nemesis}
	}
	sloppy := c.SloppyQuorum
	if len(sloppy) == 0 {
		sloppy = []bool{b.Store.SloppyQuorum}
	}
	rr := c.ReadRepair
	if len(rr) == 0 {
		rr = []bool{b.Store.ReadRepair}
	}
	ws, rs := c.W, c.R
	if len(ws) == 0 {
		ws = []int{b.Store.W}
	}
	if len(rs) == 0 {
		rs = []int{b.Store.R}
	}
	reads := c.Reads
	if len(reads) == 0 {
		reads = []string{b.TargetOptions["reads"]} // not swept: the base's ("" for most targets)
	}
	target := ""
	if t := b.TargetName(); t != harness.ReferenceTarget {
		target = t
	}
	var out []Cell
	for _, rd := range reads {
		for _, co := range cons {
			for _, ne := range nems {
				for _, sl := range sloppy {
					for _, re := range rr {
						for _, w := range ws {
							for _, r := range rs {
								out = append(out, Cell{Target: target, Reads: rd, Consistency: co, N: b.Store.N, W: w, R: r,
									SloppyQuorum: sl, ReadRepair: re, Nemesis: slices.Clone(ne)})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// RunFunc runs one test. worker (0..Parallel-1) says which of the caller's parallel slots runs
// it, so a caller can keep one runtime per slot.
type RunFunc func(ctx context.Context, worker int, cfg harness.Config) (*harness.Outcome, error)

// Options are what a sweep is wired from.
type Options struct {
	Run      RunFunc        // runs one test (required)
	Log      zerolog.Logger // sweep events
	Progress io.Writer      // one line per finished run (nil = none)
	_        struct{}
}

// Run is one run of one cell, as the table needs it.
type Run struct {
	Seed           int64           `json:"seed"`
	Dir            string          `json:"dir,omitempty"`
	Verdict        checker.Verdict `json:"valid"`        // the run's overall verdict
	Linearizable   checker.Verdict `json:"linearizable"` // the linearizable checker's (Unknown when not run)
	Invalid        []string        `json:"invalid,omitempty"`
	Reads          int             `json:"reads"`           // ok register reads assessed for staleness
	Stale          int             `json:"stale"`           // of which stale
	Lost           int64           `json:"lost"`            // acknowledged updates lost (set adds, counter increments)
	LostMeasured   bool            `json:"lost_measured"`   // the workload has a lost-update checker
	OK, Fail, Info int64           `json:"-"`               // client op completions
	Latencies      []time.Duration `json:"-"`               // ok ops, invoke to completion
	Err            string          `json:"error,omitempty"` // the run could not be done
}

// Sweep runs every cell over every seed and returns the table. Runs that fail to run are
// recorded in their row (Errors) and do not stop the sweep; ctx cancellation does: then the
// table of what finished comes back with an error wrapping ctx's.
func Sweep(ctx context.Context, cfg Config, opt Options) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Run == nil {
		return nil, errors.New("compare: no Run function")
	}
	cells := cfg.Cells()
	seeds := cfg.Seeds()
	type job struct{ cell, seed int }
	jobs := make(chan job)
	results := make([][]Run, len(cells))
	for i := range results {
		results[i] = make([]Run, len(seeds))
		for j := range results[i] {
			results[i][j] = Run{Seed: seeds[j], Err: "not run (the sweep was interrupted)"}
		}
	}
	var mu sync.Mutex
	done := 0
	total := len(cells) * len(seeds)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Parallel; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue // interrupted: left as not run
				}
				hc := cells[j.cell].Apply(cfg.Base, seeds[j.seed])
				start := time.Now()
				r := runOne(ctx, opt, worker, hc)
				mu.Lock()
				results[j.cell][j.seed] = r
				done++
				if opt.Progress != nil {
					v := r.Verdict.String()
					if r.Err != "" {
						v = "error: " + r.Err
					}
					fmt.Fprintf(opt.Progress, "[%d/%d] %s seed %d: %s (%s)\n", done, total,
						cells[j.cell].Label(), seeds[j.seed], v, time.Since(start).Round(100*time.Millisecond))
				}
				mu.Unlock()
			}
		}(w)
	}
feed:
	for s := range seeds {
		for c := range cells {
			select {
			case jobs <- job{c, s}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	t := &Table{Workload: cfg.Base.Workload, Nodes: cfg.Base.Nodes, Seeds: seeds, Time: cfg.Base.Time}
	for i, cell := range cells {
		t.Rows = append(t.Rows, summarize(cell, results[i]))
	}
	if err := ctx.Err(); err != nil {
		return t, fmt.Errorf("compare: sweep interrupted: %w", err)
	}
	return t, nil
}

// runOne runs one test and extracts what the table needs.
func runOne(ctx context.Context, opt Options, worker int, cfg harness.Config) Run {
	r := Run{Seed: cfg.Seed}
	out, err := opt.Run(ctx, worker, cfg)
	if out != nil {
		r.Dir = out.Dir
	}
	if errors.Is(err, harness.ErrInterrupted) {
		r.Err = "interrupted (cut short, not compared)"
		return r
	}
	if err != nil {
		r.Err = err.Error()
		opt.Log.Warn().Err(err).Int64("seed", cfg.Seed).Msg("run failed")
		return r
	}
	if out == nil || out.Results == nil {
		r.Err = "no results"
		return r
	}
	r.OK, r.Fail, r.Info = out.OK, out.Fail, out.Info
	fillFromResults(&r, out.Results)
	if out.Dir != "" {
		lat, err := latencies(filepath.Join(out.Dir, report.HistoryFile))
		if err != nil {
			opt.Log.Warn().Err(err).Str("dir", out.Dir).Msg("latencies")
		}
		r.Latencies = lat
	}
	return r
}

// fillFromResults takes the verdicts, staleness and lost updates from a run's results.
func fillFromResults(r *Run, res *checker.Results) {
	r.Verdict = res.Valid
	r.Linearizable = checker.Unknown
	for _, name := range checker.Names() {
		c, ok := res.Checkers[name]
		if !ok {
			continue
		}
		if name == checker.Linearizable {
			r.Linearizable = c.Valid
		}
		if c.Decides && c.Valid == checker.Invalid {
			r.Invalid = append(r.Invalid, name)
		}
		switch d := c.Details.(type) {
		case *checker.StalenessDetails:
			r.Reads, r.Stale = d.Reads, d.Stale
		case *checker.SetDetails:
			r.Lost, r.LostMeasured = int64(d.Lost), true
		case *checker.LostIncrementsDetails:
			r.Lost, r.LostMeasured = d.Lost, true
		}
	}
}

// latencies reads a history and returns, for every ok client operation, the time from its
// invocation to its completion.
func latencies(path string) ([]time.Duration, error) {
	f, err := history.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	pairs, err := history.Pair(f.Ops)
	if err != nil {
		return nil, fmt.Errorf("compare: %s: %w", path, err)
	}
	var out []time.Duration
	for _, p := range pairs {
		if p.Type == history.OK && p.Completed() {
			out = append(out, time.Duration(p.Return-p.Call))
		}
	}
	return out, nil
}

// PBS is the probability that a read quorum of R misses every one of the W replicas holding
// the latest write, when all N replicas are equally likely: C(N-W, R) / C(N, R) (Bailis et al.,
// "Probabilistically Bounded Staleness", VLDB 2012, with no anti-entropy). It is 0 when W+R>N.
func PBS(n, w, r int) float64 {
	if n <= 0 || w < 0 || r < 0 || w > n || r > n {
		return math.NaN()
	}
	return binom(n-w, r) / binom(n, r)
}

func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	v := 1.0
	for i := 1; i <= k; i++ {
		v = v * float64(n-k+i) / float64(i)
	}
	return v
}

// Row is one cell's summary over its runs.
type Row struct {
	Cell
	Runs         int               // runs that produced a verdict
	Errors       int               // runs that could not be done
	Valid        int               // runs whose overall verdict is valid
	Invalid      int               // ... invalid
	Linearizable int               // runs the linearizable checker found valid (register workloads)
	LinChecked   bool              // the linearizable checker ran
	InvalidBy    map[string]int    // deciding checker -> runs it found invalid
	Decided      int               // runs decided valid or invalid (Runs minus unknown verdicts)
	InvalidShare float64           // Invalid / Decided: the share of seeds that found an anomaly (NaN without decided runs)
	InvalidLo    float64           // 95 % Wilson score interval of InvalidShare
	InvalidHi    float64           //
	Reads, Stale int               // staleness, summed over runs
	StaleRate    float64           // Stale / Reads (NaN without reads)
	StaleLo      float64           // 95 % Wilson score interval of StaleRate, reads taken as independent
	StaleHi      float64           //
	Lost         int64             // lost acknowledged updates, summed over runs
	LostMeasured bool              // the workload has a lost-update checker
	OK, Fail     int64             // client completions, summed
	Info         int64             //
	P50, P99     time.Duration     // latency of ok ops over all runs
	PBS          float64           // the PBS prediction for (N, W, R)
	VsPBS        string            // "beat", "matched" or "worse" (measured against PBS), "" without reads
	RunList      []Run             // the runs, by seed
	Verdicts     []checker.Verdict // per run, by seed
}

// summarize folds a cell's runs into its row.
func summarize(cell Cell, runs []Run) Row {
	row := Row{Cell: cell, InvalidBy: map[string]int{}, PBS: PBS(cell.N, cell.W, cell.R), RunList: runs}
	if cell.Target != "" {
		row.PBS = math.NaN() // PBS models quorum stores only
	}
	var lat []time.Duration
	for _, r := range runs {
		if r.Err != "" {
			row.Errors++
			continue
		}
		row.Runs++
		row.Verdicts = append(row.Verdicts, r.Verdict)
		switch r.Verdict {
		case checker.Valid:
			row.Valid++
		case checker.Invalid:
			row.Invalid++
		}
		if r.Linearizable != checker.Unknown {
			row.LinChecked = true
		}
		if r.Linearizable == checker.Valid {
			row.Linearizable++
		}
		for _, n := range r.Invalid {
			row.InvalidBy[n]++
		}
		row.Reads += r.Reads
		row.Stale += r.Stale
		row.Lost += r.Lost
		row.LostMeasured = row.LostMeasured || r.LostMeasured
		row.OK += r.OK
		row.Fail += r.Fail
		row.Info += r.Info
		lat = append(lat, r.Latencies...)
	}
	row.Decided = row.Valid + row.Invalid
	row.InvalidShare = math.NaN()
	if row.Decided > 0 {
		row.InvalidShare = float64(row.Invalid) / float64(row.Decided)
	}
	row.InvalidLo, row.InvalidHi = Wilson(row.Invalid, row.Decided, Z95)
	row.StaleRate = math.NaN()
	if row.Reads > 0 {
		row.StaleRate = float64(row.Stale) / float64(row.Reads)
		if !math.IsNaN(row.PBS) {
			row.VsPBS = versus(row.StaleRate, row.PBS, row.Reads)
		}
	}
	row.StaleLo, row.StaleHi = Wilson(row.Stale, row.Reads, Z95)
	slices.Sort(lat)
	row.P50, row.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return row
}

// versus compares a measured stale-read rate with the PBS prediction: "matched" within two
// standard errors of a binomial at the predicted rate (at least half a percentage point),
// "beat" below that, "worse" above.
func versus(measured, predicted float64, reads int) string {
	if math.IsNaN(measured) || math.IsNaN(predicted) || reads == 0 {
		return ""
	}
	tol := math.Max(0.005, 2*math.Sqrt(predicted*(1-predicted)/float64(reads)))
	switch {
	case measured < predicted-tol:
		return "beat"
	case measured > predicted+tol:
		return "worse"
	}
	return "matched"
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Shares returns the ok, fail and info shares of the row's client completions.
func (r Row) Shares() (ok, fail, info float64) {
	n := float64(r.OK + r.Fail + r.Info)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return float64(r.OK) / n, float64(r.Fail) / n, float64(r.Info) / n
}

// Table is a sweep's result.
type Table struct {
	Workload string
	Nodes    int
	Seeds    []int64
	Time     time.Duration
	Rows     []Row
}

// header is the table's column names, shared by every output format.
func (t *Table) header() []string {
	verdict := "valid runs"
	if t.Workload == checker.WorkloadRegister {
		verdict = "linearizable"
	}
	return []string{"configuration", "quorum", verdict, "invalid seeds", "invalid 95% CI", "stale reads", "stale 95% CI",
		"PBS", "vs PBS", "lost acked", "ok", "fail", "info", "p50", "p99"}
}

// leftAligned reports whether the text table aligns column i (of header) left.
func leftAligned(i int) bool { return i == 0 || i == 1 || i == 8 }

// cells renders a row as the header's columns (human units).
func (t *Table) cells(r Row) []string {
	verdict := fmt.Sprintf("%d/%d", r.Valid, r.Runs)
	if t.Workload == checker.WorkloadRegister && r.LinChecked {
		verdict = fmt.Sprintf("%d/%d", r.Linearizable, r.Runs)
	}
	if r.Errors > 0 {
		verdict += fmt.Sprintf(" (%d err)", r.Errors)
	}
	ok, fail, info := r.Shares()
	lost := "-"
	if r.LostMeasured {
		lost = strconv.FormatInt(r.Lost, 10)
	}
	invalid := "-"
	if r.Decided > 0 {
		invalid = fmt.Sprintf("%d/%d", r.Invalid, r.Decided)
	}
	return []string{r.Label(), r.Quorum(), verdict, invalid, interval(r.InvalidLo, r.InvalidHi),
		pct(r.StaleRate), interval(r.StaleLo, r.StaleHi), pct(r.PBS), dash(r.VsPBS),
		lost, pct(ok), pct(fail), pct(info), ms(r.P50), ms(r.P99)}
}

// interval renders a confidence interval of shares as "lo–hi%".
func interval(lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "-"
	}
	return fmt.Sprintf("%.1f–%.1f%%", 100*lo, 100*hi)
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// sortedInvalid lists a row's invalid checkers as "name×k", sorted.
func sortedInvalid(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
