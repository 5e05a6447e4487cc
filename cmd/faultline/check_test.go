package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// checkCLI runs `faultline check args...` and returns the exit code and stdout.
func checkCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "error", "check"}, args...))
	t.Logf("faultline check %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String()
}

func checkdata(name string) string { return filepath.Join("..", "..", "checker", "testdata", name) }

// copyFile copies a testdata file into dir under name.
func copyFile(t *testing.T, src, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckExitCodes(t *testing.T) {
	truncated := filepath.Join(t.TempDir(), "truncated.jsonl")
	b, err := os.ReadFile(checkdata("reg-valid-sequential.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:len(b)-20], 0o644); err != nil { // a killed run
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.jsonl")
	if err := os.WriteFile(broken, []byte("{\"index\":0,\"type\":\"ok\",\"f\":\"read\",\"process\":0,\"value\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
		out  string // substring of stdout
	}{
		{"valid", []string{checkdata("reg-valid-sequential.jsonl")}, exitValid, "verdict: VALID"},
		{"invalid", []string{checkdata("reg-invalid-stale-read.jsonl")}, exitInvalid, "verdict: INVALID"},
		{"unknown: time budget", []string{"--timeout", "1ns", checkdata("reg-valid-info-write.jsonl")}, exitUnknown, "verdict: UNKNOWN"},
		{"jepsen edn", []string{checkdata("reg-jepsen-cas-bad.edn")}, exitInvalid, "jepsen-edn"},
		{"jepsen log, forced format", []string{"--format", "jepsen-txt", checkdata("reg-jepsen-log.txt")}, exitInvalid, "jepsen-txt"},
		{"set", []string{checkdata("set-invalid-lost-add.jsonl")}, exitInvalid, "lost-updates"},
		{"counter bounds selected", []string{"--checks", "counter-bounds", checkdata("counter-bounds-violated-final-ok.jsonl")}, exitInvalid, "counter-bounds"},
		{"truncated last line is checkable", []string{truncated}, exitValid, "truncated last line"},
		{"malformed history", []string{broken}, exitCannotRun, ""},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.jsonl")}, exitCannotRun, ""},
		{"bad flag value", []string{"--model", "graph", checkdata("reg-valid-sequential.jsonl")}, exitCannotRun, ""},
		{"bad check name", []string{"--checks", "serializable", checkdata("reg-valid-sequential.jsonl")}, exitCannotRun, ""},
		{"no path", nil, exitCannotRun, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := checkCLI(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d", code, tt.want)
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("stdout %q: want it to contain %q", out, tt.out)
			}
		})
	}
}

func TestCheckRunFolder(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, checkdata("set-diverged.jsonl"), dir, "history.jsonl")
	copyFile(t, checkdata("set-diverged.dumps.json"), dir, "dumps.json")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"workload":"set","seed":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := checkCLI(t, "--json", dir)
	if code != exitInvalid {
		t.Fatalf("exit code: got %d, want %d", code, exitInvalid)
	}
	var res struct {
		Valid    any                        `json:"valid"`
		Workload string                     `json:"workload"`
		Checkers map[string]json.RawMessage `json:"checkers"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output is not JSON: %v", err)
	}
	if res.Valid != false || res.Workload != "set" {
		t.Errorf("got valid %v workload %q, want false and set", res.Valid, res.Workload)
	}
	var conv struct {
		Details struct {
			Divergent int `json:"divergent"`
		} `json:"details"`
	}
	if err := json.Unmarshal(res.Checkers["convergence"], &conv); err != nil || conv.Details.Divergent != 1 {
		t.Errorf("convergence: got %s (%v), want one divergent key", res.Checkers["convergence"], err)
	}
}

func TestCheckWritesVisualization(t *testing.T) {
	out := t.TempDir()
	code, stdout := checkCLI(t, "--out", out, checkdata("reg-invalid-never-written.jsonl"))
	if code != exitInvalid {
		t.Fatalf("exit code: got %d, want %d", code, exitInvalid)
	}
	vis := filepath.Join(out, "linearizability.html")
	if !strings.Contains(stdout, "visualization: "+vis) {
		t.Errorf("stdout does not name the visualization %s", vis)
	}
	for _, f := range []string{vis, filepath.Join(out, "results.json")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("want %s written: %v", f, err)
		}
	}
}
