package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker/dockertest"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
)

// TestSuiteEtcd runs examples/etcd.yaml, the etcd calibration pair, on Docker with etcd's real
// server: linearizable reads stay valid under partitions, kills and pauses; serializable reads
// are found invalid under partitions. Every verdict must be the expected one.
func TestSuiteEtcd(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dockertest.Require(t)
	doc := runSuite(t, "etcd.yaml", "docker")
	if doc.Tests != 2 || doc.Failures != 0 || doc.Errors != 0 {
		t.Errorf("JUnit totals: got %d tests, %d failures, %d errors, want 2, 0, 0", doc.Tests, doc.Failures, doc.Errors)
	}
}

// etcdInvalidCell are the run flags of examples/etcd.yaml's invalid cell: serializable reads
// under partitions, 3 members, concurrency 9, 1 s op timeout, 15 s of load. BENCHMARKS.md
// measured it invalid on 10 of 10 seeds with 13 to 26 stale reads per run.
func etcdInvalidCell() []string {
	return []string{"--target", "etcd", "--runtime", "docker", "--nodes", "3", "--time", "15s",
		"--nemesis-interval", "5s", "--rate", "200", "--keys", "10", "--concurrency", "9", "--op-timeout", "1s",
		"--quiesce", "10s", "--check-timeout", "60s", "--etcd-reads", "serializable", "--nemesis", "partition", "--seed", "1"}
}

// TestReplayShrinkEtcd saves a run of etcd's invalid cell, then: replay refuses another target or
// read mode; a replay without flags runs etcd again with serializable reads (its config.json and
// summary say so) and the saved executed fault schedule, and finds the anomaly again (the cell
// leaves 13 or more stale reads per run on every seed measured, and the replay repeats the seed
// and the faults); shrink cuts the history to a smaller one that still fails and keeps the
// target in the output's config.json and NOTE.md.
func TestReplayShrinkEtcd(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dockertest.Require(t)
	results := t.TempDir()
	out, errOut, code := runBinary(t, append([]string{"--log-level", "warn", "run", "--results", results, "--json"}, etcdInvalidCell()...)...)
	if code != exitInvalid {
		t.Fatalf("the saved run: got exit %d, want %d (invalid)\n%s\n%s", code, exitInvalid, out, errOut)
	}
	var saved struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal([]byte(out), &saved); err != nil {
		t.Fatalf("run --json: %v", err)
	}
	assertEtcdSerializable := func(what, dir string) {
		t.Helper()
		cfg, err := harness.LoadConfig(dir)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if cfg.Target != "etcd" || cfg.TargetOptions["reads"] != "serializable" {
			t.Errorf("%s config.json: got target %q options %v, want etcd with serializable reads", what, cfg.Target, cfg.TargetOptions)
		}
	}
	assertEtcdSerializable("saved run", saved.Dir)

	// Another target or read mode is refused before anything starts.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "faultline"}, "--target faultline: the saved run tested etcd reads=serializable"},
		{[]string{"--target", "../../examples/targets/faultline-node.yaml"}, "the saved run tested etcd reads=serializable"},
		{[]string{"--etcd-reads", "linearizable"}, "--etcd-reads linearizable: the saved run read serializable"},
	} {
		var so, se bytes.Buffer
		env := &appEnv{log: zerolog.Nop(), stdout: &so, stderr: &se}
		if code := runMain(env, append(append([]string{"faultline", "replay", "--results", t.TempDir()}, tc.args...), saved.Dir)); code != exitCannotRun {
			t.Errorf("replay %v: got exit %d, want %d", tc.args, code, exitCannotRun)
		}
		if !strings.Contains(se.String(), tc.want) {
			t.Errorf("replay %v: stderr %q, want it to contain %q", tc.args, se.String(), tc.want)
		}
	}

	replays := t.TempDir()
	out, errOut, code = runBinary(t, "--log-level", "warn", "replay", "--results", replays, "--json", saved.Dir)
	t.Logf("replay stderr:\n%s", errOut)
	if !strings.Contains(errOut, "target etcd reads=serializable") || !strings.Contains(errOut, "runtime docker") {
		t.Errorf("replay stderr: want target etcd reads=serializable and runtime docker in\n%s", errOut)
	}
	var doc struct {
		Target        string            `json:"target"`
		TargetOptions map[string]string `json:"target_options"`
		SavedInvalid  []string          `json:"saved_invalid"`
		Reproduced    int               `json:"reproduced"`
		Replays       []struct {
			Dir     string   `json:"dir"`
			Invalid []string `json:"invalid"`
			Error   string   `json:"error"`
		} `json:"replays"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, out)
	}
	if doc.Target != "etcd" || doc.TargetOptions["reads"] != "serializable" {
		t.Errorf("replay summary: got target %q options %v, want etcd with serializable reads", doc.Target, doc.TargetOptions)
	}
	if len(doc.Replays) != 1 || doc.Replays[0].Dir == "" {
		t.Fatalf("replays: got %+v, want one that ran", doc.Replays)
	}
	rep := doc.Replays[0]
	assertEtcdSerializable("replay", rep.Dir)
	if !bytes.Equal(readFile(t, filepath.Join(saved.Dir, "schedule.json")), readFile(t, filepath.Join(rep.Dir, "schedule.json"))) {
		t.Errorf("the replay's schedule.json differs from the saved one")
	}
	if a, b := executedFaults(t, saved.Dir), executedFaults(t, rep.Dir); !slices.Equal(a, b) {
		t.Errorf("executed faults: the replay ran\n%v\nthe saved run\n%v", b, a)
	}
	if code != exitInvalid || doc.Reproduced != 1 || !slices.Contains(rep.Invalid, "linearizable") {
		t.Errorf("replay: got exit %d, %d reproduced, invalid %v, want exit %d, 1 reproduced, linearizable invalid (saved: %v)",
			code, doc.Reproduced, rep.Invalid, exitInvalid, doc.SavedInvalid)
	}

	// shrink: a smaller history that still fails, on the same target
	shrunk := filepath.Join(t.TempDir(), "shrunk")
	var so, se bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &so, stderr: &se}
	if code := runMain(env, []string{"faultline", "shrink", saved.Dir, "--out", shrunk}); code != exitValid {
		t.Fatalf("shrink: got exit %d, want 0\n%s%s", code, so.String(), se.String())
	}
	t.Logf("shrink:\n%s", so.String())
	before, err := history.ReadFile(filepath.Join(saved.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := history.ReadFile(filepath.Join(shrunk, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Ops) == 0 || len(after.Ops) >= len(before.Ops) {
		t.Errorf("shrunk history: got %d records from %d, want fewer (and some)", len(after.Ops), len(before.Ops))
	}
	so.Reset()
	if code := runMain(env, []string{"faultline", "check", "--out", t.TempDir(), shrunk}); code != exitInvalid {
		t.Errorf("check of the shrunk folder: got exit %d, want %d\n%s", code, exitInvalid, so.String())
	}
	assertEtcdSerializable("shrunk", shrunk)
	if note := string(readFile(t, filepath.Join(shrunk, "NOTE.md"))); !strings.Contains(note, "target etcd reads=serializable") || strings.Contains(note, "W=") {
		t.Errorf("NOTE.md: want the target and read mode, not the reference store's quorums:\n%s", note)
	}
}

// executedFaults lists a run's executed faults (nemesis.json) as "at f node detail".
func executedFaults(t *testing.T, dir string) []string {
	t.Helper()
	var done []nemesis.Executed
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "nemesis.json")), &done); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	var out []string
	for _, e := range done {
		out = append(out, fmt.Sprintf("%s %s %s %s", e.At, e.F, e.Node, e.Detail))
	}
	return out
}
