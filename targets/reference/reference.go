// Package reference is the target of faultline's own replicated store (`faultline node`): the
// runtime's built-in node launch with the store flags of harness.Config.Store, health and clock
// skew through the node's admin API, clients through package client, replica dumps (with the
// store's placement) for the convergence checker, and the nodes' stats.
package reference

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/storeclient"
)

// Target is the reference store as a harness.Target. It takes every fault kind.
type Target struct {
	_ struct{}
}

var _ harness.Target = Target{}

// New returns the reference store's target.
func New() Target { return Target{} }

// Name is "faultline".
func (Target) Name() string { return harness.ReferenceTarget }

// Faults are all kinds: the store has a skewable clock and a transport that can delay.
func (Target) Faults() []string {
	return []string{"partition", "kill", "pause", "clock", "delay", "loss"}
}

// Check refuses compare-and-set, which the store's client API does not have.
func (Target) Check(cfg harness.Config) error {
	if cfg.CAS > 0 {
		return fmt.Errorf("--cas %g: the reference store has no compare-and-set", cfg.CAS)
	}
	return nil
}

// Nodes is the runtime's built-in `faultline node` with the store flags of cfg.
func (Target) Nodes(cfg harness.Config) (harness.NodeSpec, error) {
	return harness.NodeSpec{NodeArgs: cfg.NodeArgs()}, nil
}

// Open makes the store clients of the started nodes.
func (Target) Open(_ context.Context, cfg harness.Config, spec harness.ClusterSpec, nodes []harness.Node) (harness.Cluster, error) {
	c := &Cluster{
		hc:     client.NewHTTPClient(),
		admins: map[string]*client.Client{},
		addrs:  map[string]string{},
		w:      cfg.Store.W, r: cfg.Store.R, n: cfg.Store.N,
		opTimeout: cfg.OpTimeout,
	}
	for _, n := range nodes {
		c.addrs[n.ID] = n.Addr
		c.admins[n.ID] = client.New(n.Addr, client.WithAdminToken(spec.AdminToken), client.WithHTTPClient(c.hc), client.WithTimeout(2*time.Second))
	}
	return c, nil
}

// Cluster is a started reference-store cluster.
type Cluster struct {
	hc        *http.Client
	admins    map[string]*client.Client
	addrs     map[string]string
	w, r, n   int
	opTimeout time.Duration
}

var (
	_ harness.Dumper = (*Cluster)(nil)
	_ harness.Clock  = (*Cluster)(nil)
	_ harness.Stats  = (*Cluster)(nil)
)

func (c *Cluster) admin(node string) (*client.Client, error) {
	a, ok := c.admins[node]
	if !ok {
		return nil, fmt.Errorf("reference: unknown node %q", node)
	}
	return a, nil
}

// Healthy asks the node's GET /health.
func (c *Cluster) Healthy(ctx context.Context, node string) error {
	a, err := c.admin(node)
	if err != nil {
		return err
	}
	return a.Health(ctx)
}

// Client is a store client on node with the config's W and R; the final reads use R=W=N.
func (c *Cluster) Client(node string, final bool) workloads.Client {
	w, r := c.w, c.r
	if final {
		w, r = c.n, c.n
	}
	cl := client.New(c.addrs[node], client.WithHTTPClient(c.hc), client.WithTimeout(c.opTimeout))
	return storeclient.New(cl, w, r)
}

// SetClock sets the node's clock offset through its admin API.
func (c *Cluster) SetClock(ctx context.Context, node string, offset time.Duration) error {
	a, err := c.admin(node)
	if err != nil {
		return err
	}
	return a.SetClock(ctx, offset, 0)
}

// Stats are the node's admin stats.
func (c *Cluster) Stats(ctx context.Context, node string) (any, error) {
	a, err := c.admin(node)
	if err != nil {
		return nil, err
	}
	return a.Stats(ctx)
}

// Close does nothing: the clients hold no resources of their own.
func (c *Cluster) Close() error { return nil }

// Dumps reads every replica's local data and turns it into the checkers' form. A replica that
// lacks a key it must hold (placement from the store, see markMissingReplicas) is recorded with
// a null value, so that it counts as divergent rather than as not a replica.
func (c *Cluster) Dumps(ctx context.Context, nodes []string) (history.Dumps, error) {
	return takeDumps(ctx, c.admins, nodes)
}

func takeDumps(ctx context.Context, admins map[string]*client.Client, nodes []string) (history.Dumps, error) {
	out := history.Dumps{}
	for _, id := range nodes {
		d, err := admins[id].Dump(ctx)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", id, err)
		}
		keys := map[string]history.Value{}
		for k, e := range d.Keys {
			keys[k] = dumpValue(e)
		}
		out[id] = keys
	}
	if err := markMissingReplicas(ctx, admins, nodes, out); err != nil {
		return nil, err
	}
	return out, nil
}

// dumpValue turns a replica's entry into a history value: a counter is an Int, a set a sorted
// List, a register Nil (absent), an Int, or a sorted List of siblings. Values that are not
// integers (written by hand, not by a workload) are hashed so they still compare.
func dumpValue(e client.DumpEntry) history.Value {
	switch e.Kind {
	case "counter":
		return history.Int(e.Counter)
	case "set":
		return history.List(ints(e.Elements)...)
	}
	switch len(e.Values) {
	case 0:
		return history.Nil()
	case 1:
		return history.Int(ints(e.Values)[0])
	}
	return history.List(ints(e.Values)...)
}

func ints(ss []string) []int64 {
	out := make([]int64, 0, len(ss))
	for _, s := range ss {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			n = int64(hashString(s) >> 1)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
