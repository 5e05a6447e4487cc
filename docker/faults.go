package docker

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/faultline/faultline/docker/netfilter"
	"github.com/faultline/faultline/harness"
)

// Partition installs grudge, replacing any earlier one: node a drops every packet from the
// addresses of grudge[a]. Rules go into each node's namespace in one atomic step per node; nodes
// whose rules do not change are not touched.
func (r *Runtime) Partition(ctx context.Context, grudge map[string][]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ErrNotStarted
	}
	for a, peers := range grudge {
		if _, err := r.node(a); err != nil {
			return fmt.Errorf("docker: partition: %w", err)
		}
		for _, b := range peers {
			if _, err := r.node(b); err != nil {
				return fmt.Errorf("docker: partition of %s: %w", a, err)
			}
		}
	}
	r.grudge = maps.Clone(grudge)
	return r.install(ctx)
}

// SetLinks installs delay and loss on directed links, replacing any earlier set. Loss on From ->
// To drops packets from From at To's input, at random; delay goes through Config.Transport (the
// node's transport delay on From for messages to To).
func (r *Runtime) SetLinks(ctx context.Context, links []harness.Link) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ErrNotStarted
	}
	for _, l := range links {
		if _, err := r.node(l.From); err != nil {
			return fmt.Errorf("docker: link %s->%s: %w", l.From, l.To, err)
		}
		if _, err := r.node(l.To); err != nil {
			return fmt.Errorf("docker: link %s->%s: %w", l.From, l.To, err)
		}
		if !(l.Loss >= 0 && l.Loss <= 1) || l.Delay < 0 {
			return fmt.Errorf("docker: link %s->%s: loss %v must be in [0,1] and delay %s >= 0", l.From, l.To, l.Loss, l.Delay)
		}
		if l.Delay > 0 && r.cfg.Transport == nil {
			return fmt.Errorf("docker: link %s->%s: a delay of %s needs a node transport (Config.Transport), and netem per link is not implemented", l.From, l.To, l.Delay)
		}
	}
	r.links = slices.Clone(links)
	if err := r.install(ctx); err != nil {
		return err
	}
	return r.setDelays(ctx)
}

// Heal removes every partition, loss and delay and resumes paused nodes. Killed nodes stay down.
func (r *Runtime) Heal(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ErrNotStarted
	}
	r.grudge, r.links = nil, nil
	err := r.install(ctx)
	if derr := r.setDelays(ctx); derr != nil && err == nil {
		err = derr
	}
	for _, n := range r.nodes {
		if n.ctr == "" {
			continue
		}
		if rerr := r.resume(ctx, n); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// rules is the filter node n must have under the current grudge and links.
func (r *Runtime) rules(n *node) netfilter.Rules {
	var out netfilter.Rules
	for _, peer := range r.grudge[n.id] {
		out.Drop = append(out.Drop, r.byID[peer].ip.String())
	}
	for _, l := range r.links {
		if l.To == n.id && l.Loss > 0 {
			out.Loss = append(out.Loss, netfilter.Loss{Source: r.byID[l.From].ip.String(), Probability: l.Loss})
		}
	}
	return out.Normalize()
}

// install brings every node's rules to the desired state, in parallel, skipping nodes already
// there. A node whose install fails is retried on the next call.
func (r *Runtime) install(ctx context.Context) error {
	var todo []*node
	want := map[*node]string{}
	for _, n := range r.nodes {
		if n.holder == "" {
			continue // never created (a failed Start): no namespace to filter
		}
		enc := r.rules(n).Encode()
		if n.applied != enc {
			todo = append(todo, n)
			want[n] = enc
		}
	}
	return r.each(ctx, todo, func(ctx context.Context, n *node) error {
		n.applied = ""
		out, code, err := r.exec(ctx, n.holder, "0", "container", "netfilter", "--rules", want[n])
		if err != nil {
			return fmt.Errorf("docker: installing rules on %s: %w", n.id, err)
		}
		if code != 0 {
			return fmt.Errorf("docker: installing rules on %s: exit code %d: %s", n.id, code, strings.TrimSpace(out))
		}
		n.applied = want[n]
		r.log.Debug().Str("node", n.id).Str("rules", want[n]).Msg("rules installed")
		return nil
	})
}

// wantDelays is the transport delay each node must add, per peer, under the current links.
func (r *Runtime) wantDelays() map[string]map[string]time.Duration {
	want := map[string]map[string]time.Duration{}
	for _, l := range r.links {
		if l.Delay > 0 {
			if want[l.From] == nil {
				want[l.From] = map[string]time.Duration{}
			}
			want[l.From][l.To] = l.Delay
		}
	}
	return want
}

// setDelays brings every node's transport delays to the desired state through Config.Transport.
// A paused or stopped node cannot answer: it is marked pending and set on Resume or Restart.
func (r *Runtime) setDelays(ctx context.Context) error {
	if r.cfg.Transport == nil {
		return nil
	}
	want := r.wantDelays()
	var todo []*node
	for _, n := range r.nodes {
		if n.ctr != "" && (want[n.id] != nil || n.delaySet || n.delayPending) {
			todo = append(todo, n)
		}
	}
	return r.each(ctx, todo, func(ctx context.Context, n *node) error {
		st, err := r.state(ctx, n)
		if err != nil {
			return err
		}
		if !st.Running || st.Paused {
			n.delayPending = true
			return nil
		}
		return r.applyDelays(ctx, n, want[n.id])
	})
}

// applyDelays sets node n's transport delays to d (nil: none).
func (r *Runtime) applyDelays(ctx context.Context, n *node, d map[string]time.Duration) error {
	if d == nil {
		d = map[string]time.Duration{}
	}
	if err := r.cfg.Transport.SetDelays(ctx, n.addr, r.spec.AdminToken, d); err != nil {
		n.delayPending = true
		return fmt.Errorf("docker: setting transport delays on %s: %w", n.id, err)
	}
	n.delaySet, n.delayPending = len(d) > 0, false
	return nil
}

// restoreDelays gives a freshly started node (whose transport starts with no delays) the delays
// it must have, retrying while the node comes up, for at most 10 s.
func (r *Runtime) restoreDelays(ctx context.Context, n *node) error {
	n.delaySet, n.delayPending = false, false
	d := r.wantDelays()[n.id]
	if r.cfg.Transport == nil || len(d) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		err := r.applyDelays(ctx, n, d)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// probeNetem asks, from inside n's namespace, whether the kernel has netem.
func (r *Runtime) probeNetem(ctx context.Context, n *node) string {
	out, code, err := r.exec(ctx, n.holder, "0", "container", "netem")
	switch {
	case err != nil:
		return "probe failed: " + err.Error()
	case code != 0:
		return "probe failed: " + strings.TrimSpace(out)
	}
	return strings.TrimSpace(out)
}

// ProbeNetem asks the engine's kernel whether it has netem ("yes" or "no"), before any cluster
// runs, from a short-lived container (no network, CAP_NET_ADMIN, labelled faultline.run so Prune
// finds it should it be left), and remembers the answer for Mechanisms. Start probes too, more
// cheaply, if this was not called. It builds the image if needed.
func (r *Runtime) ProbeNetem(ctx context.Context) (string, error) {
	image, err := r.startImage(ctx)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ExecTimeout)
	defer cancel()
	name := fmt.Sprintf("faultline-netem-probe-%d", time.Now().UnixNano())
	c, err := r.cli.ContainerCreate(ctx, &container.Config{
		Image:  image,
		User:   "0",
		Cmd:    []string{"container", "netem"},
		Labels: map[string]string{LabelRun: name, LabelRole: "probe"},
	}, &container.HostConfig{
		NetworkMode: "none",
		CapDrop:     []string{"ALL"},
		CapAdd:      []string{"NET_ADMIN"},
	}, nil, nil, name)
	if err != nil {
		return "", fmt.Errorf("docker: netem probe: creating its container: %w", err)
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer rcancel()
		r.cli.ContainerRemove(rctx, c.ID, container.RemoveOptions{Force: true})
	}()
	wait, errc := r.cli.ContainerWait(ctx, c.ID, container.WaitConditionNextExit)
	if err := r.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return "", fmt.Errorf("docker: netem probe: starting: %w", err)
	}
	var code int64
	select {
	case res := <-wait:
		code = res.StatusCode
	case err := <-errc:
		return "", fmt.Errorf("docker: netem probe: waiting: %w", err)
	}
	rc, err := r.cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", fmt.Errorf("docker: netem probe: reading its output: %w", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, rc)
	answer := strings.TrimSpace(out.String())
	if code != 0 || (answer != "yes" && answer != "no") {
		return "", fmt.Errorf("docker: netem probe: exit code %d: %s", code, answer)
	}
	r.mu.Lock()
	r.netem = answer
	r.mu.Unlock()
	return answer, nil
}

// Exec runs the faultline binary with args inside node id's network namespace (in its namespace
// holder) as user (e.g. "0" for root, "" for the image's non-root user), and returns its
// combined output and exit code. It is how rules are installed; tests use it for probes
// (`container probe --addr IP:PORT`). When data is true it runs in the node's own container
// instead, which sees the node's /data.
func (r *Runtime) Exec(ctx context.Context, id, user string, data bool, args ...string) (string, int, error) {
	r.mu.Lock()
	n, err := r.node(id)
	r.mu.Unlock()
	if err != nil {
		return "", 0, err
	}
	target := n.holder
	if data {
		target = n.ctr
	}
	return r.exec(ctx, target, user, args...)
}

// exec runs /faultline args in container ctr as user and waits for it.
func (r *Runtime) exec(ctx context.Context, ctr, user string, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ExecTimeout)
	defer cancel()
	cmd := append([]string{"/faultline", "--log-format", "json"}, args...)
	ex, err := r.cli.ContainerExecCreate(ctx, ctr, container.ExecOptions{
		User:         user,
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return "", 0, fmt.Errorf("docker: exec %v: %w", args, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", 0, fmt.Errorf("docker: exec %v: attaching: %w", args, err)
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		return out.String(), 0, fmt.Errorf("docker: exec %v: reading output: %w", args, err)
	}
	insp, err := r.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return out.String(), 0, fmt.Errorf("docker: exec %v: inspecting: %w", args, err)
	}
	if insp.Running {
		return out.String(), 0, fmt.Errorf("docker: exec %v: still running after its output ended", args)
	}
	return out.String(), insp.ExitCode, nil
}
