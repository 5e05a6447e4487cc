package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
)

// Fault kinds, as Config.Nemesis names them.
var allFaults = []string{"partition", "kill", "pause", "clock", "delay", "loss"}

// ErrUnsupportedFault marks a config asking for a fault kind that the target or the runtime
// cannot take. faultline refuses such a run; it never fakes the fault.
var ErrUnsupportedFault = errors.New("unsupported fault")

// Target is what a run tests (Jepsen's DB plus Client): how its nodes start, when they are
// healthy, a client per process, and the fault kinds it can take. A Runtime says where nodes
// run; a Target says what runs there. Implementations: targets/reference (faultline's own
// store), targets/etcd, targets/file (any store speaking the client API of docs/API.md).
type Target interface {
	// Name names the target in run names and config.json, e.g. "faultline" or "etcd".
	Name() string
	// Faults are the fault kinds (partition, kill, pause, clock, delay, loss) the target can
	// take. Clock skew needs a way to skew the target's clock; delay one to delay its messages.
	Faults() []string
	// Check reports what in cfg the target cannot run (a workload, --crdt, a setting), or nil.
	Check(cfg Config) error
	// Nodes says what each node runs for cfg.
	Nodes(cfg Config) (NodeSpec, error)
	// Open returns the started cluster's client side. It does not wait for health.
	Open(ctx context.Context, cfg Config, spec ClusterSpec, nodes []Node) (Cluster, error)
}

// NodeSpec is what a target's nodes run. With Launch nil, the runtime starts its built-in
// `faultline node` with NodeArgs; otherwise Launch says what to start.
type NodeSpec struct {
	NodeArgs []string
	Launch   *Launch
	_        struct{}
}

// Launch says how a runtime starts a node that is not its built-in `faultline node`. Args and
// Env are templates (text/template) over LaunchVars, expanded per node with Expand.
type Launch struct {
	// Image is the Docker image the node container runs (empty: the runtime's faultline image).
	Image string
	// Binary is what the local runtime executes (empty: the faultline binary itself).
	Binary string
	// Args are the node's arguments, e.g. ["--name", "{{.ID}}", "--data-dir", "{{.Data}}"].
	Args []string
	// Env are extra environment variables, KEY=VALUE, also templates.
	Env []string
	// Port is the client port (where the harness reaches the node); PeerPort a second port the
	// node listens on for its peers (0: none).
	Port, PeerPort int
	// Data is the data directory inside a container (the Docker runtime; default /data). The
	// local runtime gives each node a directory of its own.
	Data string
	_    struct{}
}

// Cluster is a started cluster as a target's client side sees it.
type Cluster interface {
	// Healthy returns nil once node serves clients.
	Healthy(ctx context.Context, node string) error
	// Client returns a client for one process, pinned to node. final is set for the final
	// reads after healing: a target may read more strongly then (the reference store reads
	// with R=N).
	Client(node string, final bool) workloads.Client
	// Close releases what Open made.
	Close() error
}

// Dumper is an optional Cluster ability: each node's local replicas, for the quiesce wait and
// the convergence checker.
type Dumper interface {
	Dumps(ctx context.Context, nodes []string) (history.Dumps, error)
}

// Clock is an optional Cluster ability: skew a node's clock (the host clock is never touched).
type Clock interface {
	SetClock(ctx context.Context, node string, offset time.Duration) error
}

// Stats is an optional Cluster ability: a node's own counters, saved in stats.json.
type Stats interface {
	Stats(ctx context.Context, node string) (any, error)
}

// RuntimeFaults is an optional Runtime ability: the fault kinds it can inject into nodes
// started with spec (the local runtime simulates network faults in faultline's own node
// transport, so only nodes of its built-in launch can take them). Without it, every kind.
type RuntimeFaults interface {
	Faults(launch *Launch) []string
}

// CheckTarget reports why cfg cannot be run on t with rt (nil rt: the target alone): a fault
// kind the target or runtime cannot take, or what t.Check refuses.
func CheckTarget(cfg Config, t Target, rt Runtime) error {
	if t == nil {
		return errors.New("harness: no target")
	}
	var errs []error
	tf := t.Faults()
	var rf []string
	if rfa, ok := rt.(RuntimeFaults); ok {
		spec, err := t.Nodes(cfg)
		if err != nil {
			return fmt.Errorf("target %s: %w", t.Name(), err)
		}
		rf = rfa.Faults(spec.Launch)
	} else {
		rf = allFaults
	}
	for _, k := range cfg.Nemesis {
		switch {
		case !slices.Contains(tf, k):
			errs = append(errs, fmt.Errorf("%w: target %s cannot take %s faults (it takes: %s)", ErrUnsupportedFault, t.Name(), k, list(tf)))
		case !slices.Contains(rf, k):
			errs = append(errs, fmt.Errorf("%w: the %s runtime cannot inject %s faults into target %s (it can: %s)", ErrUnsupportedFault, rt.Name(), k, t.Name(), list(rf)))
		}
	}
	if err := t.Check(cfg); err != nil {
		errs = append(errs, fmt.Errorf("target %s: %w", t.Name(), err))
	}
	return errors.Join(errs...)
}

func list(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// LaunchVars are what a Launch template sees for one node.
type LaunchVars struct {
	ID       string       // node id, e.g. n1
	IP       string       // the address the node listens on and peers reach it at
	Port     int          // client port
	PeerPort int          // peer port (0: none)
	Data     string       // data directory
	Peers    string       // every node as id=ip:port, comma-separated (faultline node --peers)
	Nodes    []LaunchNode // every node, in cluster order
}

// LaunchNode is one node of the cluster in LaunchVars.Nodes.
type LaunchNode struct {
	ID       string
	IP       string
	Port     int
	PeerPort int
}
