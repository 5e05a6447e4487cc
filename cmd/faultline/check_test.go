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
	code, out, _ := checkCLIStderr(t, args...)
	return code, out
}

// checkCLIStderr runs `faultline check args...` and returns the exit code, stdout and stderr.
func checkCLIStderr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "error", "check"}, args...))
	t.Logf("faultline check %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// writeTemp writes content to name in a new temporary folder and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckHistoryWithoutTimes: a JSONL history without times is checked in its line order
// (write 1 completes, then a read returns nil: not linearizable), with a warning, instead of
// every op at time 0, where all ops look concurrent and the history passes.
func TestCheckHistoryWithoutTimes(t *testing.T) {
	path := writeTemp(t, "notime.jsonl", `{"index":0,"process":0,"type":"invoke","f":"write","key":"k","value":1}
{"index":1,"process":0,"type":"ok","f":"write","key":"k","value":1}
{"index":2,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":3,"process":1,"type":"ok","f":"read","key":"k","value":null}
`)
	code, out := checkCLI(t, path)
	if code != exitInvalid {
		t.Errorf("exit code: got %d, want %d (invalid)", code, exitInvalid)
	}
	if !strings.Contains(out, "warning: no client op carries a time: times inferred from the record order") {
		t.Errorf("stdout %q: want the inferred-times warning", out)
	}
}

// TestCheckCompletionBeforeInvocation: a completion stamped before its own invocation makes
// the history invalid input (could not run), naming the line.
func TestCheckCompletionBeforeInvocation(t *testing.T) {
	path := writeTemp(t, "backwards.jsonl", `{"index":0,"time":100,"process":0,"type":"invoke","f":"write","key":"k","value":1}
{"index":1,"time":50,"process":0,"type":"ok","f":"write","key":"k","value":1}
`)
	code, _, stderr := checkCLIStderr(t, path)
	if code != exitCannotRun {
		t.Errorf("exit code: got %d, want %d (could not run)", code, exitCannotRun)
	}
	if !strings.Contains(stderr, "line 2: ok completion of write by process 0 at time 50, before its invocation") {
		t.Errorf("stderr %q: want the completion before its invocation named by line", stderr)
	}
}

// TestCheckJepsenLogLayouts: the run log layout current Jepsen prints is read, and a
// non-empty history without a single op line cannot be checked (not an unknown verdict).
func TestCheckJepsenLogLayouts(t *testing.T) {
	log := writeTemp(t, "jepsen.log", "INFO [2017-03-30 15:28:17,200] main - jepsen.core Running test\n"+
		"INFO [2017-03-30 15:28:17,223] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t3\n"+
		"INFO [2017-03-30 15:28:17,224] jepsen worker 0 - jepsen.util 0\t:ok\t:write\t3\n"+
		"INFO [2017-03-30 15:28:17,225] jepsen nemesis - jepsen.util :nemesis\t:info\t:start\tnil\n"+
		"INFO [2017-03-30 15:28:17,226] jepsen worker 1 - jepsen.util 1\t:invoke\t:read\tnil\n"+
		"INFO [2017-03-30 15:28:17,227] jepsen worker 1 - jepsen.util 1\t:ok\t:read\t2\n")
	code, out := checkCLI(t, log)
	if code != exitInvalid || !strings.Contains(out, "5 records") {
		t.Errorf("jepsen log: got exit %d, stdout %q; want invalid (read 2 after write 3) with 5 records", code, out)
	}

	noOps := writeTemp(t, "notes.txt", "INFO [2017-03-30 15:28:17,200] main - jepsen.core Running test\nsome notes\n\n")
	code, _, stderr := checkCLIStderr(t, noOps)
	if code != exitCannotRun {
		t.Errorf("no op lines: exit code: got %d, want %d (could not run)", code, exitCannotRun)
	}
	if !strings.Contains(stderr, "no operation lines found") || !strings.Contains(stderr, "2 non-blank lines skipped") {
		t.Errorf("no op lines: stderr %q: want no operation lines found, 2 lines skipped", stderr)
	}

	blank := writeTemp(t, "blank.jsonl", "\n\n")
	if code, _, stderr := checkCLIStderr(t, blank); code != exitCannotRun || !strings.Contains(stderr, "no operations found") {
		t.Errorf("blank lines only: got exit %d, stderr %q; want %d and no operations found", code, stderr, exitCannotRun)
	}
	empty := writeTemp(t, "empty.jsonl", "")
	if code, _ := checkCLI(t, empty); code != exitUnknown {
		t.Errorf("empty file: exit code: got %d, want %d (an empty history is unknown)", code, exitUnknown)
	}
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

// TestCheckRunFolderFinalProcess: a run folder is re-checked with the final reads the harness
// named in stats.json. An interrupted run has none: its stale mid-run read is not taken for a
// final read (INVALID), the verdict is unknown.
func TestCheckRunFolderFinalProcess(t *testing.T) {
	folder := func(stats string) string {
		dir := t.TempDir()
		copyFile(t, checkdata("set-invalid-lost-add.jsonl"), dir, "history.jsonl")
		if stats != "" {
			if err := os.WriteFile(filepath.Join(dir, "stats.json"), []byte(stats), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name, stats string
		want        int
		out         string
	}{
		{"interrupted run", `{"n1":{"ops":3},"harness":{"interrupted":true,"final_process":2}}`, exitUnknown, "interrupted before them"},
		{"no stats.json: the last ok read is final", "", exitInvalid, "1 lost"},
		{"older stats.json without final_process", `{"harness":{"interrupted":false}}`, exitInvalid, "1 lost"},
		{"malformed stats.json", `{"harness":`, exitCannotRun, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := checkCLI(t, folder(tt.stats))
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d", code, tt.want)
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("stdout %q: want it to contain %q", out, tt.out)
			}
		})
	}
}

// TestCheckJepsenCounterAdd: Jepsen's counter histories add integers (:f :add).
func TestCheckJepsenCounterAdd(t *testing.T) {
	for _, args := range [][]string{nil, {"--model", "counter"}, {"--workload", "counter"}} {
		code, out := checkCLI(t, append(args, checkdata("counter-jepsen-add.edn"))...)
		if code != exitValid || !strings.Contains(out, "workload counter") {
			t.Errorf("%v: got exit %d, want %d and workload counter:\n%s", args, code, exitValid, out)
		}
	}
}
