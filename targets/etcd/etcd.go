// Package etcd is the etcd target: etcd's real server (go.etcd.io/etcd/server/v3, built from the
// Go module proxy as a static binary by the module in server/, see Build) as 3 or 5 members,
// and clients through go.etcd.io/etcd/client/v3. A register is Get, Put, and a Txn that compares
// the value and sets it; a read-modify-write set or counter writes back with a Txn on the key's
// mod revision. Reads are linearizable (the default) or serializable (served from the member's
// local state, which a partitioned member keeps answering from: stale reads). Each process
// talks to one member only, so those reads are seen.
//
// etcd takes partitions, loss, kills and pauses. It has no way to skew its clock and no message
// delay of its own, so clock and delay faults are refused.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
)

// Read modes.
const (
	Linearizable = "linearizable"
	Serializable = "serializable"
)

// Ports the members listen on inside their network namespace.
const (
	ClientPort = 2379
	PeerPort   = 2380
)

// Target is etcd as a harness.Target.
type Target struct {
	// Image is the Docker image of the etcd server (docker runtime); Binary the server binary
	// (local runtime). cmd/faultline sets the one its runtime needs (see Build).
	Image, Binary string
	_             struct{}
}

var _ harness.Target = Target{}

// Name is "etcd".
func (Target) Name() string { return "etcd" }

// Faults are partition, kill, pause and loss.
func (Target) Faults() []string { return []string{"partition", "kill", "pause", "loss"} }

// Reads is the read mode of cfg (TargetOptions["reads"], default linearizable).
func Reads(cfg harness.Config) string {
	if r := cfg.TargetOptions["reads"]; r != "" {
		return r
	}
	return Linearizable
}

// Check refuses CRDT workloads (etcd has none), clusters of more than 7 members and an unknown
// read mode.
func (Target) Check(cfg harness.Config) error {
	var errs []error
	if cfg.CRDT {
		errs = append(errs, errors.New("--crdt: etcd has no CRDTs; its set and counter are read-modify-write over a Txn"))
	}
	if cfg.Nodes < 1 || cfg.Nodes > 7 {
		errs = append(errs, fmt.Errorf("nodes (%d): etcd runs 1 to 7 members (3 or 5 make sense)", cfg.Nodes))
	}
	switch r := Reads(cfg); r {
	case Linearizable, Serializable:
	default:
		errs = append(errs, fmt.Errorf("reads %q: want linearizable or serializable", r))
	}
	for k := range cfg.TargetOptions {
		if k != "reads" {
			errs = append(errs, fmt.Errorf("option %q: etcd takes only reads", k))
		}
	}
	return errors.Join(errs...)
}

// Nodes starts each member with its name, the initial cluster, client and peer URLs on the
// run's network, and a data dir.
func (t Target) Nodes(cfg harness.Config) (harness.NodeSpec, error) {
	return harness.NodeSpec{Launch: &harness.Launch{
		Image:  t.Image,
		Binary: t.Binary,
		Args: []string{
			"--name", "{{.ID}}",
			"--data-dir", "{{.Data}}/etcd",
			"--listen-client-urls", "http://{{.IP}}:{{.Port}}",
			"--advertise-client-urls", "http://{{.IP}}:{{.Port}}",
			"--listen-peer-urls", "http://{{.IP}}:{{.PeerPort}}",
			"--initial-advertise-peer-urls", "http://{{.IP}}:{{.PeerPort}}",
			"--initial-cluster", `{{nodes "{id}=http://{ip}:{peer_port}" ","}}`,
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "faultline",
			"--log-level", "warn",
		},
		Port:     ClientPort,
		PeerPort: PeerPort,
	}}, nil
}

// Open connects one etcd client per member (each process's client is pinned to its member).
func (Target) Open(ctx context.Context, cfg harness.Config, spec harness.ClusterSpec, nodes []harness.Node) (harness.Cluster, error) {
	c := &Cluster{
		addrs:        map[string]string{},
		conns:        map[string]*conn{},
		serializable: Reads(cfg) == Serializable,
		rmw:          cfg.Workload != "register",
		workload:     cfg.Workload,
		http:         &http.Client{Timeout: 2 * time.Second},
	}
	for _, n := range nodes {
		c.addrs[n.ID] = n.Addr
		cn, err := dial(n.Addr)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("etcd: client of %s: %w", n.ID, err)
		}
		c.conns[n.ID] = cn
	}
	return c, nil
}

// Cluster is a started etcd cluster.
type Cluster struct {
	addrs        map[string]string
	conns        map[string]*conn
	serializable bool
	rmw          bool // set and counter: writes carry the read's mod revision
	workload     string
	http         *http.Client
}

var _ harness.Dumper = (*Cluster)(nil)

// Healthy asks the member's GET /health: true once it has a leader and no alarm.
func (c *Cluster) Healthy(ctx context.Context, node string) error {
	addr, ok := c.addrs[node]
	if !ok {
		return fmt.Errorf("etcd: unknown node %q", node)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("etcd: health of %s: %w", node, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"health":"true"`) {
		return fmt.Errorf("etcd: health of %s: %d %s", node, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// Client is a client pinned to node; the final reads are linearizable whatever the read mode.
func (c *Cluster) Client(node string, final bool) workloads.Client {
	return &Client{c: c.conns[node], serializable: c.serializable && !final, rmw: c.rmw}
}

// Dumps reads every member's local state (serializable reads of every key): the members agree
// once each has applied the whole log.
func (c *Cluster) Dumps(ctx context.Context, nodes []string) (history.Dumps, error) {
	out := history.Dumps{}
	for _, id := range nodes {
		cn, ok := c.conns[id]
		if !ok {
			return nil, fmt.Errorf("etcd: unknown node %q", id)
		}
		kvs, err := cn.all(ctx)
		if err != nil {
			return nil, fmt.Errorf("etcd: dump %s: %w", id, err)
		}
		keys := map[string]history.Value{}
		for k, v := range kvs {
			keys[k] = dumpValue(c.workload, v)
		}
		out[id] = keys
	}
	// A member that lacks a key the others hold is divergent: every member is a replica.
	all := out.Keys()
	for _, id := range nodes {
		for _, k := range all {
			if _, ok := out[id][k]; !ok {
				out[id][k] = history.Nil()
			}
		}
	}
	return out, nil
}

// Close closes every member's client.
func (c *Cluster) Close() error {
	var errs []error
	for _, cn := range c.conns {
		errs = append(errs, cn.close())
	}
	return errors.Join(errs...)
}

// dumpValue is a stored value in the checkers' form: the workload's register, set or counter.
func dumpValue(workload, v string) history.Value {
	switch workload {
	case "set":
		var xs []int64
		for s := range strings.SplitSeq(v, ",") {
			var n int64
			if _, err := fmt.Sscan(s, &n); err == nil {
				xs = append(xs, n)
			}
		}
		slices.Sort(xs)
		return history.List(slices.Compact(xs)...)
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return history.Nil()
	}
	return history.Int(n)
}
