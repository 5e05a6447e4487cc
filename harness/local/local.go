// Package local is the local-process Runtime: every store node is a `faultline node` process on
// loopback. Crashes and pauses are real signals (SIGKILL, SIGSTOP/SIGCONT); network faults
// (partitions, loss, delay) are SIMULATED in each node's transport through its admin API, since
// loopback processes share one network namespace. Use the Docker runtime for real packet drops.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
)

// Config configures the local runtime.
type Config struct {
	Binary    string         // path of the faultline binary that runs `faultline node`
	Host      string         // loopback address the nodes listen on (default 127.0.0.1)
	AdminWait time.Duration  // timeout of one admin call to a node (fault filter updates)
	Log       zerolog.Logger // runtime events
	_         struct{}
}

// DefaultConfig runs the current executable as the node binary.
func DefaultConfig() Config {
	exe, _ := os.Executable()
	return Config{Binary: exe, Host: "127.0.0.1", AdminWait: 2 * time.Second, Log: zerolog.Nop()}
}

// Validate reports a missing binary or host.
func (c Config) Validate() error {
	if c.Binary == "" {
		return errors.New("local: no node binary given")
	}
	if _, err := os.Stat(c.Binary); err != nil {
		return fmt.Errorf("local: node binary: %w", err)
	}
	if net.ParseIP(c.Host) == nil || !net.ParseIP(c.Host).IsLoopback() {
		return fmt.Errorf("local: host %q must be a loopback address", c.Host)
	}
	if c.AdminWait <= 0 {
		return fmt.Errorf("local: admin wait (%s) must be positive", c.AdminWait)
	}
	return nil
}

type node struct {
	id      string
	addr    string
	binary  string // what runs: the faultline binary, or a target's
	args    []string
	env     []string // a target's extra environment
	dataDir string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd exits
	paused  bool
	admin   *client.Client
}

// Runtime runs nodes as local processes.
type Runtime struct {
	cfg   Config
	log   zerolog.Logger
	mu    sync.Mutex
	spec  harness.ClusterSpec
	nodes map[string]*node
	order []string
	// desired network faults, re-applied to a node when it restarts or resumes
	grudge map[string][]string
	links  []harness.Link
	pids   []int // every process ever spawned
}

var _ harness.Runtime = (*Runtime)(nil)
var _ harness.Mechanisms = (*Runtime)(nil)
var _ harness.RuntimeFaults = (*Runtime)(nil)

// New returns a local runtime.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Runtime{cfg: cfg, log: cfg.Log.With().Str("runtime", "local").Logger(), nodes: map[string]*node{}}, nil
}

// Name is "local".
func (r *Runtime) Name() string { return "local" }

// Mechanisms says how each fault is injected here.
func (r *Runtime) Mechanisms() map[string]string {
	return map[string]string{
		"partition": "node transport filter (simulated)",
		"loss":      "node transport filter (simulated)",
		"delay":     "node transport filter (simulated)",
		"kill":      "SIGKILL, respawn on the same data dir",
		"pause":     "SIGSTOP/SIGCONT",
		"clock":     "node admin API (skewable clock)",
	}
}

// freePorts reserves n distinct ports on host by listening on port 0 at once, then releases them.
func freePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("local: reserve port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start spawns every node of spec.
func (r *Runtime) Start(ctx context.Context, spec harness.ClusterSpec) ([]harness.Node, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.nodes) > 0 {
		return nil, errors.New("local: cluster already started")
	}
	if spec.Dir == "" {
		return nil, errors.New("local: ClusterSpec.Dir is required for node data and logs")
	}
	l := spec.Launch
	nports := len(spec.Nodes)
	if l != nil && l.PeerPort != 0 {
		nports *= 2 // a client and a peer port each
	}
	all, err := freePorts(r.cfg.Host, nports)
	if err != nil {
		return nil, err
	}
	ports, peerPorts := all[:len(spec.Nodes)], make([]int, len(spec.Nodes))
	if len(all) > len(spec.Nodes) {
		peerPorts = all[len(spec.Nodes):]
	}
	ips := make([]string, len(spec.Nodes))
	for i := range ips {
		ips[i] = r.cfg.Host
	}
	r.spec = spec
	peers := make([]string, len(spec.Nodes))
	for i, id := range spec.Nodes {
		peers[i] = fmt.Sprintf("%s=%s", id, net.JoinHostPort(r.cfg.Host, fmt.Sprint(ports[i])))
	}
	hc := client.NewHTTPClient()
	out := make([]harness.Node, 0, len(spec.Nodes))
	for i, id := range spec.Nodes {
		addr := net.JoinHostPort(r.cfg.Host, fmt.Sprint(ports[i]))
		n := &node{
			id:      id,
			addr:    addr,
			dataDir: filepath.Join(spec.Dir, "data", id),
			logPath: filepath.Join(spec.Dir, "logs", id+".log"),
			admin:   client.New(addr, client.WithAdminToken(spec.AdminToken), client.WithHTTPClient(hc), client.WithTimeout(r.cfg.AdminWait)),
		}
		n.args = append([]string{"node", "--id", id, "--listen", addr, "--peers", strings.Join(peers, ","), "--data", n.dataDir}, spec.NodeArgs...)
		n.binary = r.cfg.Binary
		if l != nil {
			v := harness.Vars(spec.Nodes, ips, ports, peerPorts, i, n.dataDir)
			if n.args, err = harness.Expand(l.Args, v); err != nil {
				return nil, fmt.Errorf("local: node %s: %w", id, err)
			}
			if n.env, err = harness.Expand(l.Env, v); err != nil {
				return nil, fmt.Errorf("local: node %s: %w", id, err)
			}
			if l.Binary != "" {
				n.binary = l.Binary
			}
		}
		for _, d := range []string{n.dataDir, filepath.Dir(n.logPath)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("local: %w", err)
			}
		}
		r.nodes[id] = n
		r.order = append(r.order, id)
		if err := r.spawn(n); err != nil {
			return nil, err
		}
		out = append(out, harness.Node{ID: id, Addr: addr})
	}
	r.log.Info().Int("nodes", len(out)).Str("dir", spec.Dir).Msg("local cluster started")
	return out, nil
}

// spawn starts n's process, appending to its log. Caller holds r.mu.
func (r *Runtime) spawn(n *node) error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("local: open log of %s: %w", n.id, err)
	}
	cmd := exec.Command(n.binary, n.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "FAULTLINE_ADMIN_TOKEN="+r.spec.AdminToken, "FAULTLINE_CLUSTER_SECRET="+r.spec.ClusterSecret)
	cmd.Env = append(cmd.Env, n.env...)
	// Pdeathsig: a harness that dies (even by SIGKILL) takes its nodes with it, so no orphan
	// process is ever left. Setpgid keeps a terminal's Ctrl-C away from the nodes: the harness
	// itself decides how they end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("local: start %s: %w", n.id, err)
	}
	n.cmd = cmd
	n.paused = false
	r.pids = append(r.pids, cmd.Process.Pid)
	done := make(chan struct{})
	n.done = done
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	r.log.Debug().Str("node", n.id).Int("pid", cmd.Process.Pid).Msg("node process started")
	return nil
}

func (r *Runtime) get(id string) (*node, error) {
	n, ok := r.nodes[id]
	if !ok {
		return nil, fmt.Errorf("local: unknown node %q", id)
	}
	return n, nil
}

func running(n *node) bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill SIGKILLs a node and waits for it to exit.
func (r *Runtime) Kill(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.get(id)
	if err != nil {
		return err
	}
	return r.killLocked(ctx, n)
}

func (r *Runtime) killLocked(ctx context.Context, n *node) error {
	if !running(n) {
		return nil
	}
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("local: kill %s: %w", n.id, err)
	}
	select {
	case <-n.done:
	case <-ctx.Done():
		return fmt.Errorf("local: kill %s: %w", n.id, ctx.Err())
	}
	n.paused = false
	return nil
}

// Restart respawns a killed node on its data dir and re-applies its network faults.
func (r *Runtime) Restart(ctx context.Context, id string) error {
	r.mu.Lock()
	n, err := r.get(id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	if running(n) {
		r.mu.Unlock()
		return nil
	}
	if err := r.spawn(n); err != nil {
		r.mu.Unlock()
		return err
	}
	r.mu.Unlock()
	// The fresh process has an empty fault filter: give it the desired one once it answers.
	return r.reapply(ctx, n)
}

// reapply waits (bounded) for n to answer and installs its share of the desired faults.
func (r *Runtime) reapply(ctx context.Context, n *node) error {
	r.mu.Lock()
	f := r.faultsFor(n.id)
	r.mu.Unlock()
	if len(f.Drop) == 0 && len(f.Links) == 0 || r.spec.Launch != nil {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := n.admin.SetFaults(ctx, f)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("local: re-apply faults to %s: %w", n.id, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Pause stops a node with SIGSTOP.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.get(id)
	if err != nil {
		return err
	}
	if !running(n) || n.paused {
		return nil
	}
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("local: pause %s: %w", id, err)
	}
	n.paused = true
	// The signal is asynchronous: return once the kernel reports the process stopped, so a
	// paused node really is frozen when Pause returns.
	return waitStopped(ctx, n.cmd.Process.Pid)
}

// waitStopped polls /proc/<pid>/stat until the process state is T (stopped), bounded.
func waitStopped(ctx context.Context, pid int) error {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // no procfs (or the process is gone): nothing to wait for
		}
		// The state follows the command name in parentheses: "pid (comm) S ...".
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("local: pause: pid %d not stopped after 2s", pid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Resume continues a paused node with SIGCONT.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.get(id)
	if err != nil {
		return err
	}
	return r.resumeLocked(n)
}

func (r *Runtime) resumeLocked(n *node) error {
	if !running(n) || !n.paused {
		return nil
	}
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("local: resume %s: %w", n.id, err)
	}
	n.paused = false
	return nil
}

// faultsFor is node id's transport filter for the desired grudge and links. Caller holds r.mu.
func (r *Runtime) faultsFor(id string) client.Faults {
	f := client.Faults{Drop: append([]string(nil), r.grudge[id]...)}
	sort.Strings(f.Drop)
	for _, l := range r.links {
		if l.From == id {
			if f.Links == nil {
				f.Links = map[string]client.LinkFault{}
			}
			f.Links[l.To] = client.LinkFault{Delay: l.Delay, Loss: l.Loss}
		}
	}
	return f
}

// apply pushes the desired filter to every running, unpaused node. A node that is down or
// paused gets it when it restarts or resumes. Caller holds r.mu.
func (r *Runtime) apply(ctx context.Context) error {
	if r.spec.Launch != nil {
		return r.noFilter()
	}
	var errs []error
	for _, id := range r.order {
		n := r.nodes[id]
		if !running(n) || n.paused {
			continue
		}
		if err := n.admin.SetFaults(ctx, r.faultsFor(id)); err != nil {
			errs = append(errs, fmt.Errorf("local: fault filter of %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// noFilter refuses network faults on a target's own nodes, which have no transport filter to
// simulate them in (Faults says so beforehand). Caller holds r.mu.
func (r *Runtime) noFilter() error {
	if len(r.grudge) == 0 && len(r.links) == 0 {
		return nil
	}
	return fmt.Errorf("local: %w: network faults are simulated in faultline's node transport, which a target's own nodes do not have; use the docker runtime", harness.ErrUnsupportedFault)
}

// Faults are the fault kinds the local runtime can inject into nodes started with launch:
// every kind into its built-in `faultline node`; only kill and pause (real signals) into a
// target's own nodes (clock skew is the target's business).
func (r *Runtime) Faults(launch *harness.Launch) []string {
	if launch == nil {
		return []string{"partition", "kill", "pause", "clock", "delay", "loss"}
	}
	return []string{"kill", "pause", "clock"}
}

// Partition installs a grudge in the nodes' transport filters (simulated).
func (r *Runtime) Partition(ctx context.Context, grudge map[string][]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, peers := range grudge {
		if _, ok := r.nodes[a]; !ok {
			return fmt.Errorf("local: grudge names unknown node %q", a)
		}
		for _, b := range peers {
			if _, ok := r.nodes[b]; !ok {
				return fmt.Errorf("local: grudge of %s names unknown node %q", a, b)
			}
		}
	}
	r.grudge = grudge
	return r.apply(ctx)
}

// SetLinks installs link delay and loss in the nodes' transport filters (simulated).
func (r *Runtime) SetLinks(ctx context.Context, links []harness.Link) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links = append([]harness.Link(nil), links...)
	return r.apply(ctx)
}

// Heal clears every fault filter and resumes paused nodes.
func (r *Runtime) Heal(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, id := range r.order {
		if err := r.resumeLocked(r.nodes[id]); err != nil {
			errs = append(errs, err)
		}
	}
	r.grudge, r.links = nil, nil
	for _, id := range r.order {
		n := r.nodes[id]
		if !running(n) || r.spec.Launch != nil { // a target's own nodes have no fault filter
			continue
		}
		if err := n.admin.SetFaults(ctx, client.Faults{}); err != nil {
			errs = append(errs, fmt.Errorf("local: clear fault filter of %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Logs copies a node's log file (all its incarnations) to w.
func (r *Runtime) Logs(ctx context.Context, id string, w io.Writer) error {
	r.mu.Lock()
	n, err := r.get(id)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	f, err := os.Open(n.logPath)
	if err != nil {
		return fmt.Errorf("local: log of %s: %w", id, err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Teardown kills every node (resuming paused ones first so SIGKILL lands) and waits for them.
func (r *Runtime) Teardown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, id := range r.order {
		n := r.nodes[id]
		if n.paused && running(n) {
			_ = n.cmd.Process.Signal(syscall.SIGCONT)
		}
		if err := r.killLocked(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PIDs returns the process ids of running nodes (for tests that check nothing is left).
func (r *Runtime) PIDs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for id, n := range r.nodes {
		if running(n) {
			out[id] = n.cmd.Process.Pid
		}
	}
	return out
}

// AllPIDs returns every process id this runtime ever spawned, including killed incarnations.
func (r *Runtime) AllPIDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.pids...)
}
