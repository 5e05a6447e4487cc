package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// examplesDir is the committed corpus of shrunk real anomalies.
var examplesDir = filepath.Join("..", "..", "results", "examples")

// TestExamplesInvalid checks every committed example: `faultline check` finds it invalid, with
// the checker its note names, and it is small.
func TestExamplesInvalid(t *testing.T) {
	cases := []struct {
		name, checker string
	}{
		{"lww-w1r1-stale-read", "linearizable"},
		{"lww-clock-skew-lost-write", "linearizable"},
		{"rmw-counter-lost-increments", "lost-increments"},
		{"rmw-set-lost-add", "lost-updates"},
		{"abd-w1r3-lost-write", "linearizable"},
	}
	dirs, _ := filepath.Glob(filepath.Join(examplesDir, "*"))
	if len(dirs) != len(cases) {
		t.Errorf("results/examples: got %d folders, want %d (add new ones to this test)", len(dirs), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(examplesDir, tc.name)
			for _, f := range []string{"history.jsonl", "history.edn"} {
				var out, errOut bytes.Buffer
				env := &appEnv{stdout: &out, stderr: &errOut}
				code := runMain(env, []string{"faultline", "check", "--out", t.TempDir(), "--format", "auto", filepath.Join(dir, f)})
				if code != exitInvalid {
					t.Errorf("check %s: got exit %d, want %d (invalid)\n%s%s", f, code, exitInvalid, out.String(), errOut.String())
				}
			}
			var out, errOut bytes.Buffer
			env := &appEnv{stdout: &out, stderr: &errOut}
			if code := runMain(env, []string{"faultline", "check", "--out", t.TempDir(), dir}); code != exitInvalid {
				t.Errorf("check the folder: got exit %d, want %d", code, exitInvalid)
			}
			if !strings.Contains(out.String(), tc.checker) || !strings.Contains(out.String(), "invalid") {
				t.Errorf("check: want %s invalid in\n%s", tc.checker, out.String())
			}
			f, err := history.ReadFile(filepath.Join(dir, "history.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Ops) > 40 {
				t.Errorf("got %d records, want a shrunk history (at most 40)", len(f.Ops))
			}
		})
	}
}

// TestShrinkCommand shrinks a history (an example doubled up with noise is not needed: the
// example itself must come back no larger and still invalid), and refuses a valid one.
func TestShrinkCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shrunk")
	var stdout, stderr bytes.Buffer
	env := &appEnv{stdout: &stdout, stderr: &stderr}
	src := filepath.Join(examplesDir, "lww-clock-skew-lost-write")
	if code := runMain(env, []string{"faultline", "shrink", src, "--out", out}); code != exitValid {
		t.Fatalf("shrink: got exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, f := range []string{"history.jsonl", "history.edn", "results.json", "NOTE.md", "config.json", "schedule.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output: %v", err)
		}
	}
	if !strings.Contains(stdout.String(), "7 records (3 operations) -> 7 records (3 operations)") {
		t.Errorf("sizes: got\n%s\nwant 7 records (3 operations) before and after", stdout.String())
	}
	env.stdout.(*bytes.Buffer).Reset()
	if code := runMain(env, []string{"faultline", "check", "--out", t.TempDir(), out}); code != exitInvalid {
		t.Errorf("check of the shrunk folder: got exit %d, want %d", code, exitInvalid)
	}

	// a valid history: nothing to shrink
	valid := filepath.Join(t.TempDir(), "ok.jsonl")
	f, err := history.ReadFile(filepath.Join(src, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := history.WriteFile(valid, f.Ops[:5], history.FormatJSONL); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := runMain(env, []string{"faultline", "shrink", valid}); code != exitCannotRun {
		t.Errorf("shrink of a valid history: got exit %d, want %d", code, exitCannotRun)
	}
	if !strings.Contains(stderr.String(), "no anomaly to shrink") {
		t.Errorf("stderr: got %q, want it to say there is no anomaly", stderr.String())
	}
}
