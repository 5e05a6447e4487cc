// Command storebench measures the store's quorum write and read throughput and latency on a local
// 3-node cluster (in this process, on loopback) at a number of concurrent clients, beside a bare
// Go HTTP echo server driven the same way in the same run. Issue 2's target: store ops/s >= 50%
// of echo_ops/s / (1+N).
//
//	go run ./bench/storebench -duration 5s -clients 32 -fsync always
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
	cons := flag.String("consistency", "lww", "lww, vclock or abd")
	keys := flag.Int("keys", 10000, "key space")
	valueSize := flag.Int("value-size", 100, "value bytes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	only := flag.String("only", "", "run one store phase only: write or read (the echo phase always runs)")
	linger := flag.Duration("linger", store.DefaultConfig().CommitLinger, "group commit linger under load (store Config.CommitLinger)")
	flag.Parse()
	if err := run(*d, *clients, *fsync, *cons, *keys, *valueSize, *only, *cpuprofile, *linger); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func run(d time.Duration, clients int, fsync, cons string, keys, valueSize int, only, cpuprofile string, linger time.Duration) error {
	value := fmt.Sprintf("%0*d", valueSize, 7)
	hc := client.NewHTTPClient()

	// Echo server: reads the body, writes it back.
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	esrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})}
	go esrv.Serve(eln)
	defer esrv.Close()
	echoURL := "http://" + eln.Addr().String() + "/echo"
	body := fmt.Sprintf(`{"value":%q}`, value)
	echo := drive("echo", clients, d, func(ctx context.Context, _, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, echoURL, strings.NewReader(body))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})

	// The 3-node cluster.
	dir, err := os.MkdirTemp("", "storebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	peers := map[string]string{}
	lns := map[string]net.Listener{}
	ids := []string{"n1", "n2", "n3"}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns[id], peers[id] = ln, ln.Addr().String()
	}
	var sb [16]byte
	if _, err := crand.Read(sb[:]); err != nil {
		return fmt.Errorf("storebench: cluster secret: %w", err)
	}
	secret := hex.EncodeToString(sb[:]) // the nodes' internal API needs one, as a run's does
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, id := range ids {
		cfg := store.DefaultConfig()
		cfg.ID, cfg.Peers, cfg.DataDir = id, peers, filepath.Join(dir, id)
		cfg.Fsync, cfg.Consistency = fsync, cons
		cfg.CommitLinger = linger
		cfg.AdminToken, cfg.ClusterSecret = "bench", secret
		n, err := store.New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
		if err != nil {
			cancel()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Serve(ctx, lns[id]); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	cls := make([]*client.Client, len(ids))
	for i, id := range ids {
		cls[i] = client.New(peers[id], client.WithHTTPClient(hc), client.WithAdminToken("bench"))
	}
	nodeOf := func(w int) *client.Client { return cls[w%len(cls)] }
	if cpuprofile != "" { // the store phases only
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
	var writes, reads result
	if only != "read" {
		writes = drive("store quorum write (W=2)", clients, d, func(ctx context.Context, w, i int) error {
			return nodeOf(w).Put(ctx, fmt.Sprintf("k%d", (w*7919+i)%keys), value, 2, "")
		})
	}
	if only != "write" {
		reads = drive("store quorum read (R=2)", clients, d, func(ctx context.Context, w, i int) error {
			_, err := nodeOf(w).Get(ctx, fmt.Sprintf("k%d", rand.Intn(keys)), 2)
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
	const n = 3
	target := 0.5 * echo.opsPerSec() / (1 + n)
	fmt.Printf("storebench: %d clients, %s per phase, fsync=%s, consistency=%s, %d keys, %d-byte values, N=3\n\n",
		clients, d, fsync, cons, keys, valueSize)
	fmt.Printf("| %-26s | %10s | %8s | %8s | %6s | %10s |\n", "phase", "ops/s", "p50", "p99", "errors", "CPU/op")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|\n", dashes(28), dashes(12), dashes(10), dashes(10), dashes(8), dashes(12))
	for _, r := range []result{echo, writes, reads} {
		if r.name == "" {
			continue
		}
		fmt.Printf("| %-26s | %10.0f | %8s | %8s | %6d | %10s |\n", r.name, r.opsPerSec(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs, r.cpuPerOp.Round(time.Microsecond))
	}
	if commits > 0 {
		fmt.Printf("\nstorage: %.0f commits, %.1f writes per commit (group commit)\n", commits, writesIn/commits)
	}
	fmt.Printf("\ntarget: store ops/s >= 50%% of echo_ops/s / (1+N) = %.0f ops/s\n", target)
	for _, r := range []result{writes, reads} {
		if r.name == "" {
			continue
		}
		verdict := "MET"
		if r.opsPerSec() < target {
			verdict = "NOT MET"
		}
		fmt.Printf("  %-26s %8.0f ops/s = %.2fx target: %s\n", r.name, r.opsPerSec(), r.opsPerSec()/target, verdict)
	}
	// Throughput on a shared machine swings with other load; CPU per op does not (much). The
	// CPU form of the target: a store op may cost at most 2*(1+N) echo ops of CPU.
	if echo.cpuPerOp > 0 {
		fmt.Printf("\nCPU form of the target: store CPU/op <= 2*(1+N) * echo CPU/op = %s\n", (echo.cpuPerOp * 2 * (1 + n)).Round(time.Microsecond))
		for _, r := range []result{writes, reads} {
			if r.name == "" {
				continue
			}
			fmt.Printf("  %-26s %8s = %.1f echo ops\n", r.name, r.cpuPerOp.Round(time.Microsecond), float64(r.cpuPerOp)/float64(echo.cpuPerOp))
		}
	}
	return nil
}

func dashes(n int) string { return strings.Repeat("-", n) }
