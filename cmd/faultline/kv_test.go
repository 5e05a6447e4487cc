package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/internal/wait"
)

// kvFreeAddrs returns n distinct loopback addresses that were free a moment ago.
func kvFreeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// kvClusterSecret is the cluster secret of startKVCluster's nodes (passed in the environment).
const kvClusterSecret = "kv-test-cluster-secret"

// startKVCluster starts a 3-node cluster of `faultline node` processes (the built binary) with
// admin token token and cluster secret kvClusterSecret, waits until every node answers /health, and returns their addresses. Every
// process is stopped (SIGTERM, then SIGKILL) in t.Cleanup.
func startKVCluster(t *testing.T, token string) map[string]string {
	t.Helper()
	addrs := kvFreeAddrs(t, 3)
	ids := []string{"n1", "n2", "n3"}
	nodes := map[string]string{}
	var peers []string
	done := map[string]chan struct{}{}
	for i, id := range ids {
		nodes[id] = addrs[i]
		peers = append(peers, id+"="+addrs[i])
	}
	for _, id := range ids {
		dir := t.TempDir()
		logf, err := os.Create(filepath.Join(dir, "stderr.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "--log-level", "warn", "node", "--id", id, "--listen", nodes[id],
			"--peers", strings.Join(peers, ","), "--data", filepath.Join(dir, "data"),
			"--admin-token", token, "--fsync", "never")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = append(os.Environ(), "FAULTLINE_CLUSTER_SECRET="+kvClusterSecret)
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("starting node %s: %v", id, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		// Registered after the stop above, so it runs first: the node's log, when the test failed.
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("node %s stderr:\n%s", id, b)
			}
		})
		done[id] = exited
	}
	for _, id := range ids {
		c := client.New(nodes[id], client.WithTimeout(time.Second))
		wait.For(t, time.Minute, fmt.Sprintf("node %s at %s to answer /health", id, nodes[id]), func() (bool, string) {
			err := c.Health(context.Background())
			if err == nil {
				return true, ""
			}
			select {
			case <-done[id]:
				t.Fatalf("node %s exited during start-up: %v", id, err)
			default:
			}
			return false, err.Error()
		})
	}
	return nodes
}

// runKV runs `faultline kv ARGS` in-process and returns stdout, stderr and the exit code.
func runKV(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "warn", "kv"}, args...))
	return out.String(), errOut.String(), code
}

// TestKVCommand drives `faultline kv` against a real 3-node cluster and checks exit codes and
// output: 0 ok, 1 failed (not applied), 3 bad arguments (locally, or a 4xx from the node).
func TestKVCommand(t *testing.T) {
	if binary == "" {
		t.Skip("starts node processes from the built binary")
	}
	t.Setenv("FAULTLINE_ADMIN_TOKEN", "")
	t.Setenv("FAULTLINE_NODE", "")
	const token = "kv-test-token"
	nodes := startKVCluster(t, token)
	n1, n2 := nodes["n1"], nodes["n2"]
	dead := kvFreeAddrs(t, 1)[0] // nothing listens there

	cases := []struct {
		name      string
		args      []string
		code      int
		stdout    string // exact, unless "-" (not checked)
		stderrHas string // stderr must contain this ("" = stderr must be empty)
	}{
		{"put", []string{"put", "--node", n1, "k1", "v1"}, 0, "", ""},
		{"get round trip", []string{"get", "--node", n1, "k1"}, 0, "v1\n", ""},
		{"get on another node, r=3", []string{"get", "--node", n2, "--r", "3", "k1"}, 0, "v1\n", ""},
		{"put w=3", []string{"put", "--node", n2, "--w", "3", "k1", "v2"}, 0, "", ""},
		{"get after overwrite", []string{"get", "--node", n1, "--r", "3", "k1"}, 0, "v2\n", ""},
		{"get absent key", []string{"get", "--node", n1, "absent"}, 0, "", ""},
		{"put w above N", []string{"put", "--node", n1, "--w", "5", "a", "b"}, 3, "", "w 5 out of range 1..3"},
		{"get r above N", []string{"get", "--node", n1, "--r", "4", "a"}, 3, "", "r 4 out of range 1..3"},
		{"put w negative", []string{"put", "--node", n1, "--w", "-1", "a", "b"}, 3, "", "--w -1"},
		{"put w zero given", []string{"put", "--node", n1, "--w", "0", "a", "b"}, 3, "", "--w 0"},
		{"get r negative", []string{"get", "--node", n1, "--r", "-1", "a"}, 3, "", "--r -1"},
		{"incr w zero given", []string{"incr", "--node", n1, "--w", "0", "c"}, 3, "", "--w 0"},
		{"counter r negative", []string{"counter", "--node", n1, "--r", "-2", "c"}, 3, "", "--r -2"},
		{"add w negative", []string{"add", "--node", n1, "--w", "-1", "s", "x"}, 3, "", "--w -1"},
		{"read-set r zero given", []string{"read-set", "--node", n1, "--r", "0", "s"}, 3, "", "--r 0"},
		{"rejected puts wrote nothing", []string{"get", "--node", n1, "--r", "3", "a"}, 0, "", ""},
		{"incr", []string{"incr", "--node", n1, "--w", "2", "c", "5"}, 0, "", ""},
		{"counter", []string{"counter", "--node", n2, "--r", "3", "c"}, 0, "5\n", ""},
		{"add", []string{"add", "--node", n1, "s", "x"}, 0, "", ""},
		{"read-set", []string{"read-set", "--node", n2, "--r", "3", "s"}, 0, "x\n", ""},
		{"node not running: put", []string{"put", "--node", dead, "k", "v"}, 1, "", "connection refused"},
		{"node not running: get", []string{"get", "--node", dead, "k"}, 1, "", "connection refused"},
		{"put one argument", []string{"put", "--node", n1, "k"}, 3, "", "want 2 argument(s)"},
		{"put three arguments", []string{"put", "--node", n1, "k", "v", "x"}, 3, "", "want 2 argument(s)"},
		{"get no argument", []string{"get", "--node", n1}, 3, "", "want 1 argument(s)"},
		{"incr bad delta", []string{"incr", "--node", n1, "c", "two"}, 3, "", "not an integer"},
		{"stats wrong token", []string{"stats", "--node", n1, "--admin-token", "nope"}, 3, "", "wrong admin token"},
		{"stats no token", []string{"stats", "--node", n1}, 3, "", "missing Authorization"},
		{"stats extra argument", []string{"stats", "--node", n1, "--admin-token", token, "x"}, 3, "", "want 0 argument(s)"},
		{"stats", []string{"stats", "--node", n2, "--admin-token", token}, 0, "-", ""},
		// Last: the replicas' 409 makes the coordinator n1 suspect them for a while (store's
		// failure detector counts any call error), so n1's next writes would be hinted.
		{"put on a counter key: 409 is failed, not bad arguments", []string{"put", "--node", n1, "c", "x"}, 1, "", "holds a counter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runKV(tc.args...)
			if code != tc.code {
				t.Errorf("faultline kv %s: exit %d, want %d\nstdout: %q\nstderr: %q", strings.Join(tc.args, " "), code, tc.code, stdout, stderr)
			}
			if tc.stdout != "-" && stdout != tc.stdout {
				t.Errorf("stdout: got %q, want %q", stdout, tc.stdout)
			}
			switch {
			case tc.stderrHas == "" && stderr != "":
				t.Errorf("stderr: got %q, want none", stderr)
			case !strings.Contains(stderr, tc.stderrHas):
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tc.stderrHas)
			}
			if tc.name == "stats" {
				var m map[string]any
				if err := json.Unmarshal([]byte(stdout), &m); err != nil {
					t.Fatalf("stats output is not a JSON object: %v\n%s", err, stdout)
				}
				if m["node"] != "n2" {
					t.Errorf(`stats: "node" is %v, want "n2"`, m["node"])
				}
				if got := fmt.Sprint(m["n"]); got != "3" {
					t.Errorf(`stats: "n" is %s, want 3`, got)
				}
			}
		})
	}
}
