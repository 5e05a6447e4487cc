package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/internal/wait"
)

// binary is the static faultline the tests' images are built from (TestMain builds it once).
var binary string
var binaryErr error

func TestMain(m *testing.M) {
	code := func() int {
		if err := dockertest.Check(context.Background()); err != nil {
			return m.Run() // the Docker tests skip (or fail, if required)
		}
		dir, err := os.MkdirTemp("", "faultline-docker-test")
		if err != nil {
			binaryErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		binary, binaryErr = docker.StaticBinary(ctx, zerolog.Nop(), dir)
		cancel()
		return m.Run()
	}()
	os.Exit(code)
}

// newRuntime returns a Runtime for the test's binary; it skips or fails without an engine.
func newRuntime(t *testing.T, edit func(*docker.Config)) *docker.Runtime {
	t.Helper()
	dockertest.Require(t)
	if binaryErr != nil {
		t.Fatalf("building the static faultline: %v", binaryErr)
	}
	cfg := docker.DefaultConfig()
	cfg.Binary = binary
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t))
	if edit != nil {
		edit(&cfg)
	}
	rt, err := docker.New(cfg)
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// startCluster starts nodes under a fresh run id and tears them down when the test ends,
// checking that nothing of the run is left.
func startCluster(t *testing.T, rt *docker.Runtime, nodes ...string) (harness.ClusterSpec, []harness.Node) {
	t.Helper()
	spec := harness.ClusterSpec{
		RunID:         fmt.Sprintf("test-%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano()),
		Nodes:         nodes,
		AdminToken:    "secret",
		ClusterSecret: "docker-test-cluster-secret",
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Teardown(ctx); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		if err := rt.Teardown(ctx); err != nil {
			t.Errorf("second Teardown: got %v, want nil", err)
		}
		dockertest.RequireNothingLeft(t, spec.RunID)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := rt.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, n := range got {
		waitHealthy(t, n.ID, n.Addr)
	}
	return spec, got
}

// health asks a node's /health once, with a short timeout.
func health(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// waitHealthy waits (bounded) for node id at addr to answer /health: a started, restarted or
// resumed process answers soon, not at once.
func waitHealthy(t *testing.T, id, addr string) {
	t.Helper()
	wait.For(t, time.Minute, fmt.Sprintf("node %s at %s to answer /health", id, addr), func() (bool, string) {
		err := health(context.Background(), addr)
		return err == nil, fmt.Sprint(err)
	})
}

// adminFaults returns a node's transport fault filter as its admin API prints it.
func adminFaults(t *testing.T, addr string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/admin/faults", nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /admin/faults: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/faults: status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

// reach reports whether node from opens a TCP connection to addr, from inside its namespace.
func reach(t *testing.T, rt *docker.Runtime, from, addr string) bool {
	t.Helper()
	out, code, err := rt.Exec(context.Background(), from, "", false, "container", "probe", "--addr", addr, "--timeout", "700ms")
	if err != nil {
		t.Fatalf("probe from %s to %s: %v", from, addr, err)
	}
	switch code {
	case 0:
		return true
	case 1:
		return false
	}
	t.Fatalf("probe from %s to %s: exit code %d: %s", from, addr, code, out)
	return false
}

func TestCluster(t *testing.T) {
	rt := newRuntime(t, nil)
	spec, nodes := startCluster(t, rt, "n1", "n2", "n3")
	ctx := context.Background()
	addr := map[string]string{}
	for _, n := range nodes {
		addr[n.ID] = n.Addr
	}

	t.Run("fixed distinct addresses", func(t *testing.T) {
		seen := map[string]bool{}
		for _, n := range nodes {
			ap, err := netip.ParseAddrPort(n.Addr)
			if err != nil || ap.Port() != 7000 || seen[ap.Addr().String()] {
				t.Errorf("node %s at %q: want a new bridge IP:7000", n.ID, n.Addr)
			}
			seen[ap.Addr().String()] = true
		}
	})

	t.Run("kill and restart keep data", func(t *testing.T) {
		if _, code, err := rt.Exec(ctx, "n1", "", true, "container", "file", "--path", "/data/marker", "--write"); err != nil || code != 0 {
			t.Fatalf("writing /data/marker in n1: code %d, err %v", code, err)
		}
		if err := rt.Kill(ctx, "n1"); err != nil {
			t.Fatalf("Kill: %v", err)
		}
		if err := health(ctx, addr["n1"]); err == nil {
			t.Fatalf("n1 answers /health after Kill, want no answer")
		}
		if err := rt.Kill(ctx, "n1"); err != nil {
			t.Errorf("second Kill: got %v, want nil", err)
		}
		if err := rt.Restart(ctx, "n1"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		if err := rt.Restart(ctx, "n1"); err != nil {
			t.Errorf("Restart of a running node: got %v, want nil", err)
		}
		waitHealthy(t, "n1 after Restart", addr["n1"])
		out, code, err := rt.Exec(ctx, "n1", "", true, "container", "file", "--path", "/data/marker")
		if err != nil || code != 0 {
			t.Errorf("/data/marker after restart: got code %d (%s), err %v; want it present", code, out, err)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		if err := rt.Pause(ctx, "n2"); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		if err := health(ctx, addr["n2"]); err == nil {
			t.Errorf("paused n2 answers /health, want no answer")
		}
		if err := rt.Resume(ctx, "n2"); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		waitHealthy(t, "n2 after Resume", addr["n2"])
	})

	t.Run("kill a paused node", func(t *testing.T) {
		if err := rt.Pause(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
		if err := rt.Kill(ctx, "n3"); err != nil {
			t.Fatalf("Kill of paused n3: %v", err)
		}
		if err := rt.Restart(ctx, "n3"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		waitHealthy(t, "n3 after kill while paused and restart", addr["n3"])
	})

	t.Run("cut link drops TCP, healed link carries it", func(t *testing.T) {
		if !reach(t, rt, "n1", addr["n2"]) {
			t.Fatalf("n1 cannot reach n2 before any partition")
		}
		if err := rt.Partition(ctx, map[string][]string{"n2": {"n1"}}); err != nil {
			t.Fatalf("Partition: %v", err)
		}
		if reach(t, rt, "n1", addr["n2"]) {
			t.Errorf("n1 reaches n2 with n2 dropping n1, want no connection")
		}
		if !reach(t, rt, "n3", addr["n2"]) {
			t.Errorf("n3 cannot reach n2, want only n1 cut")
		}
		if err := health(ctx, addr["n2"]); err != nil {
			t.Errorf("the harness cannot reach partitioned n2: %v", err)
		}
		// The rules live in the namespace holder: a crash and restart keeps them.
		if err := rt.Kill(ctx, "n2"); err != nil {
			t.Fatal(err)
		}
		if err := rt.Restart(ctx, "n2"); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, "n2 after restart", addr["n2"])
		if reach(t, rt, "n1", addr["n2"]) {
			t.Errorf("n1 reaches restarted n2, want the partition kept")
		}
		if err := rt.Heal(ctx); err != nil {
			t.Fatalf("Heal: %v", err)
		}
		if !reach(t, rt, "n1", addr["n2"]) {
			t.Errorf("n1 cannot reach n2 after Heal, want a connection")
		}
	})

	t.Run("loss", func(t *testing.T) {
		// A probe sends one SYN within its timeout. With loss 0.999 at least 2 of 3 probes
		// must fail, with loss 0.0001 at least 2 of 3 must connect (either is off by chance
		// about once in 10^5 runs).
		reached := func(from, to string) int {
			k := 0
			for i := 0; i < 3; i++ {
				if reach(t, rt, from, addr[to]) {
					k++
				}
			}
			return k
		}
		if err := rt.SetLinks(ctx, []harness.Link{{From: "n1", To: "n3", Loss: 0.999}}); err != nil {
			t.Fatalf("SetLinks: %v", err)
		}
		if k := reached("n1", "n3"); k > 1 {
			t.Errorf("n1 reached n3 %d times of 3 with 99.9%% loss, want at most 1", k)
		}
		if !reach(t, rt, "n2", addr["n3"]) {
			t.Errorf("n2 cannot reach n3, want only n1->n3 lossy")
		}
		if err := rt.SetLinks(ctx, []harness.Link{{From: "n1", To: "n3", Loss: 0.0001}}); err != nil {
			t.Fatalf("SetLinks: %v", err)
		}
		if k := reached("n1", "n3"); k < 2 {
			t.Errorf("n1 reached n3 %d times of 3 with 0.01%% loss, want at least 2", k)
		}
		if err := rt.Heal(ctx); err != nil {
			t.Fatalf("Heal: %v", err)
		}
	})

	t.Run("delay through the node transport", func(t *testing.T) {
		if !strings.Contains(rt.Mechanisms()["delay"], "node transport") {
			t.Skipf("delay mechanism is %q", rt.Mechanisms()["delay"])
		}
		if err := rt.SetLinks(ctx, []harness.Link{{From: "n1", To: "n2", Delay: 80 * time.Millisecond}}); err != nil {
			t.Fatalf("SetLinks: %v", err)
		}
		if got := adminFaults(t, addr["n1"]); !strings.Contains(got, `"n2":{"delay_ms":80`) {
			t.Errorf("n1's transport faults %s: want an 80 ms delay to n2", got)
		}
		// A restarted node gets its delays back.
		if err := rt.Kill(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := rt.Restart(ctx, "n1"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		if got := adminFaults(t, addr["n1"]); !strings.Contains(got, `"n2":{"delay_ms":80`) {
			t.Errorf("restarted n1's transport faults %s: want the 80 ms delay to n2 back", got)
		}
		// A paused node gets new delays when it resumes.
		if err := rt.Pause(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := rt.SetLinks(ctx, []harness.Link{{From: "n1", To: "n3", Delay: 60 * time.Millisecond}}); err != nil {
			t.Fatalf("SetLinks with n1 paused: %v", err)
		}
		if err := rt.Resume(ctx, "n1"); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if got := adminFaults(t, addr["n1"]); !strings.Contains(got, `"n3":{"delay_ms":60`) || strings.Contains(got, `"n2"`) {
			t.Errorf("resumed n1's transport faults %s: want only a 60 ms delay to n3", got)
		}
		if err := rt.Heal(ctx); err != nil {
			t.Fatalf("Heal: %v", err)
		}
		if got := adminFaults(t, addr["n1"]); strings.Contains(got, `"n2"`) || strings.Contains(got, `"n3"`) {
			t.Errorf("n1's transport faults after Heal %s: want no links", got)
		}
	})

	t.Run("heal resumes paused nodes", func(t *testing.T) {
		if err := rt.Pause(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
		if err := rt.Heal(ctx); err != nil {
			t.Fatalf("Heal: %v", err)
		}
		waitHealthy(t, "paused n3 after Heal", addr["n3"])
	})

	t.Run("logs", func(t *testing.T) {
		var buf bytes.Buffer
		if err := rt.Logs(ctx, "n1", &buf); err != nil {
			t.Fatalf("Logs: %v", err)
		}
		// n1 was started twice: both starts are in its log.
		if got := strings.Count(buf.String(), "serving"); got < 2 {
			t.Errorf("got %d starts in n1's log, want >= 2:\n%s", got, buf.String())
		}
	})

	t.Run("unknown node", func(t *testing.T) {
		if err := rt.Kill(ctx, "n9"); err == nil {
			t.Errorf("Kill(n9): got nil, want an error")
		}
		if err := rt.Partition(ctx, map[string][]string{"n1": {"n9"}}); err == nil {
			t.Errorf("Partition with n9: got nil, want an error")
		}
	})

	// Least privilege: nothing is privileged; a node has no capability at all and runs as a
	// non-root user; its namespace holder has NET_ADMIN alone (for the root exec that installs
	// the nftables rules).
	t.Run("least privilege", func(t *testing.T) {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ctrs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+spec.RunID))})
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]int{}
		for _, c := range ctrs {
			insp, err := cli.ContainerInspect(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			role := c.Labels[docker.LabelRole]
			roles[role]++
			hc := insp.HostConfig
			if hc.Privileged {
				t.Errorf("%s: privileged", c.Names)
			}
			if !slices.Contains(hc.CapDrop, "ALL") {
				t.Errorf("%s: CapDrop %v, want ALL", c.Names, hc.CapDrop)
			}
			want := []string(nil)
			if role == "netns" {
				want = []string{"NET_ADMIN"}
			}
			var got []string // engines differ: NET_ADMIN or CAP_NET_ADMIN
			for _, c := range hc.CapAdd {
				got = append(got, strings.TrimPrefix(c, "CAP_"))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (%s): CapAdd %v, want %v", c.Names, role, hc.CapAdd, want)
			}
			if role != "node" {
				continue
			}
			top, err := cli.ContainerTop(ctx, c.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			uid := slices.Index(top.Titles, "UID")
			if uid < 0 || len(top.Processes) == 0 {
				t.Fatalf("%s: top %v %v: want a UID column and the node process", c.Names, top.Titles, top.Processes)
			}
			for _, p := range top.Processes {
				if p[uid] == "root" || p[uid] == "0" {
					t.Errorf("%s: process %v runs as root", c.Names, p)
				}
			}
		}
		if roles["node"] != 3 || roles["netns"] != 3 {
			t.Errorf("containers by role %v, want 3 nodes and 3 namespace holders", roles)
		}
	})

	t.Run("mechanisms", func(t *testing.T) {
		m := rt.Mechanisms()
		for _, k := range []string{"partition", "loss", "delay", "kill", "pause", "clock"} {
			if m[k] == "" {
				t.Errorf("Mechanisms()[%q] is empty, want a description", k)
			}
		}
		if !strings.Contains(m["delay"], "netem: yes") && !strings.Contains(m["delay"], "netem: no") {
			t.Errorf("delay mechanism %q: want the netem probe's answer", m["delay"])
		}
	})
}

func TestProbeNetem(t *testing.T) {
	rt := newRuntime(t, nil)
	got, err := rt.ProbeNetem(context.Background())
	if err != nil || (got != "yes" && got != "no") {
		t.Fatalf("ProbeNetem: got %q, %v; want yes or no", got, err)
	}
	if m := rt.Mechanisms()["delay"]; !strings.Contains(m, "netem: "+got) {
		t.Errorf("delay mechanism %q: want the probe's answer %q", m, got)
	}
	rep, err := docker.Prune(context.Background(), zerolog.Nop(), docker.PruneOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Containers {
		if strings.Contains(c, "netem-probe") {
			t.Errorf("the probe left container %s", c)
		}
	}
}

// TestPublishedPorts runs a one-node cluster reached through a port published on the engine's
// host, as with a remote engine, next to TestCluster's (their subnets must not collide).
func TestPublishedPorts(t *testing.T) {
	rt := newRuntime(t, func(c *docker.Config) { c.Publish = docker.PublishAlways })
	_, nodes := startCluster(t, rt, "n1")
	ap, err := netip.ParseAddrPort(nodes[0].Addr)
	if err != nil || !ap.Addr().IsLoopback() || ap.Port() == 7000 {
		t.Errorf("got address %q, want a published 127.0.0.1 port", nodes[0].Addr)
	}
}

func TestImageBuildAndSkip(t *testing.T) {
	dockertest.Require(t)
	if binaryErr != nil {
		t.Fatalf("building the static faultline: %v", binaryErr)
	}
	// A binary of its own (the test's plus a trailing byte), so the first EnsureImage builds.
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir() + "/faultline"
	if err := os.WriteFile(bin, append(b, []byte(t.Name()+time.Now().String())...), 0o755); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, func(c *docker.Config) { c.Binary = bin })
	ctx := context.Background()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	tag, built, err := rt.EnsureImage(ctx, false)
	if err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if !built {
		t.Errorf("first EnsureImage of a new binary: built = false, want true")
	}
	tag2, built2, err := rt.EnsureImage(ctx, false)
	if err != nil || tag2 != tag || built2 {
		t.Errorf("second EnsureImage: got (%s, %v, %v), want (%s, false, nil)", tag2, built2, err, tag)
	}
	insp, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("inspecting %s: %v", tag, err)
	}
	if insp.Config == nil || insp.Config.User != "65534:65534" || insp.Config.Labels[docker.LabelImage] != "1" {
		t.Errorf("image config %+v: want user 65534:65534 and label %s=1", insp.Config, docker.LabelImage)
	}
}

// TestFailedStart: after a Start that fails midway (here: a node listed twice, found once the
// network exists), Heal and Teardown still work and nothing is left.
func TestFailedStart(t *testing.T) {
	rt := newRuntime(t, nil)
	ctx := context.Background()
	spec := harness.ClusterSpec{RunID: fmt.Sprintf("test-failedstart-%d", time.Now().UnixNano()), Nodes: []string{"n1", "n1"}}
	if _, err := rt.Start(ctx, spec); err == nil {
		t.Fatalf("Start with n1 twice: got nil, want an error")
	}
	if err := rt.Heal(ctx); err != nil {
		t.Errorf("Heal after a failed Start: got %v, want nil", err)
	}
	if err := rt.Teardown(ctx); err != nil {
		t.Errorf("Teardown after a failed Start: got %v, want nil", err)
	}
	dockertest.RequireNothingLeft(t, spec.RunID)
}

// TestParallelRunsDoNotCollide starts two one-node runs at once whose run ids pick the same
// first subnet: both must start, on different subnets.
func TestParallelRunsDoNotCollide(t *testing.T) {
	rtA := newRuntime(t, nil)
	rtB := newRuntime(t, nil)
	first := func(id string) uint32 { // the runtime's first candidate /24 in the default pool
		h := fnv.New32a()
		h.Write([]byte(id))
		return h.Sum32() % 256
	}
	base := fmt.Sprintf("test-parallel-%d", time.Now().UnixNano())
	idA, idB := base+"-a", ""
	for i := 0; idB == ""; i++ {
		if c := fmt.Sprintf("%s-b%d", base, i); first(c) == first(idA) {
			idB = c
		}
	}
	ctx := context.Background()
	type result struct {
		nodes []harness.Node
		err   error
	}
	results := make(chan result, 2)
	for _, run := range []struct {
		rt *docker.Runtime
		id string
	}{{rtA, idA}, {rtB, idB}} {
		t.Cleanup(func() {
			run.rt.Teardown(context.Background())
			dockertest.RequireNothingLeft(t, run.id)
		})
		go func() {
			nodes, err := run.rt.Start(ctx, harness.ClusterSpec{RunID: run.id, Nodes: []string{"n1"}, AdminToken: "secret"})
			results <- result{nodes, err}
		}()
	}
	var subnets []string
	for i := 0; i < 2; i++ {
		res := <-results
		if res.err != nil {
			t.Fatalf("Start: %v", res.err)
		}
		ap, err := netip.ParseAddrPort(res.nodes[0].Addr)
		if err != nil {
			t.Fatalf("node address %q: %v", res.nodes[0].Addr, err)
		}
		p, _ := ap.Addr().Prefix(24)
		subnets = append(subnets, p.String())
	}
	if subnets[0] == subnets[1] {
		t.Errorf("both runs on %s, want different subnets", subnets[0])
	}
}
