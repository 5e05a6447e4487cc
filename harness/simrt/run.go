package simrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/sim/faults"
	"github.com/faultline/faultline/sim/record"
	"github.com/faultline/faultline/store"
	"github.com/faultline/faultline/workloads"
)

// Name is the runtime's name, in config.json and the output.
const Name = "sim"

// EventsFile is the store's internal decisions, one JSON object (store.Event) a line, in
// virtual time.
const EventsFile = report.EventsFile

// Note says plainly what is real and what is not, beside the runtime's name.
const Note = " (one process, virtual time: the network, the disks and the clocks are SIMULATED from the seed; the store's own code runs on them)"

// GCPercent is the garbage collector's target a process running simulations should set
// (debug.SetGCPercent; cmd/faultline does unless GOGC is set). A simulation allocates fast and
// keeps little live (a few MB), so the default target of 100 makes the collector run every few
// milliseconds; at 400 a default run takes about a third less wall time for a few MB more heap
// (BENCHMARKS.md, "Simulation").
const GCPercent = 400

// progressEvery is how often (wall time) Options.Progress gets a line.
const progressEvery = 5 * time.Second

// interruptEvery is how much virtual time runs between checks for Ctrl-C.
const interruptEvery = 100 * time.Millisecond

// quiesceEvery is how often the settle phase compares the replicas (virtual time).
const quiesceEvery = 250 * time.Millisecond

// Options are what a simulated run is wired from.
type Options struct {
	Store Store          // the store under test (Reference: the reference store's core)
	Log   zerolog.Logger // harness events
	// Schedule, when set, replaces the schedule generated from the seed (replay).
	Schedule *nemesis.Schedule
	// Script, when set, replaces the clients' generated ops (a shrunk scenario; see Scenario).
	Script workloads.Script
	// Dir, when set, is the run folder (created; it must not exist or be empty) instead of a
	// new one under the results root, and results/latest is left alone (shrink's output).
	Dir string
	// Progress, when set, gets a line every progressEvery of wall time while clients run (only
	// long simulations last that long): virtual time and op counts. It is output only: the wall
	// clock read for it decides nothing in the simulated run.
	Progress io.Writer
	// NoSave runs the simulation only: no run folder, no checking (benchmarks, determinism
	// tests). The Outcome still has the history's hash.
	NoSave bool
	_      struct{}
}

// Outcome is what a simulated run produced.
type Outcome struct {
	harness.Outcome
	Virtual       time.Duration    // virtual time simulated, settling and final reads included
	Wall          time.Duration    // wall time the simulation took, before checking
	HistorySHA256 string           // sha256 of history.jsonl's bytes
	TraceSHA256   string           // sha256 of the simulator's trace (every event and decision)
	Fired         uint64           // simulator events run
	Events        int              // store events (events.jsonl lines)
	Net           sim.NetStats     // message counters
	History       []history.Op     // the history (do not modify)
	Script        workloads.Script // the ops the clients started (generated or Options.Script)
}

// Speed is virtual seconds per wall second.
func (o *Outcome) Speed() float64 {
	if o.Wall <= 0 {
		return 0
	}
	return o.Virtual.Seconds() / o.Wall.Seconds()
}

// Check refuses what the simulator cannot run: another target than the reference store,
// compare-and-set (the reference store has none).
func Check(cfg harness.Config) error {
	if cfg.TargetName() != harness.ReferenceTarget {
		return fmt.Errorf("the sim runtime runs the reference store only (it needs the store's core), not target %s", cfg.TargetName())
	}
	if cfg.CAS > 0 {
		return errors.New("the sim runtime: the reference store has no compare-and-set (--cas)")
	}
	return nil
}

// run is one simulated test in progress.
type run struct {
	cfg     harness.Config
	opt     Options
	log     zerolog.Logger
	w       *sim.World
	rec     *record.History
	nodes   []string
	clients []*clientNode
	final   *clientNode
	h       *sim.Env  // the harness node's env (timers)
	clock   loopClock // the workers' time
	ids     uint64
	events  bytes.Buffer
	nevents int
	logs    map[string]*bytes.Buffer
	out     *Outcome

	dumpsFinal   history.Dumps  // after the final reads
	nodeStats    map[string]any // node id -> its counters at the end
	finalProcess int            // the first final-read process
}

// Run executes one test in the simulator: cluster, clients and nemesis for cfg.Time of virtual
// time, heal, settle (bounded by QuiesceMax), final reads, dumps, then check and save as
// harness.Run does. An error means the run could not be done.
func Run(ctx context.Context, cfg harness.Config, opt Options) (*Outcome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simrt: config: %w", err)
	}
	if err := Check(cfg); err != nil {
		return nil, fmt.Errorf("simrt: config: %w", err)
	}
	if opt.Store == nil {
		return nil, errors.New("simrt: no store")
	}
	r := newRun(cfg, opt)
	sched, err := harness.Schedule(cfg, r.nodes, opt.Schedule)
	if err != nil {
		return nil, err
	}
	wall := time.Now()
	if err := r.simulate(ctx, sched); err != nil {
		return nil, err
	}
	r.out.Wall = time.Since(wall)
	if opt.NoSave {
		return r.out, nil
	}
	if err := r.save(ctx, sched); err != nil {
		return r.out, err
	}
	if r.out.Interrupted {
		return r.out, harness.ErrInterrupted
	}
	return r.out, nil
}

// newRun is a run of cfg, not started.
func newRun(cfg harness.Config, opt Options) *run {
	r := &run{cfg: cfg, opt: opt, log: opt.Log.With().Str("run", cfg.RunName()).Logger(), nodes: cfg.NodeIDs(),
		logs: map[string]*bytes.Buffer{}, out: &Outcome{}}
	r.out.Runtime = Name
	return r
}

// simulate plays the whole run in virtual time, one phase after the other.
func (r *run) simulate(ctx context.Context, sched nemesis.Schedule) error {
	if err := r.build(); err != nil {
		return err
	}
	if err := r.waitHealthy(); err != nil {
		return err
	}
	wcfg := harness.WorkloadConfig(r.cfg)
	var ctrs workloads.Counters
	if err := r.drive(ctx, sched, wcfg, &ctrs); err != nil {
		return err
	}
	r.heal(ctx)
	settled := r.settle()
	// The final reads use fresh processes from here on (none in an interrupted run).
	wcfg.FinalProcess = max(int(ctrs.NextProcess.Load()), 1)
	r.finalProcess = wcfg.FinalProcess
	if !r.out.Interrupted {
		if err := r.finalReads(wcfg); err != nil {
			return err
		}
	}
	r.collect(&ctrs, settled)
	return nil
}

// build makes the world: the store nodes, the harness node (its timers run the workers) and a
// client node per worker plus one for the final reads.
func (r *run) build() error {
	cfg := r.cfg
	scfg := sim.DefaultConfig()
	scfg.Seed = uint64(cfg.Seed)
	scfg.Net.Duplicate, scfg.Net.Reorder = cfg.Sim.Duplicate, cfg.Sim.Reorder
	w, err := sim.New(scfg)
	if err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	r.w = w
	r.rec = record.New(w)
	events := func(e store.Event) {
		b, _ := json.Marshal(e) // plain fields: cannot fail
		r.events.Write(b)
		r.events.WriteByte('\n')
		r.nevents++
	}
	for _, id := range r.nodes {
		sc := StoreConfig(cfg, id)
		if err := sc.Validate(); err != nil {
			return fmt.Errorf("simrt: store config of %s: %w", id, err)
		}
		buf := &bytes.Buffer{}
		r.logs[id] = buf
		nlog := zerolog.New(buf).Level(zerolog.InfoLevel).With().Str("node", id).Logger()
		if _, err := w.AddNode(id, r.opt.Store.Boot(sc, nlog, events)); err != nil {
			return fmt.Errorf("simrt: %w", err)
		}
	}
	if _, err := w.AddNode("harness", func(env *sim.Env) sim.Program { r.h = env; return idle{} }); err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	r.clock = loopClock{w: w, env: r.h}
	newClientNode := func(id string) (*clientNode, error) {
		c := &clientNode{st: r.opt.Store, ids: &r.ids, pending: map[uint64]func(store.Record, *store.OpError){}}
		_, err := w.AddNode(id, func(env *sim.Env) sim.Program { c.env = env; return c })
		return c, err
	}
	for i := range cfg.Concurrency {
		c, err := newClientNode(fmt.Sprintf("c%d", i))
		if err != nil {
			return fmt.Errorf("simrt: %w", err)
		}
		r.clients = append(r.clients, c)
	}
	if r.final, err = newClientNode("final"); err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	return nil
}

// drive runs the clients and the nemesis for cfg.Time, then until the ops in flight end (each
// on its own deadline). Ctrl-C (ctx, checked every interruptEvery of virtual time) stops the
// clients at once, as in harness.Run.
func (r *run) drive(ctx context.Context, sched nemesis.Schedule, wcfg workloads.Config, ctrs *workloads.Counters) error {
	w, cfg := r.w, r.cfg
	start := w.Now()
	// The scheduled faults that start within the run (as nemesis.Execute stops at its end).
	played := sched
	played.Events = nil
	for _, e := range sched.Events {
		if e.At < cfg.Time {
			played.Events = append(played.Events, e)
		}
	}
	faults.Play(w, played, start, r.rec, func(e nemesis.Event, err error) {
		x := nemesis.Executed{Event: e, Actual: w.Now() - start}
		if err != nil {
			x.Error = err.Error()
		}
		r.out.Faults = append(r.out.Faults, x)
	})
	procs, err := workloads.NewProcs(wcfg, r.clock, r.newClient(wcfg, false), r.rec, ctrs, r.log)
	if err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	if r.opt.Script != nil {
		if err := procs.SetScript(r.opt.Script); err != nil {
			return fmt.Errorf("simrt: %w", err)
		}
	}
	end := start + cfg.Time
	procs.Start(end)
	shown := time.Now()
	for w.Now() < end {
		if ctx.Err() != nil {
			r.out.Interrupted = true
			procs.Stop()
			break
		}
		w.Run(min(w.Now()+interruptEvery, end))
		if r.opt.Progress != nil && time.Since(shown) >= progressEvery {
			shown = time.Now()
			fmt.Fprintf(r.opt.Progress, "simulated %s/%s: ops %d  ok %d  fail %d  info %d\n", (w.Now() - start).Truncate(time.Millisecond), cfg.Time,
				ctrs.Invoked.Load(), ctrs.OK.Load(), ctrs.Fail.Load(), ctrs.Info.Load())
		}
	}
	for procs.InFlight() > 0 && w.Step() {
	}
	r.out.Script = procs.Started()
	return nil
}

// heal undoes what the nemesis left active (recorded in the history), makes sure of it through
// the world, and restarts the nodes still down.
func (r *run) heal(ctx context.Context) {
	hctx := context.WithoutCancel(ctx) // healing survives Ctrl-C; the simulated target never blocks
	if err := nemesis.HealExecuted(hctx, r.out.Faults, faults.Target{W: r.w}, r.rec, r.log); err != nil {
		r.log.Error().Err(err).Msg("heal")
	}
	r.w.Heal()
	for _, id := range r.nodes {
		if err := r.w.Restart(id); err != nil {
			r.log.Error().Err(err).Msg("restart")
		}
	}
}

// settle runs the world until two dumps in a row are equal and agree, bounded by QuiesceMax,
// and returns the last dumps taken.
func (r *run) settle() history.Dumps {
	w := r.w
	start := w.Now()
	var prev history.Dumps
	for {
		d, err := r.dumps()
		if err == nil && prev != nil && reflect.DeepEqual(d, prev) && harness.Agreed(d) {
			r.out.Quiesced = true
			break
		}
		if err == nil {
			prev = d
		}
		if w.Now()-start >= r.cfg.QuiesceMax {
			break
		}
		w.Run(w.Now() + quiesceEvery)
	}
	r.out.QuiesceWait = w.Now() - start
	return prev
}

// finalReads reads every key by fresh processes at R=W=N and runs the world until they end.
func (r *run) finalReads(wcfg workloads.Config) error {
	finished := false
	err := workloads.FinalReadsAsync(wcfg, r.clock, r.newClient(wcfg, true), r.rec, r.log, func(err error) {
		finished = true
		if err != nil {
			r.log.Error().Err(err).Msg("final reads")
		}
	})
	if err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	for !finished && r.w.Step() {
	}
	return nil
}

// collect takes the final dumps and node counters and fills in the outcome.
func (r *run) collect(ctrs *workloads.Counters, settled history.Dumps) {
	w, out := r.w, r.out
	dumps, err := r.dumps()
	if err != nil {
		r.log.Error().Err(err).Msg("replica dumps")
		dumps = settled
	}
	r.dumpsFinal = dumps
	r.nodeStats = map[string]any{}
	for _, id := range r.nodes {
		if st := r.opt.Store.Stats(w.Node(id)); st != nil {
			r.nodeStats[id] = st
		}
	}
	out.Virtual = w.Now()
	out.History = r.rec.Ops()
	out.Ops = len(out.History)
	out.OK, out.Fail, out.Info = ctrs.OK.Load(), ctrs.Fail.Load(), ctrs.Info.Load()
	out.HistorySHA256 = r.rec.Sum()
	out.TraceSHA256 = w.Trace().Sum()
	out.Fired = w.Fired()
	out.Events = r.nevents
	out.Net = w.NetStats()
}

// healthKey is the key the health probes read (no workload writes it).
const healthKey = "faultline-health"

// waitHealthy reads healthKey once through every node, as harness.Run waits for every node's
// health before the clients start: a node whose core did not start answers an error. Bounded by
// HealthWait of virtual time.
func (r *run) waitHealthy() error {
	errs := make([]error, len(r.nodes))
	waiting := len(r.nodes)
	for i, id := range r.nodes {
		errs[i] = fmt.Errorf("%s: no answer within %s", id, r.cfg.HealthWait)
		c := &simClient{c: r.final, to: id, q: store.Quorums{W: 1, R: 1}}
		c.read("health", healthKey, store.KindRegister, func(_ store.Record, err error) {
			errs[i] = err
			waiting--
		})
	}
	end := r.w.Now() + r.cfg.HealthWait
	for waiting > 0 && r.w.Now() < end && r.w.Step() {
	}
	r.final.forget()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("simrt: cluster not healthy: %s: %w", r.nodes[i], err)
		}
	}
	return nil
}

// newClient gives a process its client: process p talks to node p mod the cluster size, as in
// harness.Run, from its worker's client node (final reads: from the final-read node), at the
// run's W and R (final reads: N and N).
func (r *run) newClient(wcfg workloads.Config, final bool) func(int) (workloads.AsyncClient, string) {
	q := store.Quorums{W: r.cfg.Store.W, R: r.cfg.Store.R}
	if final {
		q = store.Quorums{W: r.cfg.Store.N, R: r.cfg.Store.N}
	}
	vclock := StoreConfig(r.cfg, r.nodes[0]).RegisterConsistency() == store.VClock
	return func(process int) (workloads.AsyncClient, string) {
		id := r.nodes[process%len(r.nodes)]
		c := r.final
		if !final {
			c = r.clients[process%wcfg.Concurrency]
			c.forget() // a new process: what its predecessor waited for is nobody's now
		}
		return &simClient{c: c, to: id, q: q, vclock: vclock}, id
	}
}

// dumps reads every node's disk, as the reference target's dumps do: each replica's keys as
// history values, and a null for a replica that lacks a key it must hold.
func (r *run) dumps() (history.Dumps, error) {
	out := history.Dumps{}
	for _, id := range r.nodes {
		recs, err := r.opt.Store.Dump(r.w.Node(id))
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", id, err)
		}
		keys := map[string]history.Value{}
		for k, rec := range recs {
			keys[k] = dumpValue(rec)
		}
		out[id] = keys
	}
	markMissing(r.cfg, out)
	return out, nil
}

// save writes the run folder, checks and writes the verdict, as harness.Run does.
func (r *run) save(ctx context.Context, sched nemesis.Schedule) error {
	cfg, out := r.cfg, r.out
	rf, err := r.folder()
	if err != nil {
		return err
	}
	if r.opt.Script != nil {
		if err := rf.WriteJSON(ScriptFile, r.opt.Script); err != nil {
			return err
		}
	}
	out.Dir = rf.Dir
	out.RunID = "sim-" + r.out.HistorySHA256[:12]
	if err := rf.WriteJSON(report.ConfigFile, harness.ConfigDoc(cfg, Name)); err != nil {
		return err
	}
	if err := rf.WriteJSON(report.ScheduleFile, sched); err != nil {
		return err
	}
	if err := rf.WriteJSON(report.NemesisFile, out.Faults); err != nil {
		return err
	}
	hf, err := os.Create(rf.Path(report.HistoryFile))
	if err != nil {
		return fmt.Errorf("simrt: %w", err)
	}
	err = r.rec.WriteJSONL(hf)
	if cerr := hf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("simrt: history: %w", err)
	}
	if err := report.WriteFileAtomic(rf.Path(EventsFile), r.events.Bytes()); err != nil {
		return fmt.Errorf("simrt: events: %w", err)
	}
	for _, id := range r.nodes {
		if err := writeFile(rf.Path(report.NodesDir, id+".log"), r.logs[id]); err != nil {
			r.log.Warn().Err(err).Str("node", id).Msg("node log")
		}
	}
	if r.dumpsFinal != nil {
		if err := rf.WriteJSON(report.DumpsFile, r.dumpsFinal); err != nil {
			r.log.Error().Err(err).Msg("save dumps")
		}
	}
	stats := map[string]any{}
	for id, st := range r.nodeStats {
		stats[id] = st
	}
	stats["harness"] = map[string]any{
		"runtime": Name, "target": harness.ReferenceTarget, "ops": out.Ops,
		"ok": out.OK, "fail": out.Fail, "info": out.Info,
		"quiesce_wait_ms": out.QuiesceWait.Milliseconds(), "quiesced": out.Quiesced,
		"interrupted": out.Interrupted, "duration_ms": out.Virtual.Milliseconds(),
		"final_process": r.finalProcess,
		// what the simulation did (report.html shows it with the harness's figures)
		"sim": map[string]any{
			"virtual_ms": out.Virtual.Milliseconds(), "wall_ms": out.Wall.Milliseconds(),
			"virtual_per_wall": out.Speed(), "events_fired": out.Fired, "store_events": out.Events,
			"history_sha256": out.HistorySHA256, "trace_sha256": out.TraceSHA256, "net": out.Net,
		},
	}
	if err := rf.WriteJSON(report.StatsFile, stats); err != nil {
		r.log.Error().Err(err).Msg("save stats")
	}

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.CheckTimeout+30*time.Second)
	defer cancel()
	res, err := checker.Check(cctx, out.History, checker.Config{
		Workload:     cfg.Workload,
		Checks:       cfg.Checks,
		Timeout:      cfg.CheckTimeout,
		NoExplain:    cfg.NoExplain,
		KeyWorkers:   cfg.CheckWorkers,
		Dumps:        r.dumpsFinal,
		OutDir:       rf.Dir,
		Log:          r.log,
		FinalProcess: r.finalProcess,
	})
	if err != nil {
		return fmt.Errorf("simrt: check: %w", err)
	}
	out.Results = res
	if err := rf.WriteJSON(report.ResultsFile, res); err != nil {
		return err
	}
	if cfg.NoReport {
		// a sweep: `faultline serve` renders the report on demand
	} else if err := report.WriteHTML(rf.Dir); err != nil {
		r.log.Warn().Err(err).Msg("report.html")
	}
	if r.opt.Dir != "" {
		return nil
	}
	if err := rf.LinkLatest(); err != nil {
		r.log.Warn().Err(err).Msg("results/latest")
	}
	return nil
}

func writeFile(path string, b *bytes.Buffer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if b != nil {
		_, err = io.Copy(f, b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
