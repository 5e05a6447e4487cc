package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/nemesis"
)

// runBinary runs the faultline binary and returns stdout, stderr and the exit code.
func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// TestReplayReproduces saves an invalid run (lww W=1 R=1 under partitions) and replays it: the
// same checker comes back invalid, with the same schedule.
func TestReplayReproduces(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	results := t.TempDir()
	out, errOut, code := runBinary(t, "--log-level", "warn", "run", "--runtime", "local", "--nodes", "3",
		"--w", "1", "--r", "1", "--nemesis", "partition", "--nemesis-interval", "1s", "--time", "4s",
		"--rate", "100", "--keys", "2", "--concurrency", "6", "--seed", "3", "--results", results, "--json")
	if code != exitInvalid {
		t.Fatalf("the saved run: got exit %d, want %d (invalid)\n%s\n%s", code, exitInvalid, out, errOut)
	}
	var saved struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal([]byte(out), &saved); err != nil {
		t.Fatalf("run --json: %v", err)
	}

	replays := t.TempDir()
	// No --runtime: a replay runs where the saved run ran (local here, even where Docker answers).
	out, errOut, code = runBinary(t, "--log-level", "warn", "replay", "--results", replays, "--json", saved.Dir)
	t.Logf("replay stderr:\n%s", errOut)
	if !strings.Contains(errOut, "runtime local") {
		t.Errorf("replay of a local run without --runtime: stderr does not say runtime local:\n%s", errOut)
	}
	if code != exitInvalid {
		t.Errorf("replay: got exit %d, want %d (the anomaly found again)", code, exitInvalid)
	}
	var doc struct {
		SavedInvalid []string `json:"saved_invalid"`
		Times        int      `json:"times"`
		Reproduced   int      `json:"reproduced"`
		Replays      []struct {
			Dir     string   `json:"dir"`
			Invalid []string `json:"invalid"`
		} `json:"replays"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, out)
	}
	if strings.Join(doc.SavedInvalid, ",") != "linearizable" {
		t.Errorf("saved invalid checkers: got %v, want [linearizable]", doc.SavedInvalid)
	}
	if doc.Times != 1 || doc.Reproduced != 1 {
		t.Errorf("got %d of %d replays reproducing, want 1 of 1 (replays %+v)", doc.Reproduced, doc.Times, doc.Replays)
	}
	if len(doc.Replays) == 1 {
		a, b := readFile(t, filepath.Join(saved.Dir, "schedule.json")), readFile(t, filepath.Join(doc.Replays[0].Dir, "schedule.json"))
		if !bytes.Equal(a, b) {
			t.Errorf("the replay's schedule.json differs from the saved one")
		}
		if !strings.HasSuffix(filepath.Dir(doc.Replays[0].Dir), "register-partition-replay") {
			t.Errorf("replay folder %s: want it under register-partition-replay", doc.Replays[0].Dir)
		}
	}
}

func TestReplayErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "want exactly one RUN folder"},
		{[]string{"--times", "0", "x"}, "--times (0) must be at least 1"},
		{[]string{"no-such-run"}, "no such file"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &appEnv{stdout: &out, stderr: &errOut}
			if code := runMain(env, append([]string{"faultline", "replay", "--runtime", "local"}, tc.args...)); code != exitCannotRun {
				t.Errorf("exit code: got %d, want %d", code, exitCannotRun)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut.String(), tc.want)
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecheckFlagsAfterPath re-checks a saved run with another model, flags after the path as
// users type them (`faultline check RUN --model kv`).
func TestRecheckFlagsAfterPath(t *testing.T) {
	dir := filepath.Join("..", "..", "results", "examples", "lww-w1r1-stale-read")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{dir, "--model", "kv", "--timeout", "5s", "--out", t.TempDir()}, exitInvalid, "model kv"},
		{[]string{dir, "--model", "register", "--out", t.TempDir()}, exitInvalid, "model register"},
		{[]string{dir, "--model", "queue"}, exitCannotRun, `model "queue"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args[1:3], " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &appEnv{stdout: &out, stderr: &errOut}
			if code := runMain(env, append([]string{"faultline", "check"}, tc.args...)); code != tc.code {
				t.Errorf("exit code: got %d, want %d\n%s%s", code, tc.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String()+errOut.String(), tc.want) {
				t.Errorf("output: want %q in\n%s%s", tc.want, out.String(), errOut.String())
			}
		})
	}
}

// A replay follows the executed schedule: of an interrupted run, only the faults it got to;
// heals the harness added at the end are not replayed as faults.
func TestExecutedPart(t *testing.T) {
	ev := func(at time.Duration, f, node string) nemesis.Event { return nemesis.Event{At: at, F: f, Node: node} }
	sched := []nemesis.Event{ev(100*time.Millisecond, "kill", "n1"), ev(600*time.Millisecond, "restart", "n1"),
		ev(time.Second, "start-partition", ""), ev(1500*time.Millisecond, "stop-partition", "")}
	done := []nemesis.Executed{{Event: sched[0]}, {Event: sched[1]}, {Event: sched[2]},
		{Event: ev(1200*time.Millisecond, "stop-partition", "")}} // interrupted at 1.2 s, then healed
	got := executedPart(sched, done)
	if len(got) != 3 || got[2].F != "start-partition" {
		t.Errorf("got %v, want the first three scheduled events", got)
	}
	if got := executedPart(sched, []nemesis.Executed{{Event: sched[0]}, {Event: sched[1]}, {Event: sched[2]}, {Event: sched[3]}}); len(got) != 4 {
		t.Errorf("a complete run: got %d events, want all 4", len(got))
	}
}

// A replay runs the saved run's target and read mode: --target and --etcd-reads may repeat them
// (a target file by its path where it is now), anything else is refused.
func TestReplayTarget(t *testing.T) {
	etcdRun := harness.DefaultConfig()
	etcdRun.Target, etcdRun.TargetOptions = "etcd", map[string]string{"reads": "serializable"}
	fileRun := harness.DefaultConfig()
	fileRun.Target = "examples/targets/faultline-node.yaml"
	cases := []struct {
		name          string
		saved         harness.Config
		target, reads string
		wantTarget    string // the target the replay runs
		wantErr       string
	}{
		{"etcd, no flags", etcdRun, "", "", "etcd", ""},
		{"etcd repeated", etcdRun, "etcd", "serializable", "etcd", ""},
		{"etcd as the reference store", etcdRun, "faultline", "", "", "--target faultline: the saved run tested etcd reads=serializable"},
		{"etcd as a target file", etcdRun, "x/etcd2.yaml", "", "", "the saved run tested etcd reads=serializable"},
		{"etcd, other read mode", etcdRun, "", "linearizable", "", "--etcd-reads linearizable: the saved run read serializable"},
		{"reference store as etcd", harness.DefaultConfig(), "etcd", "", "", "--target etcd: the saved run tested faultline"},
		{"reference store, read mode", harness.DefaultConfig(), "", "serializable", "", "--etcd-reads applies to etcd runs; the saved run tested faultline"},
		{"reference store repeated", harness.DefaultConfig(), "faultline", "", "", ""},
		{"target file where it is now", fileRun, "../elsewhere/faultline-node.yaml", "", "../elsewhere/faultline-node.yaml", ""},
		{"another target file", fileRun, "other.yaml", "", "", "--target other.yaml: the saved run tested faultline-node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replayTarget(tc.saved, tc.target, tc.reads)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.Target != tc.wantTarget && !(tc.wantTarget == "" && got.Target == tc.saved.Target) {
				t.Errorf("got target %q, want %q", got.Target, tc.wantTarget)
			}
			if !maps.Equal(got.TargetOptions, tc.saved.TargetOptions) {
				t.Errorf("got options %v, want the saved %v", got.TargetOptions, tc.saved.TargetOptions)
			}
		})
	}
}
