package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/testbin"
	"github.com/faultline/faultline/internal/wait"
)

var binary string // the faultline binary, for tests that run it as a user would

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "faultline-cmd-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binary, err = testbin.Build(context.Background(), dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestRunFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the error message
	}{
		{[]string{"--w", "5"}, "w (5) must be between 1 and n (3)"},
		{[]string{"--n", "7"}, "n (7) must be between 1 and the cluster size (5)"},
		{[]string{"--consistency", "strong"}, `consistency "strong"`},
		{[]string{"--workload", "queue"}, `workload "queue"`},
		{[]string{"--nemesis", "meteor"}, "--nemesis"},
		{[]string{"--runtime", "k8s"}, `--runtime "k8s"`},
		{[]string{"--crdt"}, "--crdt applies to the set and counter workloads"},
		{[]string{"--time", "0s"}, "time (0s) must be positive"},
		{[]string{"--time", "3s"}, "time (3s) is shorter than 0.8 of the nemesis interval (5s)"},
		{[]string{"--fsync", "sometimes"}, `fsync "sometimes"`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--nodes", "x"}, "invalid value"},
		{[]string{"--checks", "linearizable,foo"}, `checks: "foo" is not a checker`},
		{[]string{"--checks", "lost-updates"}, "lost-updates does not apply to the register workload"},
		{[]string{"--nemesis", "loss", "--loss-max", "1.5"}, "loss max (1.5) must be between 0.01 and 1"},
		{[]string{"--nemesis", "delay", "--delay-max", "0s"}, "delay max (0s) must be at least 1ms"},
		{[]string{"--target", "etcd", "--nemesis", "partition,clock"}, "target etcd cannot take clock faults (it takes: partition, kill, pause, loss)"},
		{[]string{"--target", "etcd", "--nemesis", "delay"}, "target etcd cannot take delay faults"},
		{[]string{"--target", "etcd", "--workload", "set", "--crdt"}, "etcd has no CRDTs"},
		{[]string{"--target", "etcd", "--etcd-reads", "stale"}, `reads "stale": want linearizable or serializable`},
		{[]string{"--etcd-reads", "serializable"}, "--etcd-reads applies to --target etcd, not faultline"},
		{[]string{"--cas", "0.5"}, "the reference store has no compare-and-set"},
		{[]string{"--target", "etcd", "--w", "1"}, "--w does not apply to --target etcd: this target takes no per-request quorums"},
		{[]string{"--target", "etcd", "--consistency", "abd"}, "--consistency does not apply to --target etcd: it configures faultline's reference store"},
		{[]string{"--target", "etcd", "--fsync", "never"}, "--fsync does not apply to --target etcd"},
		{[]string{"--target", "../../examples/targets/faultline-node.yaml", "--sloppy-quorum"}, "--sloppy-quorum does not apply to --target faultline-node"},
		{[]string{"--target", "nosuch"}, `--target "nosuch": want faultline, etcd or a target file`},
		{[]string{"--target", "../../examples/targets/faultline-node.yaml", "--nemesis", "clock"}, "target faultline-node cannot take clock faults"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
			args := append([]string{"faultline", "run", "--results", t.TempDir()}, tc.args...)
			if tc.args[0] != "--runtime" {
				args = append(args, "--runtime", "local")
			}
			code := runMain(env, args)
			if code != exitCannotRun {
				t.Errorf("exit code: got %d, want %d", code, exitCannotRun)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut.String(), tc.want)
			}
		})
	}
}

// TestRunEndToEnd runs the binary as a user would and checks the exit code agrees with the
// saved verdict and the JSON summary.
func TestRunEndToEnd(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	results := t.TempDir()
	cmd := exec.Command(binary, "run", "--runtime", "local", "--nodes", "3", "--time", "3s", "--nemesis-interval", "1s",
		"--rate", "100", "--seed", "5", "--results", results, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("stderr:\n%s", stderr.String())
	var doc struct {
		Valid   any    `json:"valid"`
		Dir     string `json:"dir"`
		Runtime string `json:"runtime"`
		Seed    int64  `json:"seed"`
		OK      int64  `json:"ok"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	want := map[any]int{true: 0, false: 1, "unknown": 2}[doc.Valid]
	if code != want {
		t.Errorf("exit code %d, but the summary says valid=%v (want exit %d)", code, doc.Valid, want)
	}
	if doc.Runtime != "local" || doc.Seed != 5 || doc.OK == 0 {
		t.Errorf("summary: got runtime %q seed %d ok %d, want local, 5, some ops", doc.Runtime, doc.Seed, doc.OK)
	}
	var saved struct {
		Valid any `json:"valid"`
	}
	b, err := os.ReadFile(filepath.Join(doc.Dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &saved); err != nil || saved.Valid != doc.Valid {
		t.Errorf("results.json valid=%v (%v), summary valid=%v", saved.Valid, err, doc.Valid)
	}
	if target, err := os.Readlink(filepath.Join(results, "latest")); err != nil || filepath.Join(results, target) != doc.Dir {
		t.Errorf("results/latest -> %q (%v), want %s", target, err, doc.Dir)
	}
}

// TestRunNoOrphans kills the harness with SIGKILL mid-run: its node processes must die with it,
// and the history written so far must be checkable.
func TestRunNoOrphans(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir() // the harness's TMPDIR: node data dirs live under it
	results := t.TempDir()
	cmd := exec.Command(binary, "run", "--runtime", "local", "--nodes", "3", "--time", "60s",
		"--nemesis", "partition,pause", "--rate", "100", "--results", results)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until ops are being recorded.
	var hist string
	wait.For(t, time.Minute, "the run to write 20000 bytes of history", func() (bool, string) {
		m, _ := filepath.Glob(filepath.Join(results, "*", "*", "history.jsonl"))
		if len(m) != 1 {
			return false, fmt.Sprintf("history files %v", m)
		}
		st, err := os.Stat(m[0])
		if err != nil {
			return false, err.Error()
		}
		hist = m[0]
		return st.Size() > 20000, fmt.Sprintf("%d bytes", st.Size())
	})
	if n := len(processesUnder(tmp)); n != 3 {
		t.Fatalf("got %d node processes under the harness's TMPDIR, want 3", n)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The nodes die of their parent's death (a signal, then their exit): not at once.
	wait.For(t, 30*time.Second, "the node processes to die with the killed harness", func() (bool, string) {
		left := processesUnder(tmp)
		return len(left) == 0, fmt.Sprintf("pids %v still running", left)
	})
	// What the killed harness wrote is checkable (a truncated last line is tolerated).
	code, out := checkCLI(t, "--checks", "linearizable", hist)
	if code == exitCannotRun {
		t.Errorf("faultline check on a killed run's history: exit %d\n%s", code, out)
	}
}

// processesUnder lists the pids whose command line mentions dir.
func processesUnder(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(dir)) {
			// A zombie has an empty cmdline, so a match is a live process.
			pids = append(pids, pid)
		}
	}
	return pids
}
