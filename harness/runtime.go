package harness

import (
	"context"
	"io"
	"time"
)

// ClusterSpec says what cluster a Runtime starts.
type ClusterSpec struct {
	// RunID names the run; runtimes label everything they create with it
	// (the Docker runtime uses the label faultline.run=<RunID>).
	RunID string
	// Nodes are the node ids, e.g. n1..n5, in ring order.
	Nodes []string
	// NodeArgs are the store flags passed to every `faultline node` (mode, n, w, r,
	// consistency, read repair, ...), without --id, --listen, --peers and --data, which the
	// runtime supplies.
	NodeArgs []string
	// AdminToken guards each node's admin API; the runtime passes it to the nodes through the
	// FAULTLINE_ADMIN_TOKEN environment variable.
	AdminToken string
	// ClusterSecret authenticates the nodes to each other on the internal API; the runtime
	// passes it to the nodes through the FAULTLINE_CLUSTER_SECRET environment variable.
	ClusterSecret string
	// Launch, when set, is what each node runs instead of the runtime's built-in
	// `faultline node` (NodeArgs is then unused): a target's binary or image and arguments.
	Launch *Launch
	// Dir is a folder the runtime may use for node data and logs on the host (the local runtime
	// keeps data dirs there; the Docker runtime may ignore it).
	Dir string
}

// Node is one started node as the harness's clients reach it.
type Node struct {
	ID   string // node id, e.g. "n1"
	Addr string // host:port where the harness reaches the node's client and admin API
}

// Link is a fault on the directed link From -> To: added delay and a loss probability.
type Link struct {
	From, To string
	Delay    time.Duration // added one-way delay (0: none)
	Loss     float64       // probability in [0,1] that a packet or message is dropped
}

// Runtime runs a cluster of a target's nodes and injects process and network faults into it.
// Clock skew is not part of it: the target skews its nodes' clocks itself where it can (the
// reference store through its admin API), which works the same for every runtime. Implementations: harness/local (processes on loopback, network faults simulated in the
// node's transport) and docker (containers, real netfilter drops, engine kill and pause).
//
// Every method may be called from one goroutine at a time (the harness serializes them). Fault
// methods are idempotent; Heal and Teardown must work after any sequence of faults, including a
// failed Start.
type Runtime interface {
	// Name is "local" or "docker".
	Name() string
	// Start starts every node of spec and returns them in spec order once their processes run
	// (not necessarily healthy: the harness waits for health itself).
	Start(ctx context.Context, spec ClusterSpec) ([]Node, error)
	// Kill ends a node abruptly (SIGKILL); its data stays.
	Kill(ctx context.Context, node string) error
	// Restart starts a killed node again on the same data; for a running node it is a no-op.
	Restart(ctx context.Context, node string) error
	// Pause freezes a node (SIGSTOP, or the engine's pause); Resume thaws it.
	Pause(ctx context.Context, node string) error
	Resume(ctx context.Context, node string) error
	// Partition installs a grudge, replacing any earlier one: grudge[a] lists the peers whose
	// packets node a drops. Only node-to-node traffic is cut; the harness keeps reaching every node.
	Partition(ctx context.Context, grudge map[string][]string) error
	// SetLinks installs delay and loss on directed links, replacing any earlier set.
	SetLinks(ctx context.Context, links []Link) error
	// Heal removes every partition and link fault and resumes paused nodes. It does not restart
	// killed nodes (the nemesis does that, and the harness restarts any still down after Heal).
	Heal(ctx context.Context) error
	// Logs copies a node's log (stdout and stderr, across restarts) to w.
	Logs(ctx context.Context, node string, w io.Writer) error
	// Teardown stops every node and removes everything the runtime created for the run
	// (processes, containers, networks). It is safe to call more than once.
	Teardown(ctx context.Context) error
}

// Mechanisms is an optional Runtime ability: it names how each fault is injected, e.g.
// {"partition": "nftables", "delay": "node transport (no netem)"}, for the run's output.
type Mechanisms interface {
	Mechanisms() map[string]string
}
