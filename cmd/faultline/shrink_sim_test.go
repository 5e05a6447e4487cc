package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/report"
)

// simRunDir runs the binary on the sim runtime with args and returns the run folder and the
// exit code.
func simRunDir(t *testing.T, args ...string) (string, int) {
	t.Helper()
	all := append([]string{"--log-level", "warn", "run", "--runtime", "sim", "--results", t.TempDir(), "--json"}, args...)
	out, errOut, code := runBinary(t, all...)
	var saved struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal([]byte(out), &saved); err != nil || saved.Dir == "" {
		t.Fatalf("run --json: %v\n%s\n%s", err, out, errOut)
	}
	return saved.Dir, code
}

// TestSimShrinkScenario: a failing sim run (lww W=1 R=1 under partitions) shrinks to a scenario
// with strictly fewer fault events and client ops that still fails with the same checker; its
// folder replays byte for byte; NOTE.md says what was removed.
func TestSimShrinkScenario(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dir, code := simRunDir(t, "--nodes", "3", "--w", "1", "--r", "1", "--nemesis", "partition", "--nemesis-interval", "1s",
		"--time", "4s", "--rate", "100", "--keys", "2", "--concurrency", "6", "--seed", "3")
	if code != exitInvalid {
		t.Fatalf("run: exit %d, want %d (invalid)", code, exitInvalid)
	}
	out := filepath.Join(t.TempDir(), "small")
	sout, serr, scode := runBinary(t, "--log-level", "warn", "shrink", "--max-runs", "300", "--out", out, dir)
	if scode != 0 {
		t.Fatalf("shrink: exit %d, want 0\n%s\n%s", scode, sout, serr)
	}
	var before, after []nemesis.Executed
	if err := report.ReadJSON(dir, report.NemesisFile, &before); err != nil {
		t.Fatal(err)
	}
	if err := report.ReadJSON(out, report.NemesisFile, &after); err != nil {
		t.Fatal(err)
	}
	script, err := simrt.LoadScript(out)
	if err != nil || script == nil {
		t.Fatalf("%s: %v (want a client script)", simrt.ScriptFile, err)
	}
	var stats struct {
		Harness struct {
			OK, Fail, Info int
		} `json:"harness"`
	}
	if err := report.ReadJSON(dir, report.StatsFile, &stats); err != nil {
		t.Fatal(err)
	}
	ops := stats.Harness.OK + stats.Harness.Fail + stats.Harness.Info
	if len(after) >= len(before) || script.Ops() >= ops {
		t.Fatalf("fault events %d -> %d, client ops %d -> %d: want strictly fewer of both\n%s", len(before), len(after), ops, script.Ops(), sout)
	}
	note, err := os.ReadFile(filepath.Join(out, "NOTE.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| fault events |", "| client operations |", "Removed:", "simulations in", "linearizable"} {
		if !strings.Contains(string(note), want) {
			t.Errorf("NOTE.md lacks %q:\n%s", want, note)
		}
	}
	if strings.Contains(string(note), string(filepath.Separator)+"tmp") || strings.Contains(string(note), out) {
		t.Errorf("NOTE.md names a machine path:\n%s", note)
	}

	// The shrunk folder is a run: still invalid on the same checker, replayed exactly.
	var res checker.Results
	if err := report.ReadJSON(out, report.ResultsFile, &res); err != nil {
		t.Fatal(err)
	}
	if got := invalidCheckers(&res); len(got) != 1 || got[0] != "linearizable" {
		t.Fatalf("the shrunk scenario: invalid %v, want [linearizable] as the run", got)
	}
	rout, rerr, rcode := runBinary(t, "--log-level", "warn", "replay", "--results", t.TempDir(), "--json", out)
	if rcode != exitInvalid {
		t.Fatalf("replay of the shrunk scenario: exit %d, want %d\n%s\n%s", rcode, exitInvalid, rout, rerr)
	}
	var rep struct {
		Exact bool `json:"reproduced_exactly"`
	}
	if err := json.Unmarshal([]byte(rout), &rep); err != nil || !rep.Exact {
		t.Fatalf("replay of the shrunk scenario: reproduced_exactly %v (%v), want true\n%s", rep.Exact, err, rout)
	}
}

// TestSimShrinkValid: a valid sim run (abd W=2 R=2) has nothing to shrink: exit 3, and it says so.
func TestSimShrinkValid(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dir, code := simRunDir(t, "--nodes", "3", "--w", "2", "--r", "2", "--consistency", "abd", "--nemesis", "partition",
		"--nemesis-interval", "1s", "--time", "3s", "--rate", "100", "--keys", "2", "--concurrency", "6", "--seed", "3")
	if code != 0 {
		t.Fatalf("run: exit %d, want 0 (valid)", code)
	}
	sout, serr, scode := runBinary(t, "--log-level", "warn", "shrink", dir)
	if scode != exitCannotRun || !strings.Contains(sout+serr, "nothing to shrink") {
		t.Fatalf("shrink of a valid run: exit %d, want %d saying there is nothing to shrink\n%s\n%s", scode, exitCannotRun, sout, serr)
	}
	if _, err := os.Stat(filepath.Join(dir, "shrunk")); err == nil {
		t.Errorf("shrink of a valid run wrote %s", filepath.Join(dir, "shrunk"))
	}
}
