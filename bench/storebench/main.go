// Command storebench measures the store's quorum write and read throughput and latency on a local
// 3-node cluster (in this process, on loopback) at a number of concurrent clients, beside a bare
// Go HTTP echo server driven the same way in the same run. Issue 2's target: store ops/s >= 50%
// of echo_ops/s / (1+N).
//
// With -engine both (the default) it alternates rounds over the storage engines (bbolt, pebble,
// bbolt, pebble, ...), each round with its own echo phase and a fresh cluster, so that other
// load on the machine falls on both alike, and reports the ratio between them per round.
//
//	go run ./bench/storebench -duration 5s -clients 32 -fsync always -engine both -rounds 2
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/store"
	"github.com/rs/zerolog"
)

type result struct {
	name     string
	ops      int
	errs     int
	elapsed  time.Duration
	p50, p99 time.Duration
	cpuPerOp time.Duration // process CPU time (user+system) per op, warm-up included
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// drive runs op from clients goroutines for d (after a warm-up of d/5) and measures.
func drive(name string, clients int, d time.Duration, op func(ctx context.Context, worker, i int) error) result {
	var mu sync.Mutex
	var lats []time.Duration
	errs := 0
	var wg sync.WaitGroup
	var all atomic.Int64
	cpu0 := cpuTime()
	warm := d / 5
	start := time.Now()
	measureFrom, end := start.Add(warm), start.Add(warm+d)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs := 0
			for i := 0; ; i++ {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := op(context.Background(), w, i)
				all.Add(1)
				if t0.After(measureFrom) {
					if err != nil {
						myErrs++
					} else {
						mine = append(mine, time.Since(t0))
					}
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += myErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	cpu := cpuTime() - cpu0
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	r := result{name: name, ops: len(lats), errs: errs, elapsed: d}
	if n := all.Load(); n > 0 {
		r.cpuPerOp = cpu / time.Duration(n)
	}
	if len(lats) > 0 {
		r.p50, r.p99 = lats[len(lats)/2], lats[len(lats)*99/100]
	}
	return r
}

func main() {
	d := flag.Duration("duration", 5*time.Second, "measured time per phase (plus a warm-up of a fifth)")
	clients := flag.Int("clients", 32, "concurrent clients")
	fsync := flag.String("fsync", "always", "node fsync policy: always or never")
	engine := flag.String("engine", "both", "storage engine: bbolt, pebble, or both (alternating rounds)")
	rounds := flag.Int("rounds", 1, "rounds per engine")
	cons := flag.String("consistency", "lww", "lww, vclock or abd")
	keys := flag.Int("keys", 10000, "key space")
	valueSize := flag.Int("value-size", 100, "value bytes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	only := flag.String("only", "", "run one store phase only: write or read (the echo phase always runs)")
	linger := flag.Duration("linger", store.DefaultConfig().CommitLinger, "group commit linger under load (store Config.CommitLinger)")
	flag.Parse()
	engines := []string{*engine}
	if *engine == "both" {
		engines = store.Engines()
	}
	b := bench{d: *d, clients: *clients, fsync: *fsync, cons: *cons, keys: *keys, only: *only, linger: *linger,
		value: fmt.Sprintf("%0*d", *valueSize, 7), hc: client.NewHTTPClient()}
	if err := b.run(engines, *rounds, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

type bench struct {
	d                 time.Duration
	clients, keys     int
	fsync, cons, only string
	value             string
	linger            time.Duration
	hc                *http.Client
}

// round is one engine's measurement: its own echo phase, then the store phases.
type round struct {
	n                   int
	engine              string
	echo, writes, reads result
	perCommit           float64 // writes per storage commit
}

func (r round) target() float64 { return 0.5 * r.echo.opsPerSec() / (1 + 3) }

func (b bench) run(engines []string, rounds int, cpuprofile string) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var all []round
	for n := 1; n <= rounds; n++ {
		for _, e := range engines {
			fmt.Fprintf(os.Stderr, "round %d: %s\n", n, e)
			r, err := b.round(n, e)
			if err != nil {
				return err
			}
			all = append(all, r)
		}
	}
	b.report(all, engines)
	return nil
}

func (b bench) echo() (result, error) {
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	esrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go esrv.Serve(eln)
	defer esrv.Close()
	echoURL := "http://" + eln.Addr().String() + "/echo"
	body := fmt.Sprintf(`{"value":%q}`, b.value)
	return drive("echo", b.clients, b.d, func(ctx context.Context, _, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, echoURL, strings.NewReader(body))
		resp, err := b.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}), nil
}

func (b bench) round(n int, engine string) (round, error) {
	r := round{n: n, engine: engine}
	var err error
	if r.echo, err = b.echo(); err != nil {
		return r, err
	}
	// The 3-node cluster, on fresh data dirs.
	dir, err := os.MkdirTemp("", "storebench")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	peers := map[string]string{}
	lns := map[string]net.Listener{}
	ids := []string{"n1", "n2", "n3"}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return r, err
		}
		lns[id], peers[id] = ln, ln.Addr().String()
	}
	var sb [16]byte
	if _, err := crand.Read(sb[:]); err != nil {
		return r, fmt.Errorf("storebench: cluster secret: %w", err)
	}
	secret := hex.EncodeToString(sb[:]) // the nodes' internal API needs one, as a run's does
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, id := range ids {
		cfg := store.DefaultConfig()
		cfg.ID, cfg.Peers, cfg.DataDir = id, peers, filepath.Join(dir, id)
		cfg.Engine, cfg.Fsync, cfg.Consistency = engine, b.fsync, b.cons
		cfg.CommitLinger = b.linger
		cfg.AdminToken, cfg.ClusterSecret = "bench", secret
		node, err := store.New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
		if err != nil {
			return r, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := node.Serve(ctx, lns[id]); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	cls := make([]*client.Client, len(ids))
	for i, id := range ids {
		cls[i] = client.New(peers[id], client.WithHTTPClient(b.hc), client.WithAdminToken("bench"))
	}
	nodeOf := func(w int) *client.Client { return cls[w%len(cls)] }
	if b.only != "read" {
		r.writes = drive("store quorum write (W=2)", b.clients, b.d, func(ctx context.Context, w, i int) error {
			return nodeOf(w).Put(ctx, fmt.Sprintf("k%d", (w*7919+i)%b.keys), b.value, 2, "")
		})
	}
	if b.only != "write" {
		r.reads = drive("store quorum read (R=2)", b.clients, b.d, func(ctx context.Context, w, i int) error {
			_, err := nodeOf(w).Get(ctx, fmt.Sprintf("k%d", rand.Intn(b.keys)), 2)
			return err
		})
	}
	var commits, writesIn float64
	for _, c := range cls {
		if st, err := c.Stats(context.Background()); err == nil {
			commits += st["storage_commits"].(float64)
			writesIn += st["storage_commit_writes"].(float64)
		}
	}
	if commits > 0 {
		r.perCommit = writesIn / commits
	}
	return r, nil
}

func (b bench) report(all []round, engines []string) {
	fmt.Printf("storebench: %d clients, %s per phase, fsync=%s, consistency=%s, %d keys, %d-byte values, N=3, engines %s\n\n",
		b.clients, b.d, b.fsync, b.cons, b.keys, len(b.value), strings.Join(engines, ", "))
	fmt.Println("target: store ops/s >= 50% of echo_ops/s / (1+N), from the round's own echo phase; CPU/op in echo ops of that round")
	fmt.Println()
	fmt.Printf("| %-5s | %-6s | %-26s | %8s | %8s | %8s | %6s | %8s | %8s | %9s | %9s |\n",
		"round", "engine", "phase", "ops/s", "p50", "p99", "errors", "CPU/op", "echo ops", "x target", "w/commit")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", dashes(7), dashes(8), dashes(28), dashes(10), dashes(10), dashes(10), dashes(8), dashes(10), dashes(10), dashes(11), dashes(11))
	for _, r := range all {
		for _, p := range []result{r.echo, r.writes, r.reads} {
			if p.name == "" {
				continue
			}
			x, cpu, pc := "", "", ""
			if p.name != "echo" {
				x = fmt.Sprintf("%.2fx", p.opsPerSec()/r.target())
				if r.echo.cpuPerOp > 0 {
					cpu = fmt.Sprintf("%.1f", float64(p.cpuPerOp)/float64(r.echo.cpuPerOp))
				}
				if p.name == r.writes.name {
					pc = fmt.Sprintf("%.1f", r.perCommit)
				}
			}
			fmt.Printf("| %-5d | %-6s | %-26s | %8.0f | %8s | %8s | %6d | %8s | %8s | %9s | %9s |\n", r.n, r.engine, p.name, p.opsPerSec(),
				p.p50.Round(10*time.Microsecond), p.p99.Round(10*time.Microsecond), p.errs, p.cpuPerOp.Round(time.Microsecond), cpu, x, pc)
		}
	}
	fmt.Println()
	for _, phase := range []string{"write", "read"} {
		pick := func(r round) result {
			if phase == "write" {
				return r.writes
			}
			return r.reads
		}
		xs := map[string][]float64{}
		for _, r := range all {
			if p := pick(r); p.name != "" {
				xs[r.engine] = append(xs[r.engine], p.opsPerSec()/r.target())
			}
		}
		for _, e := range engines {
			if len(xs[e]) > 0 {
				fmt.Printf("%s %-6s x target: median %.2fx over %d rounds (range %.2f-%.2f)\n", phase, e, median(xs[e]), len(xs[e]), slices.Min(xs[e]), slices.Max(xs[e]))
			}
		}
		// Ratio between engines from the same round (adjacent in time).
		if len(engines) == 2 {
			var ratios []float64
			for i := 0; i+1 < len(all); i += 2 {
				a, c := pick(all[i]), pick(all[i+1])
				if a.name != "" && a.opsPerSec() > 0 {
					ratios = append(ratios, c.opsPerSec()/a.opsPerSec())
				}
			}
			if len(ratios) > 0 {
				fmt.Printf("%s ops/s %s / %s per round: %s, median %.2f\n", phase, engines[1], engines[0], fmtRatios(ratios), median(ratios))
			}
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRatios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}

func dashes(n int) string { return strings.Repeat("-", n) }
