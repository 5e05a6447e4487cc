package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	scratchdir "github.com/faultline/faultline/internal/scratch"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/workloads"
)

// ErrInterrupted marks an Outcome whose run was cut short (Ctrl-C): what was recorded was still
// healed, saved and checked.
var ErrInterrupted = errors.New("harness: run interrupted")

// Options are the parts a run is wired from.
type Options struct {
	Runtime  Runtime        // where the cluster runs
	Target   Target         // what runs there and how clients reach it
	Log      zerolog.Logger // harness events
	Progress io.Writer      // live progress (nil = none)
	Terminal bool           // Progress is a terminal: redraw one line instead of printing lines
	// Schedule, when set, replaces the schedule generated from the seed (replay).
	Schedule *nemesis.Schedule
	_        struct{}
}

// Outcome is what a run produced.
type Outcome struct {
	Dir         string             // the run folder
	RunID       string             // the id the runtime labelled the run's objects with
	Runtime     string             // "local" or "docker"
	Mechanisms  map[string]string  // how each fault was injected
	Results     *checker.Results   // the verdicts
	Ops         int                // history length
	OK          int64              // client ops completed ok
	Fail        int64              // ... failed
	Info        int64              // ... indeterminate
	QuiesceWait time.Duration      // time spent waiting for replication to settle
	Quiesced    bool               // the replicas agreed before QuiesceMax ran out
	Interrupted bool               // Ctrl-C cut the run short
	Faults      []nemesis.Executed // the executed schedule
}

// progress is the live state shown while a run goes.
type progress struct {
	phase atomic.Value // string
	fault atomic.Value // string
	ctrs  workloads.Counters
}

// Run executes one test: start the cluster, wait healthy, drive clients and nemesis for
// cfg.Time, heal, quiesce, take final reads and dumps, collect logs and stats, tear down,
// check, save. ctx cancellation (Ctrl-C) skips to healing: the run is still torn down, saved
// and checked, and the Outcome says Interrupted. An error means the run could not be done
// (bad config, no healthy cluster, an unwritable results folder).
func Run(ctx context.Context, cfg Config, opt Options) (*Outcome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("harness: config: %w", err)
	}
	if opt.Runtime == nil {
		return nil, errors.New("harness: no runtime")
	}
	if err := CheckTarget(cfg, opt.Target, opt.Runtime); err != nil {
		return nil, fmt.Errorf("harness: config: %w", err)
	}
	tg := opt.Target
	nspec, err := tg.Nodes(cfg)
	if err != nil {
		return nil, fmt.Errorf("harness: target %s: %w", tg.Name(), err)
	}
	log := opt.Log.With().Str("run", cfg.RunName()).Logger()
	rt := opt.Runtime
	out := &Outcome{Runtime: rt.Name()}

	// The run folder and what is known before anything starts.
	run, err := report.Create(cfg.ResultsRoot, cfg.RunName(), time.Now())
	if err != nil {
		return nil, err
	}
	out.Dir = run.Dir
	if err := run.WriteJSON(report.ConfigFile, configDoc(cfg, rt.Name())); err != nil {
		return out, err
	}
	nodes := cfg.NodeIDs()
	sched, err := schedule(cfg, nodes, opt.Schedule)
	if err != nil {
		return out, err
	}
	if err := run.WriteJSON(report.ScheduleFile, sched); err != nil {
		return out, err
	}

	// Cleanup runs on a context of its own so Ctrl-C cannot stop it.
	cleanupCtx := func(d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), d)
	}

	// Start the cluster.
	scratch, err := scratchdir.Create("", cfg.RunName(), run.Dir, runID(run.Dir)) // marked, so prune finds it if we are killed
	if err != nil {
		return out, fmt.Errorf("harness: scratch dir: %w", err)
	}
	defer os.RemoveAll(scratch)
	token := randomToken()
	out.RunID = runID(run.Dir)
	spec := ClusterSpec{RunID: out.RunID, Nodes: nodes, NodeArgs: nspec.NodeArgs, Launch: nspec.Launch, AdminToken: token, ClusterSecret: randomToken(), Dir: scratch}
	log.Info().Str("runtime", rt.Name()).Int("nodes", len(nodes)).Msg("starting cluster")
	started, err := rt.Start(ctx, spec)
	tornDown := false
	teardown := func() {
		if tornDown {
			return
		}
		tornDown = true
		tctx, cancel := cleanupCtx(60 * time.Second)
		defer cancel()
		collectLogs(tctx, rt, run, nodes, log)
		if err := rt.Teardown(tctx); err != nil {
			log.Error().Err(err).Msg("teardown")
		}
	}
	defer teardown()
	if err != nil {
		return out, fmt.Errorf("harness: start cluster: %w", err)
	}
	if m, ok := rt.(Mechanisms); ok {
		out.Mechanisms = map[string]string{}
		for k, v := range m.Mechanisms() { // after Start: some are probed then (netem)
			if slices.Contains(tg.Faults(), k) {
				out.Mechanisms[k] = v
			}
		}
	}
	cl, err := tg.Open(ctx, cfg, spec, started)
	if err != nil {
		return out, fmt.Errorf("harness: target %s: %w", tg.Name(), err)
	}
	defer cl.Close()
	healthStart := time.Now()
	if err := waitHealthy(ctx, cl, nodes, cfg.HealthWait); err != nil {
		return out, fmt.Errorf("harness: cluster not healthy within %s: %w", cfg.HealthWait, err)
	}
	log.Info().Dur("took", time.Since(healthStart)).Msg("cluster healthy")

	// The history.
	hf, err := os.Create(run.Path(report.HistoryFile))
	if err != nil {
		return out, fmt.Errorf("harness: %w", err)
	}
	defer hf.Close()
	start := time.Now()
	rec := NewRecorder(hf, start)
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushDone := make(chan struct{})
	go func() { defer close(flushDone); rec.FlushLoop(flushCtx) }()
	defer func() { stopFlush(); <-flushDone }()

	// Clients and nemesis run for cfg.Time, or until Ctrl-C.
	wcfg := workloadConfig(cfg)
	newClient := func(final bool) func(int) (workloads.Client, string) {
		return func(process int) (workloads.Client, string) {
			id := nodes[process%len(nodes)]
			return cl.Client(id, final), id
		}
	}
	tgt := newFaultTarget(rt, nodes, cl)
	prog := &progress{}
	prog.phase.Store("running")
	prog.fault.Store("")
	runCtx, stopRun := context.WithTimeout(ctx, cfg.Time)
	var wg sync.WaitGroup
	var workErr, nemErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		workErr = workloads.Run(runCtx, wcfg, newClient(false), rec, &prog.ctrs, log)
	}()
	go func() {
		defer wg.Done()
		onEvent := func(e nemesis.Event) { prog.fault.Store(e.String()) }
		out.Faults, nemErr = nemesis.Execute(runCtx, sched, tgt, rec, start, onEvent, log)
	}()
	progDone := make(chan struct{})
	progCtx, stopProg := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer close(progDone); showProgress(progCtx, opt, prog, cfg.Time, start) }()
	wg.Wait()
	stopRun()
	out.Interrupted = ctx.Err() != nil
	if workErr != nil && !errors.Is(workErr, context.Canceled) && !errors.Is(workErr, context.DeadlineExceeded) {
		log.Error().Err(workErr).Msg("workload")
	}
	if nemErr != nil && !errors.Is(nemErr, context.Canceled) && !errors.Is(nemErr, context.DeadlineExceeded) {
		log.Error().Err(nemErr).Msg("nemesis")
	}

	// Heal every fault, whatever happened.
	prog.phase.Store("healing")
	hctx, cancel := cleanupCtx(60 * time.Second)
	// Undo what the nemesis left active (recorded in the history), then make sure of it
	// through the runtime itself.
	if err := nemesis.HealExecuted(hctx, out.Faults, tgt, rec, log); err != nil {
		log.Error().Err(err).Msg("heal")
	}
	if err := rt.Heal(hctx); err != nil {
		log.Error().Err(err).Msg("heal")
	}
	cancel()
	if err := run.WriteJSON(report.NemesisFile, out.Faults); err != nil {
		log.Error().Err(err).Msg("save executed schedule")
	}

	// The final reads use fresh processes from here on: the checkers judge lost updates
	// against the reads of those processes only (none in an interrupted run). Never 0, which
	// means "not named" to the checker (and DefaultFinalProcess to FinalReads).
	wcfg.FinalProcess = max(int(prog.ctrs.NextProcess.Load()), 1)
	var dumps history.Dumps
	if !out.Interrupted {
		// Quiesce, then final reads and dumps.
		prog.phase.Store("quiescing")
		qctx, cancel := cleanupCtx(cfg.QuiesceMax + 30*time.Second)
		out.QuiesceWait, out.Quiesced, dumps = quiesce(qctx, cl, nodes, cfg.QuiesceMax)
		log.Info().Dur("wait", out.QuiesceWait).Bool("settled", out.Quiesced).Msg("quiesced")
		prog.phase.Store("final reads")
		if err := workloads.FinalReads(qctx, wcfg, newClient(true), rec, log); err != nil {
			log.Error().Err(err).Msg("final reads")
		}
		if dm, ok := cl.(Dumper); ok {
			if d, err := dm.Dumps(qctx, nodes); err != nil {
				log.Error().Err(err).Msg("replica dumps")
			} else {
				dumps = d
			}
		}
		cancel()
	}
	stopProg()
	<-progDone

	// Stats, logs, teardown.
	sctx, cancel := cleanupCtx(10 * time.Second)
	stats := map[string]any{}
	if st, ok := cl.(Stats); ok {
		for _, id := range nodes {
			if s, err := st.Stats(sctx, id); err == nil {
				stats[id] = s
			} else {
				stats[id] = map[string]string{"error": err.Error()}
			}
		}
	}
	cancel()
	ops := rec.Ops()
	out.Ops = len(ops)
	out.OK, out.Fail, out.Info = prog.ctrs.OK.Load(), prog.ctrs.Fail.Load(), prog.ctrs.Info.Load()
	teardown()
	if err := rec.Flush(); err != nil {
		log.Error().Err(err).Msg("history")
	}
	stats["harness"] = map[string]any{
		"runtime": rt.Name(), "target": tg.Name(), "mechanisms": out.Mechanisms, "ops": out.Ops,
		"ok": out.OK, "fail": out.Fail, "info": out.Info,
		"quiesce_wait_ms": out.QuiesceWait.Milliseconds(), "quiesced": out.Quiesced,
		"interrupted": out.Interrupted, "duration_ms": time.Since(start).Milliseconds(),
		"final_process": wcfg.FinalProcess, // faultline check reads it back (checker.Config.FinalProcess)
	}
	if err := run.WriteJSON(report.StatsFile, stats); err != nil {
		log.Error().Err(err).Msg("save stats")
	}
	if dumps != nil {
		if err := run.WriteJSON(report.DumpsFile, dumps); err != nil {
			log.Error().Err(err).Msg("save dumps")
		}
	}

	// Check and save the verdict.
	cctx, cancel := cleanupCtx(cfg.CheckTimeout + 30*time.Second)
	defer cancel()
	res, err := checker.Check(cctx, ops, checker.Config{
		Workload:   cfg.Workload,
		Checks:     cfg.Checks,
		Timeout:    cfg.CheckTimeout,
		NoExplain:  cfg.NoExplain,
		KeyWorkers: cfg.CheckWorkers,
		Dumps:      dumps,
		OutDir:     run.Dir,
		Log:        log,
		// the final reads are the reads by processes from here on
		FinalProcess: wcfg.FinalProcess,
	})
	if err != nil {
		return out, fmt.Errorf("harness: check: %w", err)
	}
	out.Results = res
	if err := run.WriteJSON(report.ResultsFile, res); err != nil {
		return out, err
	}
	if cfg.NoReport {
		// a sweep: `faultline serve` renders the report on demand
	} else if err := report.WriteHTML(run.Dir); err != nil {
		log.Warn().Err(err).Msg("report.html")
	}
	if err := run.LinkLatest(); err != nil {
		log.Warn().Err(err).Msg("results/latest")
	}
	if out.Interrupted {
		return out, ErrInterrupted
	}
	return out, nil
}

// configDoc is config.json: the config (loadable with LoadConfig) plus the runtime it ran on.
func configDoc(cfg Config, runtime string) any { return cfg.toJSON(runtime) }

func schedule(cfg Config, nodes []string, given *nemesis.Schedule) (nemesis.Schedule, error) {
	if given != nil {
		return *given, nil
	}
	kinds := make([]nemesis.Kind, len(cfg.Nemesis))
	for i, k := range cfg.Nemesis {
		kinds[i] = nemesis.Kind(k)
	}
	ncfg := nemesis.DefaultConfig()
	ncfg.Faults = kinds
	ncfg.Nodes = nodes
	ncfg.Interval = cfg.NemesisInterval
	ncfg.Duration = cfg.Time
	ncfg.Seed = cfg.Seed
	ncfg.ClockMax = cfg.ClockMax
	ncfg.DelayMax, ncfg.LossMax = cfg.DelayMax, cfg.LossMax
	s, err := nemesis.Generate(ncfg)
	if err != nil {
		return nemesis.Schedule{}, fmt.Errorf("harness: nemesis schedule: %w", err)
	}
	return s, nil
}

func workloadConfig(cfg Config) workloads.Config {
	w := workloads.DefaultConfig()
	w.Workload = cfg.Workload
	w.CRDT = cfg.CRDT
	w.CASShare = cfg.CAS
	w.Keys = cfg.Keys
	w.KeyDist = cfg.KeyDist
	w.Concurrency = cfg.Concurrency
	w.Rate = cfg.Rate
	w.OpTimeout = cfg.OpTimeout
	w.Seed = cfg.Seed
	return w
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runID is a short stable id for the run's labels (faultline.run=<id>), from its folder.
func runID(dir string) string {
	return fmt.Sprintf("%x", hashString(dir))[:12]
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// waitHealthy polls every node's health until all answer, bounded by d.
func waitHealthy(ctx context.Context, cl Cluster, nodes []string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		var last error
		for _, id := range nodes {
			if err := cl.Healthy(ctx, id); err != nil {
				last = fmt.Errorf("%s: %w", id, err)
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// quiesce waits, bounded by max, until two dumps in a row are equal and every key has one
// value on all replicas that hold it. It returns the time waited, whether it settled, and the
// last dumps taken. A target without dumps has settled once every node is healthy again.
func quiesce(ctx context.Context, cl Cluster, nodes []string, max time.Duration) (time.Duration, bool, history.Dumps) {
	start := time.Now()
	dm, ok := cl.(Dumper)
	if !ok {
		err := waitHealthy(ctx, cl, nodes, max)
		return time.Since(start), err == nil, nil
	}
	var prev history.Dumps
	for {
		d, err := dm.Dumps(ctx, nodes)
		if err == nil && prev != nil && reflect.DeepEqual(d, prev) && Agreed(d) {
			return time.Since(start), true, d
		}
		if err == nil {
			prev = d
		}
		if time.Since(start) >= max {
			return time.Since(start), false, prev
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false, prev
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Agreed reports whether every key has the same value on every replica of it (takeDumps records
// a replica that lacks the key as null).
func Agreed(d history.Dumps) bool {
	seen := map[string]history.Value{}
	for _, keys := range d {
		for k, v := range keys {
			if w, ok := seen[k]; ok && !w.Equal(v) {
				return false
			}
			seen[k] = v
		}
	}
	return true
}

// collectLogs copies each node's log into the run folder.
func collectLogs(ctx context.Context, rt Runtime, run *report.Run, nodes []string, log zerolog.Logger) {
	for _, id := range nodes {
		f, err := os.Create(run.Path(report.NodesDir, id+".log"))
		if err != nil {
			log.Error().Err(err).Str("node", id).Msg("node log")
			continue
		}
		if err := rt.Logs(ctx, id, f); err != nil {
			log.Warn().Err(err).Str("node", id).Msg("node log")
		}
		f.Close()
	}
}

// showProgress draws the live state: one redrawn line on a terminal, a plain line every 5 s
// otherwise.
func showProgress(ctx context.Context, opt Options, p *progress, total time.Duration, start time.Time) {
	if opt.Progress == nil {
		return
	}
	every := 5 * time.Second
	if opt.Terminal {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	line := func() string {
		el := time.Since(start).Truncate(time.Second)
		if el > total {
			el = total
		}
		done := int(20 * el / total)
		bar := "[" + repeat('#', done) + repeat('.', 20-done) + "]"
		s := fmt.Sprintf("%s %s/%s %-11s ops %d  ok %d  fail %d  info %d",
			bar, el, total, p.phase.Load(), p.ctrs.Invoked.Load(), p.ctrs.OK.Load(), p.ctrs.Fail.Load(), p.ctrs.Info.Load())
		if f, _ := p.fault.Load().(string); f != "" {
			s += "  | " + f
		}
		return s
	}
	for {
		select {
		case <-ctx.Done():
			if opt.Terminal {
				fmt.Fprintf(opt.Progress, "\r\033[K%s\n", line())
			}
			return
		case <-t.C:
			if opt.Terminal {
				fmt.Fprintf(opt.Progress, "\r\033[K%s", line())
			} else {
				fmt.Fprintln(opt.Progress, line())
			}
		}
	}
}

func repeat(c byte, n int) string {
	if n < 0 {
		n = 0
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
