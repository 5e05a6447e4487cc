package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSimRunReplay runs the calibration pair's invalid half (lww W=1 R=1 under partitions) on
// the sim runtime, then replays it: the replay's history is byte-identical and says so, and
// --times is refused as pointless but the replay still runs once.
func TestSimRunReplay(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	results := t.TempDir()
	out, errOut, code := runBinary(t, "--log-level", "warn", "run", "--runtime", "sim", "--nodes", "3",
		"--w", "1", "--r", "1", "--nemesis", "partition", "--nemesis-interval", "1s", "--time", "4s",
		"--rate", "100", "--keys", "2", "--concurrency", "6", "--seed", "3", "--results", results, "--json")
	if code != exitInvalid {
		t.Fatalf("run --runtime sim: exit %d, want %d (invalid, as on local and Docker)\n%s\n%s", code, exitInvalid, out, errOut)
	}
	if !strings.Contains(errOut, "SIMULATED") {
		t.Errorf("stderr does not say the run is simulated:\n%s", errOut)
	}
	var saved struct {
		Dir       string  `json:"dir"`
		Runtime   string  `json:"runtime"`
		Simulated bool    `json:"simulated"`
		Speed     float64 `json:"virtual_per_wall"`
		Sum       string  `json:"history_sha256"`
	}
	if err := json.Unmarshal([]byte(out), &saved); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	if saved.Runtime != "sim" || !saved.Simulated || saved.Speed <= 0 || len(saved.Sum) != 64 {
		t.Fatalf("run --json: runtime %q simulated %v speed %v sha256 %q: want sim, true, > 0, a hash", saved.Runtime, saved.Simulated, saved.Speed, saved.Sum)
	}

	rout, rerr, rcode := runBinary(t, "--log-level", "warn", "replay", "--times", "3", "--results", t.TempDir(), "--json", saved.Dir)
	if rcode != code {
		t.Fatalf("replay: exit %d, the run's was %d\n%s\n%s", rcode, code, rout, rerr)
	}
	if !strings.Contains(rerr, "pointless") {
		t.Errorf("replay --times 3 on sim: stderr does not say it is pointless:\n%s", rerr)
	}
	var rep struct {
		Exact bool   `json:"reproduced_exactly"`
		Sum   string `json:"history_sha256"`
	}
	if err := json.Unmarshal([]byte(rout), &rep); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, rout)
	}
	if !rep.Exact || rep.Sum != saved.Sum {
		t.Fatalf("replay: reproduced_exactly %v, history %s; want true and the run's %s", rep.Exact, rep.Sum, saved.Sum)
	}
}

// TestSuiteCISim runs examples/ci.yaml (the calibration pairs) on the sim runtime: every pair
// gets the verdict it gets on local and Docker.
func TestSuiteCISim(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	doc := runSuite(t, "ci.yaml", "sim")
	if doc.Tests != 4 || doc.Failures != 0 || doc.Errors != 0 {
		t.Errorf("JUnit totals: got %d tests, %d failures, %d errors, want 4, 0, 0", doc.Tests, doc.Failures, doc.Errors)
	}
}

// TestSimFlagsRefused: the sim runtime's network extras are refused on a real runtime.
func TestSimFlagsRefused(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	_, errOut, code := runBinary(t, "run", "--runtime", "local", "--sim-reorder", "--time", "1s", "--nemesis", "none")
	if code != exitCannotRun || !strings.Contains(errOut, "need --runtime sim") {
		t.Fatalf("--sim-reorder on local: exit %d, stderr %q; want %d and a message naming --runtime sim", code, errOut, exitCannotRun)
	}
}

// TestCompareSimParallel: compare on the sim runtime runs one run per core unless --parallel
// says otherwise (each simulated run is single-threaded and independent).
func TestCompareSimParallel(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	for _, tc := range []struct {
		extra []string
		want  string
	}{{nil, fmt.Sprintf("%d at a time", runtime.GOMAXPROCS(0))}, {[]string{"--parallel", "1"}, "1 at a time"}} {
		args := append([]string{"--log-level", "warn", "compare", "--runtime", "sim", "--nodes", "3", "-w", "1,2", "-r", "1",
			"--consistency", "lww", "--nemesis", "partition", "--repeat", "2", "--time", "2s", "--nemesis-interval", "1s", "--rate", "50", "--seed", "3",
			"--results", t.TempDir()}, tc.extra...)
		out, errOut, code := runBinary(t, args...)
		if code != 0 {
			t.Fatalf("compare %v: exit %d\n%s\n%s", tc.extra, code, out, errOut)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("compare %v: stderr does not say %q:\n%s", tc.extra, tc.want, errOut)
		}
	}
}

// TestCompareSimVerdictsOnly: compare's runs carry verdicts without the linearizability
// explanation (no linearizability.html; results.json says it was skipped and how to get it),
// and `faultline check RUN` on such a run folder explains and draws it.
func TestCompareSimVerdictsOnly(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	res := t.TempDir()
	out, errOut, code := runBinary(t, "--log-level", "warn", "compare", "--runtime", "sim", "--nodes", "3", "-w", "1", "-r", "1",
		"--consistency", "lww", "--nemesis", "partition", "--repeat", "2", "--time", "2s", "--nemesis-interval", "1s", "--rate", "50",
		"--seed", "3", "--parallel", "1", "--results", res)
	if code != 0 {
		t.Fatalf("compare: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "verdicts only") {
		t.Errorf("compare does not say its run folders carry verdicts only:\n%s", errOut)
	}
	runs, err := filepath.Glob(filepath.Join(res, "register-partition", "*", "results.json"))
	if err != nil || len(runs) != 2 {
		t.Fatalf("want 2 run folders, got %v (%v)", runs, err)
	}
	invalid := ""
	for _, r := range runs {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(r), "linearizability.html")); err == nil {
			t.Errorf("%s: linearizability.html written by a sweep", filepath.Dir(r))
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(r), "report.html")); err == nil {
			t.Errorf("%s: report.html written by a sweep (serve renders it on demand)", filepath.Dir(r))
		}
		if bytes.Contains(b, []byte(`"not linearizable`)) || bytes.Contains(b, []byte("keys are not linearizable")) {
			invalid = filepath.Dir(r)
			if !bytes.Contains(b, []byte("explanation skipped")) {
				t.Errorf("%s: results.json does not say the explanation was skipped", r)
			}
		}
	}
	if invalid == "" {
		t.Fatal("no non-linearizable run among lww W=1 R=1 under partitions (seeds 3, 4)")
	}
	stdout, errOut, code := runBinary(t, "check", invalid)
	if code != exitInvalid {
		t.Fatalf("check %s: exit %d, want %d\n%s\n%s", invalid, code, exitInvalid, stdout, errOut)
	}
	if _, err := os.Stat(filepath.Join(invalid, "linearizability.html")); err != nil {
		t.Errorf("check on a sweep's run folder did not draw linearizability.html: %v", err)
	}
	if strings.Contains(stdout, "explanation skipped") {
		t.Errorf("check did not explain:\n%s", stdout)
	}
}
