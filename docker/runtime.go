package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker/netfilter"
	"github.com/faultline/faultline/harness"
)

var _ harness.Runtime = (*Runtime)(nil)
var _ harness.Mechanisms = (*Runtime)(nil)

// ErrNotStarted is returned by fault methods called before Start.
var ErrNotStarted = errors.New("docker: no cluster started")

// ErrUnknownNode is returned for a node id that is not in the cluster.
var ErrUnknownNode = errors.New("docker: unknown node")

// nameUnsafe matches what a container name may not hold.
var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// Available reports whether a Docker engine answers (DOCKER_HOST and friends, or the local
// socket): nil when it does.
func Available(ctx context.Context) error {
	cli, err := newClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker: no engine answers at %s: %w", cli.DaemonHost(), err)
	}
	return nil
}

func newClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: creating the engine client: %w", err)
	}
	return cli, nil
}

// Runtime runs one cluster at a time on a Docker engine; see the package comment. Create it with
// New; Start, then fault methods, then Teardown. Methods are safe for concurrent use, though the
// harness calls them one at a time.
type Runtime struct {
	cfg Config
	log zerolog.Logger
	cli *client.Client

	mu      sync.Mutex
	spec    harness.ClusterSpec
	started bool
	subnet  netip.Prefix
	nodes   []*node
	byID    map[string]*node
	grudge  map[string][]string
	links   []harness.Link
	netem   string // "yes", "no" or the probe's error

	imageMu sync.Mutex // guards image; held through EnsureImage
	image   string     // tag of the image EnsureImage last made sure of
}

// node is one started node: its namespace holder, its own container and where clients reach it.
type node struct {
	id      string
	ip      netip.Addr
	holder  string // container id of the namespace holder
	ctr     string // container id of the node
	addr    string
	applied string // encoded rules last installed; "" unknown

	delaySet     bool // its transport has delays set
	delayPending bool // its transport delays could not be set yet (paused, down, failed)
}

// New returns a Runtime for cfg; it does not contact the engine yet.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cli, err := newClient()
	if err != nil {
		return nil, err
	}
	return &Runtime{cfg: cfg, log: cfg.Log, cli: cli}, nil
}

// Close releases the engine client. It does not tear the cluster down.
func (r *Runtime) Close() error { return r.cli.Close() }

// Name is "docker".
func (r *Runtime) Name() string { return "docker" }

// Mechanisms names how each fault is injected, for the run's output.
func (r *Runtime) Mechanisms() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	delay := "node transport: each node delays its own messages per peer"
	switch r.netem {
	case "no":
		delay += " (kernel netem: no)"
	case "yes":
		delay += " (kernel netem: yes, but per-link netem is not implemented)"
	case "":
	default:
		delay += " (kernel netem: " + r.netem + ")"
	}
	return map[string]string{
		"partition": "nftables input drop of peer source addresses, in the node's network namespace",
		"loss":      "nftables numgen random drop, in the node's network namespace",
		"delay":     delay,
		"kill":      "engine kill SIGKILL, then start (data kept in the container)",
		"pause":     "engine pause/unpause (cgroup freezer)",
		"clock":     "node admin API (skewable clock; the host clock is never touched)",
	}
}

// names returns the container names of a node: its own and its namespace holder's.
func (r *Runtime) names(id string) (ctr, holder string) {
	base := "faultline-" + nameUnsafe.ReplaceAllString(r.spec.RunID, "_") + "-" + nameUnsafe.ReplaceAllString(id, "_")
	return base, base + "-net"
}

func (r *Runtime) labels(role, id string) map[string]string {
	l := map[string]string{LabelRun: r.spec.RunID, LabelRole: role}
	if id != "" {
		l[LabelNode] = id
	}
	return l
}

// remote reports whether the engine is reached over the network (not a local socket), and the
// host it runs on ("127.0.0.1" for a local engine).
func (r *Runtime) remote() (bool, string) {
	u, err := url.Parse(r.cli.DaemonHost())
	if err != nil || u.Scheme == "unix" || u.Scheme == "npipe" || u.Hostname() == "" {
		return false, "127.0.0.1"
	}
	return true, u.Hostname()
}

// publish reports whether node ports are published on the engine's host, and that host.
func (r *Runtime) publish() (bool, string) {
	remote, host := r.remote()
	switch r.cfg.Publish {
	case PublishAlways:
		return true, host
	case PublishNever:
		return false, ""
	}
	return remote, host
}

// Start builds the image if needed, creates the run's network and starts every node. On error
// the caller should call Teardown, which removes whatever was created.
func (r *Runtime) Start(ctx context.Context, spec harness.ClusterSpec) ([]harness.Node, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return nil, fmt.Errorf("docker: start %s: run %s already started; Teardown first", spec.RunID, r.spec.RunID)
	}
	if spec.RunID == "" || len(spec.Nodes) == 0 {
		return nil, fmt.Errorf("docker: start: want a RunID and nodes, got %q and %d nodes", spec.RunID, len(spec.Nodes))
	}
	if len(spec.Nodes) > 200 {
		return nil, fmt.Errorf("docker: start: %d nodes; at most 200 fit a /24", len(spec.Nodes))
	}
	r.spec, r.started = spec, true
	r.nodes, r.byID, r.grudge, r.links = nil, map[string]*node{}, nil, nil
	start := time.Now()

	image, err := r.startImage(ctx)
	if err != nil {
		return nil, err
	}
	netName, err := r.createNetwork(ctx)
	if err != nil {
		return nil, err
	}
	var peers []string
	port, peerPort := r.ports()
	var ids, ips []string
	var ports, peerPorts []int
	for i, id := range spec.Nodes {
		if _, dup := r.byID[id]; dup {
			return nil, fmt.Errorf("docker: start: node %q listed twice", id)
		}
		n := &node{id: id, ip: nodeIP(r.subnet, i)}
		r.nodes = append(r.nodes, n)
		r.byID[id] = n
		peers = append(peers, fmt.Sprintf("%s=%s", id, net.JoinHostPort(n.ip.String(), strconv.Itoa(port))))
		ids, ips = append(ids, id), append(ips, n.ip.String())
		ports, peerPorts = append(ports, port), append(peerPorts, peerPort)
	}
	publish, host := r.publish()
	err = r.each(ctx, r.nodes, func(ctx context.Context, n *node) error {
		cmd := append([]string{}, r.cfg.NodeCommand...)
		cmd = append(cmd, "--id", n.id, "--listen", fmt.Sprintf("0.0.0.0:%d", port), "--peers", strings.Join(peers, ","), "--data", "/data")
		cmd = append(cmd, r.spec.NodeArgs...)
		img, env := image, []string(nil)
		if l := spec.Launch; l != nil {
			data := l.Data
			if data == "" {
				data = "/data"
			}
			v := harness.Vars(ids, ips, ports, peerPorts, slices.Index(ids, n.id), data)
			var err error
			if cmd, err = harness.Expand(l.Args, v); err != nil {
				return fmt.Errorf("docker: node %s: %w", n.id, err)
			}
			if env, err = harness.Expand(l.Env, v); err != nil {
				return fmt.Errorf("docker: node %s: %w", n.id, err)
			}
			if l.Image != "" {
				img = l.Image
			}
		}
		return r.startNode(ctx, n, image, img, netName, cmd, env, port, publish, host)
	})
	if err != nil {
		return nil, err
	}
	if r.netem != "yes" && r.netem != "no" {
		r.netem = r.probeNetem(ctx, r.nodes[0])
	}
	out := make([]harness.Node, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = harness.Node{ID: n.id, Addr: n.addr}
	}
	r.log.Info().Str("run", spec.RunID).Int("nodes", len(out)).Str("subnet", r.subnet.String()).
		Str("netem", r.netem).Dur("took", time.Since(start)).Msg("docker cluster started")
	return out, nil
}

// startImage returns the image to run: the one EnsureImage made sure of, if it still exists,
// else EnsureImage's (so Config.Binary may be gone once the image exists).
func (r *Runtime) startImage(ctx context.Context) (string, error) {
	r.imageMu.Lock()
	image := r.image
	r.imageMu.Unlock()
	if image != "" {
		if _, err := r.cli.ImageInspect(ctx, image); err == nil {
			return image, nil
		}
	}
	image, _, err := r.EnsureImage(ctx, false)
	return image, err
}

// ports are the client and peer ports nodes listen on: the target's launch's, else Config.Port.
func (r *Runtime) ports() (port, peerPort int) {
	if l := r.spec.Launch; l != nil && l.Port != 0 {
		return l.Port, l.PeerPort
	}
	return r.cfg.Port, 0
}

// startNode creates and starts a node's namespace holder (from the faultline image, which
// installs the nftables rules) and then the node (from nodeImage, running cmd).
func (r *Runtime) startNode(ctx context.Context, n *node, image, nodeImage, netName string, cmd, env []string, listen int, publish bool, host string) error {
	ctrName, holderName := r.names(n.id)
	port := nat.Port(fmt.Sprintf("%d/tcp", listen))
	hcfg := &container.Config{
		Image:  image,
		Cmd:    []string{"container", "hold"},
		Labels: r.labels("netns", n.id),
	}
	hhost := &container.HostConfig{
		CapDrop: []string{"ALL"},
		CapAdd:  []string{"NET_ADMIN"}, // for the root exec that installs nftables rules
	}
	if publish {
		hcfg.ExposedPorts = nat.PortSet{port: struct{}{}}
		bindIP := "" // every interface of a remote engine's host: the harness comes from afar
		if remote, _ := r.remote(); !remote {
			bindIP = "127.0.0.1" // a local engine: loopback is enough
		}
		hhost.PortBindings = nat.PortMap{port: []nat.PortBinding{{HostIP: bindIP, HostPort: ""}}}
	}
	netcfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.ip.String()}},
	}}
	h, err := r.cli.ContainerCreate(ctx, hcfg, hhost, netcfg, nil, holderName)
	if err != nil {
		return fmt.Errorf("docker: creating the network holder of %s: %w", n.id, err)
	}
	n.holder = h.ID
	n.applied = netfilter.Rules{}.Encode() // a new namespace has no table of ours
	if err := r.cli.ContainerStart(ctx, h.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("docker: starting the network holder of %s: %w", n.id, err)
	}
	n.addr = net.JoinHostPort(n.ip.String(), strconv.Itoa(listen))
	if publish {
		insp, err := r.cli.ContainerInspect(ctx, h.ID)
		if err != nil {
			return fmt.Errorf("docker: inspecting the network holder of %s: %w", n.id, err)
		}
		var bound []nat.PortBinding
		if insp.NetworkSettings != nil {
			bound = insp.NetworkSettings.Ports[port]
		}
		if len(bound) == 0 || bound[0].HostPort == "" {
			return fmt.Errorf("docker: node %s: port %s was not published", n.id, port)
		}
		n.addr = net.JoinHostPort(host, bound[0].HostPort)
	}

	c, err := r.cli.ContainerCreate(ctx, &container.Config{
		Image:  nodeImage,
		Cmd:    cmd,
		Env:    append([]string{"FAULTLINE_ADMIN_TOKEN=" + r.spec.AdminToken, "FAULTLINE_CLUSTER_SECRET=" + r.spec.ClusterSecret}, env...),
		Labels: r.labels("node", n.id),
	}, &container.HostConfig{
		NetworkMode: container.NetworkMode("container:" + h.ID),
		CapDrop:     []string{"ALL"},
	}, nil, nil, ctrName)
	if err != nil {
		return fmt.Errorf("docker: creating node %s: %w", n.id, err)
	}
	n.ctr = c.ID
	if err := r.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("docker: starting node %s: %w", n.id, err)
	}
	return nil
}

// each runs f on every node, at most Config.Parallel at once, and returns the first error.
func (r *Runtime) each(ctx context.Context, nodes []*node, f func(context.Context, *node) error) error {
	sem := make(chan struct{}, r.cfg.Parallel)
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *Runtime) node(id string) (*node, error) {
	if !r.started {
		return nil, ErrNotStarted
	}
	n, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	if n.ctr == "" {
		return nil, fmt.Errorf("docker: node %s was never created (Start failed)", id)
	}
	return n, nil
}

func (r *Runtime) state(ctx context.Context, n *node) (*container.State, error) {
	insp, err := r.cli.ContainerInspect(ctx, n.ctr)
	if err != nil {
		return nil, fmt.Errorf("docker: inspecting node %s: %w", n.id, err)
	}
	if insp.ContainerJSONBase == nil || insp.State == nil {
		return nil, fmt.Errorf("docker: inspecting node %s: no state", n.id)
	}
	return insp.State, nil
}

// Kill sends SIGKILL to a node's process (thawing it first if paused); its data stays. Killing a
// stopped node does nothing.
func (r *Runtime) Kill(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.node(id)
	if err != nil {
		return err
	}
	st, err := r.state(ctx, n)
	if err != nil {
		return err
	}
	if !st.Running {
		return nil
	}
	if err := r.cli.ContainerKill(ctx, n.ctr, "KILL"); err != nil {
		if !st.Paused {
			return fmt.Errorf("docker: killing %s: %w", id, err)
		}
		// Older engines refuse to kill a paused container: thaw, then kill.
		if err := r.cli.ContainerUnpause(ctx, n.ctr); err != nil {
			return fmt.Errorf("docker: unpausing %s to kill it: %w", id, err)
		}
		if err := r.cli.ContainerKill(ctx, n.ctr, "KILL"); err != nil {
			return fmt.Errorf("docker: killing %s: %w", id, err)
		}
	}
	// Wait until the engine has seen the process exit, so a Restart right after works.
	wait, errc := r.cli.ContainerWait(ctx, n.ctr, container.WaitConditionNotRunning)
	select {
	case <-wait:
	case err := <-errc:
		return fmt.Errorf("docker: waiting for %s to die: %w", id, err)
	}
	r.log.Debug().Str("node", id).Msg("killed")
	return nil
}

// Restart starts a stopped node again on its data, in the same network namespace (so its
// partition rules are still there). A running node is left alone.
func (r *Runtime) Restart(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.node(id)
	if err != nil {
		return err
	}
	st, err := r.state(ctx, n)
	if err != nil {
		return err
	}
	if st.Running {
		return nil
	}
	if err := r.cli.ContainerStart(ctx, n.ctr, container.StartOptions{}); err != nil {
		return fmt.Errorf("docker: restarting %s: %w", id, err)
	}
	r.log.Debug().Str("node", id).Msg("restarted")
	// nftables rules live on in the namespace holder; transport delays died with the process.
	return r.restoreDelays(ctx, n)
}

// Pause freezes a running node with the engine's pause. Pausing a paused or stopped node does
// nothing.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.node(id)
	if err != nil {
		return err
	}
	st, err := r.state(ctx, n)
	if err != nil {
		return err
	}
	if !st.Running || st.Paused {
		return nil
	}
	if err := r.cli.ContainerPause(ctx, n.ctr); err != nil {
		return fmt.Errorf("docker: pausing %s: %w", id, err)
	}
	return nil
}

// Resume thaws a paused node; otherwise it does nothing.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.node(id)
	if err != nil {
		return err
	}
	return r.resume(ctx, n)
}

func (r *Runtime) resume(ctx context.Context, n *node) error {
	st, err := r.state(ctx, n)
	if err != nil {
		return err
	}
	if !st.Paused {
		return nil
	}
	if err := r.cli.ContainerUnpause(ctx, n.ctr); err != nil {
		return fmt.Errorf("docker: resuming %s: %w", n.id, err)
	}
	if n.delayPending && r.cfg.Transport != nil {
		return r.applyDelays(ctx, n, r.wantDelays()[n.id])
	}
	return nil
}

// Logs copies the node's stdout and stderr, across restarts, from the engine to w.
func (r *Runtime) Logs(ctx context.Context, id string, w io.Writer) error {
	r.mu.Lock()
	n, err := r.node(id)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	rc, err := r.cli.ContainerLogs(ctx, n.ctr, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Errorf("docker: logs of %s: %w", id, err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil {
		return fmt.Errorf("docker: copying logs of %s: %w", id, err)
	}
	return nil
}

// Teardown removes every container, network and volume labelled with the run's id (including
// any left by a failed Start). It is safe to call more than once, and before Start.
func (r *Runtime) Teardown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spec.RunID == "" {
		return nil
	}
	rep, err := prune(ctx, r.cli, r.log, false, r.spec.RunID, false, r.cfg.Parallel)
	if err != nil {
		return err
	}
	r.started = false
	r.nodes, r.byID = nil, map[string]*node{}
	r.log.Debug().Str("run", r.spec.RunID).Int("containers", len(rep.Containers)).Int("networks", len(rep.Networks)).Msg("docker run torn down")
	return nil
}

// runFilter selects the objects of run id ("" selects every run's).
func runFilter(id string) filters.Args {
	if id == "" {
		return filters.NewArgs(filters.Arg("label", LabelRun))
	}
	return filters.NewArgs(filters.Arg("label", LabelRun+"="+id))
}
